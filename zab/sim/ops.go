package sim

import (
	"fmt"

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

// Tick advances a member's clock by one tick.
func (c *Cluster) Tick(id int64) error {
	if m := c.members[id]; m.Alive {
		m.Node.Tick()
	}
	return c.settle()
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
		c.logf("%d: propose %s %q", id, z, data)
		return true, c.settle()
	}
	if err := m.Node.Forward(data); err != nil {
		return false, c.settle()
	}
	c.logf("%d: forward %q", id, data)
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
	if !m.Alive || !m.Disk.compact(m.Applied, m.Digest) {
		return false
	}
	c.logf("%d: compact at %s", id, m.Applied)
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
		if st.Applied != m.Applied {
			return fmt.Errorf("member %d: node applied %s, state machine %s", id, st.Applied, m.Applied)
		}
		if !full {
			continue
		}
		for _, e := range m.Disk.cur.log {
			if e.Zxid > m.Applied {
				break
			}
			if cm, ok := c.committedAt[e.Zxid]; ok && cm.data != "" && cm.data != string(e.Data) {
				return fmt.Errorf("member %d logs %s %q but %q was committed", id, e.Zxid, e.Data, cm.data)
			}
		}
	}
	return nil
}
