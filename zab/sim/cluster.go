// Package sim runs whole zab ensembles in one goroutine: a network of FIFO
// links that can break or be partitioned, disks that lose unsynced writes on
// a crash, a leader oracle standing in for election/, and the ZAB
// invariants checked after every step. Scripted tests (testdata/) and the
// seeded random simulation both drive a Cluster.
package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/zabkeeper/zabkeeper/zab"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Options tune a cluster.
type Options struct {
	SyncLimit, InitLimit int
	DiffLimit            int
	// AutoPersist fsyncs every Ready at once (scripts turn it off to stage
	// crashes between a write and its fsync).
	AutoPersist bool
}

// Member is one server: its zab node, disk and applied state machine.
type Member struct {
	ID      int64
	Node    *zab.Node
	Disk    *Disk
	Alive   bool
	Applied zxid.Zxid // the state machine: a hash chain over applied txns
	Digest  uint64
	// Life counts starts: a leader established twice in one epoch, even by
	// the same member after a restart, breaks Zab.
	Life int
}

type pair [2]int64

func unordered(a, b int64) pair {
	if a > b {
		a, b = b, a
	}
	return pair{a, b}
}

// Cluster is an ensemble with its network and invariant checker.
type Cluster struct {
	opt     Options
	ids     []int64
	members map[int64]*Member
	queues  map[pair][]zab.Message // ordered: from, to
	conn    map[pair]bool          // unordered: a live connection
	cut     map[pair]bool          // unordered: partitioned

	leaderOf    map[uint32][2]int64     // established leader (id, life) of each epoch
	committedAt map[zxid.Zxid]committed // first commit seen at each zxid
	nextReq     int
	// Stats counts delivered message types and notable events.
	Stats map[string]int

	// Out receives a line per event when set (scripts, -zab.trace).
	Out func(string)
}

type committed struct {
	data   string
	digest uint64
}

// New builds a cluster of n members with ids 1..n, all Looking.
func New(n int, opt Options) *Cluster {
	c := &Cluster{
		opt: opt, members: map[int64]*Member{},
		queues: map[pair][]zab.Message{}, conn: map[pair]bool{}, cut: map[pair]bool{},
		leaderOf: map[uint32][2]int64{}, committedAt: map[zxid.Zxid]committed{},
		Stats: map[string]int{},
	}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, int64(i))
	}
	for _, id := range c.ids {
		m := &Member{ID: id, Disk: &Disk{}}
		c.members[id] = m
		c.start(m)
	}
	return c
}

func (c *Cluster) logf(format string, args ...any) {
	if c.Out != nil {
		c.Out(fmt.Sprintf(format, args...))
	}
}

// Member returns a member by id.
func (c *Cluster) Member(id int64) *Member { return c.members[id] }

// IDs lists the member ids.
func (c *Cluster) IDs() []int64 { return c.ids }

func (c *Cluster) start(m *Member) {
	d := &m.Disk.dur
	m.Node = zab.New(zab.Config{
		ID: m.ID, Voters: c.ids,
		TickSyncLimit: c.opt.SyncLimit, TickInitLimit: c.opt.InitLimit, DiffLimit: c.opt.DiffLimit,
		AcceptedEpoch: d.accepted, CurrentEpoch: d.current,
		LastLogged: d.last(), Applied: d.snapZxid, Log: view{m.Disk},
	})
	m.Applied, m.Digest, m.Alive = d.snapZxid, d.snapDigest, true
	m.Life++
}

// settle carries out the Readys of every member, in id order, until all
// are quiet.
func (c *Cluster) settle() error {
	for busy := true; busy; {
		busy = false
		for _, id := range c.ids {
			m := c.members[id]
			if m.Alive && m.Node.HasReady() {
				busy = true
				if err := c.handle(m, m.Node.Ready()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *Cluster) handle(m *Member, rd zab.Ready) error {
	for _, msg := range rd.Messages {
		c.send(msg)
	}
	if err := m.Disk.write(rd); err != nil {
		return fmt.Errorf("member %d: %v", m.ID, err)
	}
	if rd.Durable.Seq != 0 {
		c.logf("%d: write %s", m.ID, describeWrite(rd))
	}
	if rd.TruncateAfter != nil {
		c.Stats["truncate"]++
	}
	if rd.InstallSnapshot != nil {
		c.Stats["install-snapshot"]++
		m.Applied, m.Digest = rd.InstallSnapshot.Zxid, decodeDigest(rd.InstallSnapshot.Data)
		if err := c.checkDigest(m, ""); err != nil {
			return err
		}
	}
	for _, e := range rd.Commit {
		if err := c.apply(m, e); err != nil {
			return err
		}
	}
	for _, s := range rd.Synced {
		c.logf("%d: sync id=%d answered at %s", m.ID, s.ID, s.Zxid)
	}
	for _, data := range rd.Requests {
		if _, err := m.Node.Propose(data); err != nil {
			c.logf("%d: request %q dropped: %v", m.ID, data, err)
		}
	}
	for _, to := range rd.NeedSnapshot {
		snap := zab.Snapshot{Zxid: m.Applied, Data: encodeDigest(m.Digest)}
		c.logf("%d: snapshot %s for %d", m.ID, snap.Zxid, to)
		if err := m.Node.SendSnapshot(to, snap); errors.Is(err, zab.ErrUnknownPeer) {
			c.logf("%d: snapshot for %d no longer needed", m.ID, to)
		} else if err != nil {
			return fmt.Errorf("member %d: SendSnapshot: %v", m.ID, err)
		}
	}
	if rd.RoleChanged && rd.Role == zab.Leading {
		if err := c.established(m, rd.Epoch); err != nil {
			return err
		}
	} else if rd.RoleChanged {
		c.logf("%d: role %s leader=%d epoch=%d", m.ID, rd.Role, rd.Leader, rd.Epoch)
	}
	if rd.Lost {
		c.Stats["lost"]++
		c.breakAll(m.ID)
	}
	if c.opt.AutoPersist {
		c.fsync(m)
	}
	return nil
}

func describeWrite(rd zab.Ready) string {
	var parts []string
	if rd.InstallSnapshot != nil {
		parts = append(parts, "snapshot "+rd.InstallSnapshot.Zxid.String())
	}
	if rd.TruncateAfter != nil {
		parts = append(parts, "truncate-after "+rd.TruncateAfter.String())
	}
	if len(rd.Append) > 0 {
		zs := make([]string, len(rd.Append))
		for i, e := range rd.Append {
			zs[i] = e.Zxid.String()
		}
		parts = append(parts, "append "+strings.Join(zs, " "))
	}
	if rd.AcceptedEpoch != 0 {
		parts = append(parts, fmt.Sprintf("acceptedEpoch=%d", rd.AcceptedEpoch))
	}
	if rd.CurrentEpoch != 0 {
		parts = append(parts, fmt.Sprintf("currentEpoch=%d", rd.CurrentEpoch))
	}
	return strings.Join(parts, ", ")
}

// apply folds a committed txn into the member's hash chain and checks it
// against every other member's commit at that zxid.
func (c *Cluster) apply(m *Member, e zab.Entry) error {
	if e.Zxid <= m.Applied {
		return fmt.Errorf("member %d applies %s after %s", m.ID, e.Zxid, m.Applied)
	}
	m.Applied, m.Digest = e.Zxid, fold(m.Digest, e)
	c.logf("%d: commit %s", m.ID, e)
	return c.checkDigest(m, string(e.Data))
}

func (c *Cluster) checkDigest(m *Member, data string) error {
	z := m.Applied
	if z == 0 {
		return nil
	}
	prev, ok := c.committedAt[z]
	if !ok {
		c.committedAt[z] = committed{data: data, digest: m.Digest}
		return nil
	}
	if prev.digest != m.Digest || data != "" && prev.data != "" && prev.data != data {
		return fmt.Errorf("member %d committed %q at %s (digest %x); another member committed %q (digest %x)",
			m.ID, data, z, m.Digest, prev.data, prev.digest)
	}
	return nil
}

// established checks one leader per epoch and that the new leader holds
// every txn ever committed.
func (c *Cluster) established(m *Member, epoch uint32) error {
	c.logf("%d: leading epoch %d", m.ID, epoch)
	if prev, ok := c.leaderOf[epoch]; ok {
		return fmt.Errorf("two leaders established in epoch %d: %d (life %d) and %d (life %d)",
			epoch, prev[0], prev[1], m.ID, m.Life)
	}
	c.leaderOf[epoch] = [2]int64{m.ID, int64(m.Life)}
	s := &m.Disk.cur
	have := map[zxid.Zxid]string{}
	for _, e := range s.log {
		have[e.Zxid] = string(e.Data)
	}
	for z, cm := range c.committedAt {
		if z <= s.snapZxid || cm.data == "" {
			continue
		}
		if d, ok := have[z]; !ok || d != cm.data {
			return fmt.Errorf("leader %d of epoch %d misses committed %s %q", m.ID, epoch, z, cm.data)
		}
	}
	return nil
}

// send queues a message on its connection; FOLLOWERINFO opens a new one.
func (c *Cluster) send(msg zab.Message) {
	p := pair{msg.From, msg.To}
	u := unordered(msg.From, msg.To)
	if msg.Type == zab.MsgFollowerInfo {
		delete(c.queues, p)
		delete(c.queues, pair{msg.To, msg.From})
		c.conn[u] = !c.cut[u] && c.members[msg.To].Alive
	}
	if !c.conn[u] {
		c.logf("lost %s", msg)
		return
	}
	c.queues[p] = append(c.queues[p], msg)
}

// Queued lists the links with messages in flight, in a stable order.
func (c *Cluster) Queued() []pair {
	var ps []pair
	for p, q := range c.queues {
		if len(q) > 0 {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	return ps
}

// Deliver hands the i-th queued message of a link to its recipient (i > 0
// only in scripts that reorder on purpose).
func (c *Cluster) Deliver(p pair, i int) error {
	q := c.queues[p]
	msg := q[i]
	c.queues[p] = append(q[:i:i], q[i+1:]...)
	m := c.members[p[1]]
	if !m.Alive {
		return nil
	}
	c.logf("deliver %s", msg)
	c.Stats[msg.Type.String()]++
	if err := m.Node.Step(msg); err != nil {
		return err
	}
	return c.settle()
}

// Drop removes queued messages of a link (all, or of one type).
func (c *Cluster) Drop(p pair, t zab.MsgType) {
	q := c.queues[p][:0:0]
	for _, m := range c.queues[p] {
		if t != 0 && m.Type != t {
			q = append(q, m)
		} else {
			c.logf("drop %s", m)
		}
	}
	c.queues[p] = q
}

// Break closes the connection between a and b; both ends notice.
func (c *Cluster) Break(a, b int64) error {
	u := unordered(a, b)
	if !c.conn[u] {
		return nil
	}
	c.logf("break %d-%d", a, b)
	c.conn[u] = false
	delete(c.queues, pair{a, b})
	delete(c.queues, pair{b, a})
	for _, x := range []pair{{a, b}, {b, a}} {
		if m := c.members[x[0]]; m.Alive {
			m.Node.Disconnected(x[1])
		}
	}
	return c.settle()
}

// breakAll closes a member's connections (it went back to election).
func (c *Cluster) breakAll(id int64) {
	for _, o := range c.ids {
		if o != id {
			u := unordered(id, o)
			if c.conn[u] {
				c.conn[u] = false
				delete(c.queues, pair{id, o})
				delete(c.queues, pair{o, id})
				if m := c.members[o]; m.Alive {
					m.Node.Disconnected(id)
				}
			}
		}
	}
}

// Partition cuts the link between a and b silently: the ends notice only
// by timeouts.
func (c *Cluster) Partition(a, b int64) {
	u := unordered(a, b)
	c.logf("partition %d-%d", a, b)
	c.cut[u], c.conn[u] = true, false
	delete(c.queues, pair{a, b})
	delete(c.queues, pair{b, a})
}

// Heal removes every partition; connections reopen with the next FOLLOWERINFO.
func (c *Cluster) Heal() {
	c.logf("heal")
	c.cut = map[pair]bool{}
}

// Persist fsyncs a member's disk and reports it.
func (c *Cluster) Persist(id int64) error {
	if m := c.members[id]; m.Alive {
		c.fsync(m)
	}
	return c.settle()
}

func (c *Cluster) fsync(m *Member) {
	if p, ok := m.Disk.fsync(); ok {
		c.logf("%d: fsync %s", m.ID, p)
		m.Node.Persisted(p)
	}
}

// Crash stops a member; its disk keeps keep of its unsynced writes (-1: all).
func (c *Cluster) Crash(id int64, keep int) error {
	m := c.members[id]
	if !m.Alive {
		return nil
	}
	if keep < 0 || keep > len(m.Disk.ops) {
		keep = len(m.Disk.ops)
	}
	c.logf("crash %d (kept %d of %d unsynced writes)", id, keep, len(m.Disk.ops))
	m.Disk.crash(keep)
	m.Alive, m.Node = false, nil
	c.breakAll(id)
	return c.settle()
}

// Restart brings a crashed member back from its durable state.
func (c *Cluster) Restart(id int64) error {
	m := c.members[id]
	if m.Alive {
		return nil
	}
	c.start(m)
	d := &m.Disk.dur
	c.logf("restart %d: a%d c%d last=%s snap=%s", id, d.accepted, d.current, d.last(), d.snapZxid)
	return c.checkDisk(m)
}

func (c *Cluster) checkDisk(m *Member) error {
	if d := &m.Disk.dur; d.accepted < d.current {
		return fmt.Errorf("member %d: acceptedEpoch %d < currentEpoch %d", m.ID, d.accepted, d.current)
	}
	return nil
}
