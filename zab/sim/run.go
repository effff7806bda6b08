package sim

import (
	"fmt"
	"math/rand"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zab"
)

// RunConfig is one seeded simulation.
type RunConfig struct {
	Members int
	Seed    int64
	Steps   int // steps of the fault phase
	// LivenessRounds bounds the healed phase (each round delivers every
	// message, fsyncs everyone, runs elections and ticks every third round).
	LivenessRounds int
	// SplitInstall lets a crash keep a SNAP install without all of its
	// appends (Options.AtomicInstall off).
	SplitInstall bool
	Trace        func(string) // every event, when set
}

// Result counts what a run did.
type Result struct {
	Steps, Rounds, Ticks, Proposals, Commits, Crashes, Breaks, Elections int
	Sessions, Writes, Acks                                               int
	Stats                                                                map[string]int
}

// Run simulates one ensemble from a seed: a fault phase with random
// deliveries, ticks, fsyncs, client sessions and writes, session expiry,
// broken connections, partitions, crashes (keeping a random prefix of
// unsynced writes), restarts and log compactions, with the invariants
// checked after every step; then a liveness phase that heals everything
// and requires a leader, a fresh commit and identical trees on every
// member, restarts one member from its disk and requires it to catch up,
// and finally checks the trees against a replay of the committed history
// and against each member's durable state.
func Run(rc RunConfig) (Result, error) {
	r := &runner{
		rng: rand.New(rand.NewSource(rc.Seed)),
		c: New(rc.Members, Options{SyncLimit: 4, InitLimit: 8, AtomicInstall: !rc.SplitInstall,
			DiffLimit: []int{0, 0, 3}[rand.New(rand.NewSource(rc.Seed)).Intn(3)]}),
	}
	r.c.Out = rc.Trace
	r.tr = &traffic{rng: r.rng, c: r.c}
	r.faults = []int{1, 4, 10, 30}[r.rng.Intn(4)]
	r.slowDisk = r.rng.Intn(3) == 0
	if r.rng.Intn(2) == 0 {
		r.laggard = int64(1 + r.rng.Intn(rc.Members))
	}
	for r.res.Steps < rc.Steps {
		r.res.Steps++
		if err := r.step(); err != nil {
			return r.res, fmt.Errorf("step %d: %w", r.res.Steps, err)
		}
		if err := r.c.Check(r.res.Steps%50 == 0); err != nil {
			return r.res, fmt.Errorf("step %d: %w", r.res.Steps, err)
		}
	}
	if err := r.liveness(rc.LivenessRounds); err != nil {
		return r.res, fmt.Errorf("liveness round %d: %w", r.res.Rounds, err)
	}
	r.res.Commits = len(r.c.committedAt)
	r.res.Stats = r.c.Stats
	r.res.Sessions, r.res.Writes, r.res.Acks = r.tr.sessions, r.tr.writes, len(r.c.acked)
	r.res.Proposals = r.tr.accepted
	if err := r.c.Check(true); err != nil {
		return r.res, err
	}
	return r.res, r.final()
}

type runner struct {
	rng *rand.Rand
	c   *Cluster
	tr  *traffic
	res Result
	// faults scales the fault events' weight (per seed, BUGGIFY style: some
	// seeds are calm and make progress, some are a storm).
	faults int
	// slowDisk makes fsyncs rare, widening the window between a write and
	// its durability.
	slowDisk bool
	// laggard's links deliver rarely: it falls behind the quorum.
	laggard int64
}

func (r *runner) pick(ids []int64) int64 { return ids[r.rng.Intn(len(ids))] }

func (r *runner) alive() []int64 {
	var ids []int64
	for _, id := range r.c.ids {
		if r.c.members[id].Alive {
			ids = append(ids, id)
		}
	}
	return ids
}

// step runs one random event: mostly traffic, sometimes a fault.
func (r *runner) step() error {
	r.c.Now += stepMs
	if r.rng.Intn(1000) < r.faults*10 {
		return r.fault()
	}
	c, ids := r.c, r.c.ids
	switch x := r.rng.Intn(100); {
	case x < 50:
		if q := c.Queued(); len(q) > 0 {
			p := q[r.rng.Intn(len(q))]
			if (p[0] == r.laggard || p[1] == r.laggard) && r.rng.Intn(10) != 0 {
				return nil
			}
			return c.Deliver(p, 0)
		}
	case x < 65:
		if r.slowDisk && r.rng.Intn(5) != 0 {
			return nil
		}
		return c.Persist(r.pick(ids))
	case x < 75:
		r.res.Ticks++
		id := r.pick(ids)
		if err := r.tr.ping(id); err != nil {
			return err
		}
		return c.Tick(id)
	case x < 82:
		ok, err := c.elect(r.pick(ids), r.rng.Intn(10) == 0)
		if ok {
			r.res.Elections++
		}
		return err
	case x < 97:
		return r.tr.burst(r.pick(ids))
	case x < 98:
		return c.Sync(r.pick(ids), uint64(r.res.Steps))
	default:
		c.Compact(r.pick(ids))
	}
	return nil
}

// fault breaks something: a connection, a link, a member.
func (r *runner) fault() error {
	c, ids := r.c, r.c.ids
	switch x := r.rng.Intn(100); {
	case x < 30:
		r.res.Breaks++
		return c.Break(r.pick(ids), r.pick(ids))
	case x < 45:
		if a, b := r.pick(ids), r.pick(ids); a != b {
			c.Partition(a, b)
		}
	case x < 55:
		c.Heal()
	case x < 75:
		m := c.members[r.pick(ids)]
		if l := r.leader(); l != 0 && r.rng.Intn(2) == 0 {
			m = c.members[l] // leaders' crashes are the interesting ones
		}
		if m.Alive {
			r.res.Crashes++
			keep := r.rng.Intn(len(m.Disk.ops) + 1)
			if r.rng.Intn(2) == 0 {
				keep = 0
			}
			return c.Crash(m.ID, keep)
		}
	default:
		return c.Restart(r.pick(ids))
	}
	return nil
}

// leader is a live member that leads, or 0.
func (r *runner) leader() int64 {
	for _, id := range r.c.ids {
		if m := r.c.members[id]; m.Alive && m.Node.Status().Role == zab.Leading {
			return id
		}
	}
	return 0
}

// stepMs and roundMs advance the simulated clock per fault step and per
// liveness round: a member ticks about every 15 to 25 steps, so sessions
// of 400 ms and more survive while their clients ping.
const stepMs, roundMs = 2, 20

// marker is a server-internal write proposed after healing; its commit
// everywhere proves progress.
func marker(round int) []byte {
	data, err := tree.EncodeTxn(&tree.Txn{Op: tree.Op{
		Type: jute.OpSetData, Path: "/", Data: fmt.Appendf(nil, "live%d", round), Version: -1}})
	if err != nil {
		panic(err)
	}
	return data
}

// liveness heals the cluster and requires progress: one leader followed by
// everyone, a write proposed after healing committed everywhere, and the
// same tree on every member; then once more after one member restarted
// from its disk (its log compacted into a snapshot first, on odd seeds'
// coin).
func (r *runner) liveness(rounds int) error {
	c := r.c
	c.Heal()
	for _, id := range c.ids {
		if err := c.Restart(id); err != nil {
			return err
		}
	}
	mark, markRound, restarted := "", 0, false
	for r.res.Rounds = 1; r.res.Rounds <= rounds; r.res.Rounds++ {
		if err := r.quietRound(); err != nil {
			return err
		}
		leader, ok := r.agreedLeader()
		if !ok {
			continue
		}
		if mark == "" || r.res.Rounds-markRound > 50 {
			// (again, if a leader change lost the first marker)
			m := marker(r.res.Rounds)
			mark, markRound = string(m), r.res.Rounds
			if _, err := c.Propose(leader, m); err != nil {
				return err
			}
			continue
		}
		if !r.converged(mark) {
			continue
		}
		if restarted {
			return nil
		}
		restarted = true
		if err := r.restartOne(); err != nil {
			return err
		}
	}
	return fmt.Errorf("no progress after healing: %s", r.describe())
}

// restartOne crashes a member with everything synced and restarts it from
// its disk, sometimes after compacting its log into a tree snapshot.
func (r *runner) restartOne() error {
	c := r.c
	for _, id := range c.ids {
		if err := c.Persist(id); err != nil {
			return err
		}
	}
	id := r.pick(c.ids)
	if r.rng.Intn(2) == 0 {
		c.Compact(id)
	}
	if err := c.Crash(id, -1); err != nil {
		return err
	}
	return c.Restart(id)
}

// final compares every member's tree with a replay of the committed
// history from an empty tree (which also re-derives every reply sent to a
// client) and with what each member's durable state would restart to.
func (r *runner) final() error {
	c := r.c
	for _, id := range c.ids {
		if err := c.Persist(id); err != nil {
			return err
		}
	}
	first := c.members[c.ids[0]]
	z := first.Applied()
	t, err := c.replay(z)
	if err != nil {
		return err
	}
	if t.Digest() != first.Digest() {
		return fmt.Errorf("replay of the committed history to %s: digest %x, members %x", z, t.Digest(), first.Digest())
	}
	for _, id := range c.ids {
		m := c.members[id]
		t, err := c.rebuild(m.Disk, z)
		if err != nil {
			return fmt.Errorf("member %d: rebuild from disk: %v", id, err)
		}
		if t.LastZxid() != z || t.Digest() != m.Digest() {
			return fmt.Errorf("member %d: its disk rebuilds to %s/%x, its tree is %s/%x",
				id, t.LastZxid(), t.Digest(), m.Applied(), m.Digest())
		}
	}
	return nil
}

func (r *runner) quietRound() error {
	c := r.c
	c.Now += roundMs
	for i := 0; i < 1000; i++ {
		q := c.Queued()
		if len(q) == 0 {
			break
		}
		for _, p := range q {
			if len(c.queues[p]) > 0 {
				if err := c.Deliver(p, 0); err != nil {
					return err
				}
			}
		}
	}
	for _, id := range c.ids {
		if err := c.Persist(id); err != nil {
			return err
		}
		if _, err := c.Elect(id); err != nil {
			return err
		}
	}
	if r.res.Rounds%3 == 0 {
		for _, id := range c.ids {
			if err := r.tr.ping(id); err != nil {
				return err
			}
			if err := c.Tick(id); err != nil {
				return err
			}
		}
	}
	return c.Check(false)
}

func (r *runner) agreedLeader() (int64, bool) {
	var leader int64
	for _, id := range r.c.ids {
		st := r.c.members[id].Node.Status()
		if st.Phase != zab.PhaseBroadcast || leader != 0 && st.Leader != leader {
			return 0, false
		}
		leader = st.Leader
	}
	return leader, true
}

func (r *runner) converged(mark string) bool {
	first := r.c.members[r.c.ids[0]]
	for _, id := range r.c.ids {
		m := r.c.members[id]
		if m.Applied() != first.Applied() || m.Digest() != first.Digest() {
			return false
		}
	}
	if _, ok := r.c.committedAt[first.Applied()]; !ok {
		return false
	}
	for z, cm := range r.c.committedAt {
		if cm.data == mark {
			return z <= first.Applied()
		}
	}
	return false
}

func (r *runner) describe() string {
	s := ""
	for _, id := range r.c.ids {
		m := r.c.members[id]
		s += fmt.Sprintf("\n  %s applied=%s digest=%x", m.Node.Status(), m.Applied(), m.Digest())
	}
	return s
}
