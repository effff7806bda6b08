package sim

import (
	"fmt"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zab"
)

func (c *Cluster) reachable(a, b int64) bool {
	return c.members[a].Alive && c.members[b].Alive && !c.cut[unordered(a, b)]
}

func (c *Cluster) quorum() int { return len(c.ids)/2 + 1 }

// Elect is the leader oracle for a Looking member, standing in for
// election/: it joins a reachable leader if there is one (as a late member
// learns the leader from the others' votes); otherwise, if a quorum of
// Looking members can reach each other's choice, the one with the highest
// (currentEpoch, lastLogged, id) leads them. It reports whether anything
// happened.
func (c *Cluster) Elect(id int64) (bool, error) { return c.elect(id, false) }

// elect with stale set picks any Looking member instead of the best one, as
// an election working from outdated votes might: the leader's discovery
// must then notice a follower ahead of it and give up.
func (c *Cluster) elect(id int64, stale bool) (bool, error) {
	m := c.members[id]
	if !m.Alive || m.Node.Status().Role != zab.Looking {
		return false, nil
	}
	for _, o := range c.ids {
		if o != id && c.reachable(id, o) && c.members[o].Node.Status().Role == zab.Leading {
			c.logf("elect: %d joins leader %d", id, o)
			m.Node.Follow(o)
			return true, c.settle()
		}
	}
	var looking []int64
	for _, o := range c.ids {
		if c.reachable(id, o) && c.members[o].Node.Status().Role == zab.Looking {
			looking = append(looking, o)
		}
	}
	best := id
	for _, o := range looking {
		if !stale && better(c.members[o].Node.Status(), c.members[best].Node.Status()) {
			best = o
		}
	}
	var voters []int64
	for _, o := range looking {
		if c.reachable(o, best) {
			voters = append(voters, o)
		}
	}
	if len(voters) < c.quorum() {
		return false, nil
	}
	return true, c.ElectAs(best, voters)
}

func better(a, b zab.Status) bool {
	if a.CurrentEpoch != b.CurrentEpoch {
		return a.CurrentEpoch > b.CurrentEpoch
	}
	if a.LastLogged != b.LastLogged {
		return a.LastLogged > b.LastLogged
	}
	return a.ID > b.ID
}

// ElectAs makes leader lead and the others among members follow it.
func (c *Cluster) ElectAs(leader int64, members []int64) error {
	c.logf("elect: %d leads %v", leader, members)
	c.members[leader].Node.Lead()
	for _, o := range members {
		if o != leader && c.members[o].Alive {
			c.members[o].Node.Follow(leader)
		}
	}
	return c.settle()
}

// Tick advances a member's clock by one tick; a serving leader then
// expires the sessions whose clients it has not heard from in time.
func (c *Cluster) Tick(id int64) error {
	m := c.members[id]
	if !m.Alive {
		return nil
	}
	m.Node.Tick()
	if err := c.settle(); err != nil {
		return err
	}
	return c.expire(m)
}

// expire proposes a closeSession for every session of the leader's tree
// silent for longer than its timeout, as ZooKeeper's leader does; a lost
// proposal is retried after another timeout.
func (c *Cluster) expire(m *Member) error {
	if m.seen == nil || !m.Alive || m.Node.Status().Phase != zab.PhaseBroadcast {
		return nil
	}
	for _, s := range m.Tree.Sessions() {
		last, ok := m.seen[s.ID]
		if !ok {
			last = m.leadSince
		}
		if c.Now-last <= int64(s.Timeout) {
			continue
		}
		m.seen[s.ID] = c.Now
		txn := &tree.Txn{Session: s.ID, Time: c.Now, Op: tree.Op{Type: jute.OpCloseSession}}
		data, err := tree.EncodeTxn(txn)
		if err != nil {
			return err
		}
		z, err := m.Node.Propose(data)
		if err != nil {
			return c.settle()
		}
		c.Stats["expire"]++
		c.logf("%d: expire s:0x%x at %s", m.ID, s.ID, z)
		if err := c.settle(); err != nil {
			return err
		}
	}
	return nil
}

// Touch reports that clients of these sessions pinged member id.
func (c *Cluster) Touch(id int64, sessions []int64) error {
	m := c.members[id]
	if !m.Alive || len(sessions) == 0 {
		return nil
	}
	m.Node.Touch(sessions)
	return c.settle()
}

// Submit sends a client's txn to member id, which will reply when it
// applies it. It reports whether the member took it.
func (c *Cluster) Submit(id int64, txn *tree.Txn) (bool, error) {
	c.nextReq++
	txn.Origin, txn.Time = uint64(c.nextReq), c.Now
	data, err := tree.EncodeTxn(txn)
	if err != nil {
		return false, err
	}
	// Registered first: a leader may apply its own proposal within Propose.
	c.origins[txn.Origin] = origin{id, c.members[id].Life}
	ok, err := c.Propose(id, data)
	if !ok {
		delete(c.origins, txn.Origin)
	}
	return ok, err
}

// Propose submits a client write at a member: proposed by a leader,
// forwarded by a follower. It reports whether the member took it.
func (c *Cluster) Propose(id int64, data []byte) (bool, error) {
	m := c.members[id]
	if !m.Alive {
		return false, nil
	}
	if m.Node.Status().Role == zab.Leading {
		z, err := m.Node.Propose(data)
		if err != nil {
			return false, c.settle()
		}
		c.logf("%d: propose %s %s", id, z, c.describe(data))
		return true, c.settle()
	}
	if err := m.Node.Forward(data); err != nil {
		return false, c.settle()
	}
	c.logf("%d: forward %s", id, c.describe(data))
	return true, c.settle()
}

// Sync starts a client sync() at a member.
func (c *Cluster) Sync(id int64, reqID uint64) error {
	if m := c.members[id]; m.Alive {
		if err := m.Node.Sync(reqID); err != nil {
			c.logf("%d: sync id=%d: %v", id, reqID, err)
		}
	}
	return c.settle()
}

// Compact snapshots a member's applied state and drops the log before it.
func (c *Cluster) Compact(id int64) bool {
	m := c.members[id]
	if !m.Alive || !m.Disk.compact(m.Applied(), snapshotOf(m.Tree)) {
		return false
	}
	c.logf("%d: compact at %s", id, m.Applied())
	return true
}

// Check asserts the invariants that hold at any time; full also compares
// every logged entry up to each member's applied zxid with what was committed.
func (c *Cluster) Check(full bool) error {
	for _, id := range c.ids {
		m := c.members[id]
		if err := c.checkDisk(m); err != nil {
			return err
		}
		if !m.Alive {
			continue
		}
		st := m.Node.Status()
		if st.LastLogged != m.Disk.cur.last() {
			return fmt.Errorf("member %d: node's last zxid %s, log's %s", id, st.LastLogged, m.Disk.cur.last())
		}
		if st.Applied != m.Applied() {
			return fmt.Errorf("member %d: node applied %s, state machine %s", id, st.Applied, m.Applied())
		}
		if !full {
			continue
		}
		for _, e := range m.Disk.cur.log {
			if e.Zxid > m.Applied() {
				break
			}
			if cm, ok := c.committedAt[e.Zxid]; ok && cm.known && cm.data != string(e.Data) {
				return fmt.Errorf("member %d logs %s %s but %s was committed", id, e.Zxid, c.describe(e.Data), c.describe([]byte(cm.data)))
			}
		}
	}
	return nil
}
