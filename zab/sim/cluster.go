// Package sim runs whole zab ensembles in one goroutine: a network of FIFO
// links that can break or be partitioned, disks that lose unsynced writes on
// a crash, a leader oracle standing in for election/, a real znode tree as
// every member's state machine, client sessions that ping, write and
// expire, and the ZAB invariants checked after every step. Scripted tests
// (testdata/) and the seeded random simulation both drive a Cluster.
package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/zabkeeper/zabkeeper/tree"
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
	// AtomicInstall models a driver that makes a SNAP sync's snapshot
	// install durable only together with the appends of the same Ready.
	// Without it a crash may keep the install (which drops the old log)
	// and only a prefix of the appends, as zab's contract allows and as
	// server/ and store/ do today; a member can then lose entries it
	// acknowledged, and the random simulation finds a committed write
	// lost (TestSimulation -zab.split-install).
	AtomicInstall bool
	// TextPayloads: entries are words from scripts, not encoded tree txns
	// (each applies as a setData of "/").
	TextPayloads bool
}

// Member is one server: its zab node, disk and applied state machine.
type Member struct {
	ID    int64
	Node  *zab.Node
	Disk  *Disk
	Alive bool
	Tree  *tree.Tree // the state machine
	// Life counts starts: a leader established twice in one epoch, even by
	// the same member after a restart, breaks Zab; and a reply is only
	// sent by the life that received the request.
	Life int

	// While leading: when each session's clients were last seen (ms), and
	// when this member became leader (every session's grace starts then).
	seen      map[int64]int64
	leadSince int64
}

// Applied is the zxid of the last txn in the member's tree.
func (m *Member) Applied() zxid.Zxid { return m.Tree.LastZxid() }

// Digest is the member's tree digest (nodes and sessions).
func (m *Member) Digest() uint64 { return m.Tree.Digest() }

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

	// Now is the simulated clock in ms: txn times and session expiry.
	Now     int64
	origins map[uint64]origin    // client request (txn Origin) -> who took it
	applied map[uint64]zxid.Zxid // client request -> the zxid it was committed at
	acked   map[zxid.Zxid]ack    // replies sent to clients
	// Stats counts delivered message types and notable events.
	Stats map[string]int

	// Out receives a line per event when set (scripts, -zab.trace).
	Out func(string)
}

type committed struct {
	data   string
	digest uint64 // tree digest after applying it
	known  bool   // data is known (a member applied it as an entry, not a snapshot)
}

// origin is the member life that took a client's request: only it replies.
type origin struct {
	member int64
	life   int
}

// ack is a reply sent to a client: the txn and what it was told.
type ack struct {
	data    string
	outcome string
}

// New builds a cluster of n members with ids 1..n, all Looking.
func New(n int, opt Options) *Cluster {
	c := &Cluster{
		opt: opt, members: map[int64]*Member{},
		queues: map[pair][]zab.Message{}, conn: map[pair]bool{}, cut: map[pair]bool{},
		leaderOf: map[uint32][2]int64{}, committedAt: map[zxid.Zxid]committed{},
		origins: map[uint64]origin{}, applied: map[uint64]zxid.Zxid{}, acked: map[zxid.Zxid]ack{},
		Stats: map[string]int{},
	}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, int64(i))
	}
	for _, id := range c.ids {
		m := &Member{ID: id, Disk: &Disk{atomicInstall: opt.AtomicInstall}}
		c.members[id] = m
		if err := c.start(m); err != nil {
			panic(err) // an empty disk always starts
		}
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

// start boots a member from its durable state: the tree from its snapshot;
// zab hands the logged tail out again as the leader commits it.
func (c *Cluster) start(m *Member) error {
	d := &m.Disk.dur
	t, err := restore(d.snapData)
	if err != nil {
		return fmt.Errorf("member %d: restore snapshot %s: %v", m.ID, d.snapZxid, err)
	}
	if t.LastZxid() != d.snapZxid {
		return fmt.Errorf("member %d: snapshot %s holds a tree at %s", m.ID, d.snapZxid, t.LastZxid())
	}
	m.Node = zab.New(zab.Config{
		ID: m.ID, Voters: c.ids,
		TickSyncLimit: c.opt.SyncLimit, TickInitLimit: c.opt.InitLimit, DiffLimit: c.opt.DiffLimit,
		AcceptedEpoch: d.accepted, CurrentEpoch: d.current,
		LastLogged: d.last(), Applied: d.snapZxid, Log: view{m.Disk},
	})
	m.Tree, m.Alive, m.seen = t, true, nil
	m.Life++
	return nil
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
		if err := c.install(m, *rd.InstallSnapshot); err != nil {
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
	if rd.RoleChanged && rd.Role == zab.Leading {
		m.seen, m.leadSince = map[int64]int64{}, c.Now
	}
	for _, s := range rd.Touched {
		if m.seen != nil {
			m.seen[s] = c.Now
		}
	}
	for _, data := range rd.Requests {
		if _, err := m.Node.Propose(data); err != nil {
			c.logf("%d: request %q dropped: %v", m.ID, data, err)
		}
	}
	for _, to := range rd.NeedSnapshot {
		snap := zab.Snapshot{Zxid: m.Applied(), Data: snapshotOf(m.Tree)}
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

// install replaces the member's tree with a leader's snapshot.
func (c *Cluster) install(m *Member, s zab.Snapshot) error {
	c.Stats["install-snapshot"]++
	t, err := restore(s.Data)
	if err != nil {
		return fmt.Errorf("member %d: install %s: %v", m.ID, s, err)
	}
	if t.LastZxid() != s.Zxid {
		return fmt.Errorf("member %d: %s holds a tree at %s", m.ID, s, t.LastZxid())
	}
	m.Tree = t
	return c.checkDigest(m, nil)
}

// apply runs a committed txn on the member's tree, checks it against every
// other member's commit at that zxid, and replies to the client if this
// member life took the request.
func (c *Cluster) apply(m *Member, e zab.Entry) error {
	if e.Zxid <= m.Applied() {
		return fmt.Errorf("member %d applies %s after %s", m.ID, e.Zxid, m.Applied())
	}
	txn, err := c.decode(e)
	if err != nil {
		return fmt.Errorf("member %d: %v", m.ID, err)
	}
	r := m.Tree.Apply(e.Zxid, txn)
	c.logf("%d: commit %s %s", m.ID, e.Zxid, c.describe(e.Data))
	if err := c.checkDigest(m, e.Data); err != nil {
		return err
	}
	return c.reply(m, e, txn, r)
}

// reply records the answer to a client request, once, at its origin.
func (c *Cluster) reply(m *Member, e zab.Entry, txn *tree.Txn, r tree.Result) error {
	if txn.Origin == 0 {
		return nil
	}
	if z, ok := c.applied[txn.Origin]; ok && z != e.Zxid {
		return fmt.Errorf("request %d committed twice: at %s and %s", txn.Origin, z, e.Zxid)
	}
	c.applied[txn.Origin] = e.Zxid
	if c.origins[txn.Origin] != (origin{m.ID, m.Life}) {
		return nil
	}
	if prev, ok := c.acked[e.Zxid]; ok {
		// Applied again after a SNAP sync from an older snapshot: the
		// request was answered already, and the txn must do the same again.
		if prev.outcome != outcome(r) {
			return fmt.Errorf("member %d re-applies %s: %s, but its client was told %s", m.ID, e.Zxid, outcome(r), prev.outcome)
		}
		return nil
	}
	c.acked[e.Zxid] = ack{data: string(e.Data), outcome: outcome(r)}
	c.Stats["reply "+txn.Op.Type.String()+" "+codeName(r.Err)]++
	c.logf("%d: reply %s %s: %s", m.ID, e.Zxid, txn, outcome(r))
	return nil
}

// checkDigest compares a member's tree right after it reached its applied
// zxid (by an entry with data, or by a snapshot) with the first member
// that got there.
func (c *Cluster) checkDigest(m *Member, data []byte) error {
	z, digest := m.Applied(), m.Digest()
	if z == 0 {
		return nil
	}
	prev, ok := c.committedAt[z]
	if !ok {
		c.committedAt[z] = committed{data: string(data), digest: digest, known: data != nil}
		return nil
	}
	if prev.digest != digest || data != nil && prev.known && prev.data != string(data) {
		return fmt.Errorf("member %d committed %q at %s (digest %x); another member committed %q (digest %x)",
			m.ID, data, z, digest, prev.data, prev.digest)
	}
	if data != nil && !prev.known {
		c.committedAt[z] = committed{data: string(data), digest: digest, known: true}
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
	var missing zxid.Zxid // the first, so the message replays exactly
	for z, cm := range c.committedAt {
		if z <= s.snapZxid || !cm.known || missing != 0 && z > missing {
			continue
		}
		if d, ok := have[z]; !ok || d != cm.data {
			missing = z
		}
	}
	if missing != 0 {
		what := "committed"
		if a, ok := c.acked[missing]; ok {
			what = "acknowledged (" + a.outcome + ")"
		}
		return fmt.Errorf("leader %d of epoch %d misses %s %s %s",
			m.ID, epoch, what, missing, c.describe([]byte(c.committedAt[missing].data)))
	}
	// Every acknowledged write is committed, so the loop above covered it;
	// this guards that bookkeeping.
	for z, a := range c.acked {
		if cm, ok := c.committedAt[z]; !ok || cm.data != a.data {
			return fmt.Errorf("acknowledged %s is not recorded as committed", z)
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
	if err := c.start(m); err != nil {
		return err
	}
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
