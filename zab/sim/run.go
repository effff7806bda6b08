package sim

import (
	"fmt"
	"math/rand"

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
	Trace          func(string) // every event, when set
}

// Result counts what a run did.
type Result struct {
	Steps, Rounds, Ticks, Proposals, Commits, Crashes, Breaks, Elections int
	Stats                                                                map[string]int
}

// Run simulates one ensemble from a seed: a fault phase with random
// deliveries, ticks, fsyncs, client writes, broken connections, partitions,
// crashes (keeping a random prefix of unsynced writes), restarts and log
// compactions, with the invariants checked after every step; then a
// liveness phase that heals everything and requires a leader, a fresh
// commit and identical state machines on every member.
func Run(rc RunConfig) (Result, error) {
	r := &runner{
		rng: rand.New(rand.NewSource(rc.Seed)),
		c: New(rc.Members, Options{SyncLimit: 4, InitLimit: 8,
			DiffLimit: []int{0, 0, 3}[rand.New(rand.NewSource(rc.Seed)).Intn(3)]}),
	}
	r.c.Out = rc.Trace
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
	return r.res, r.c.Check(true)
}

type runner struct {
	rng *rand.Rand
	c   *Cluster
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
		return c.Tick(r.pick(ids))
	case x < 82:
		ok, err := c.elect(r.pick(ids), r.rng.Intn(10) == 0)
		if ok {
			r.res.Elections++
		}
		return err
	case x < 97:
		return r.propose(r.pick(ids))
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

func (r *runner) propose(id int64) error {
	r.c.nextReq++
	ok, err := r.c.Propose(id, fmt.Appendf(nil, "w%d", r.c.nextReq))
	if ok {
		r.res.Proposals++
	}
	return err
}

// liveness heals the cluster and requires progress: one leader followed by
// everyone, a write proposed after healing committed everywhere, and the
// same state machine on every member.
func (r *runner) liveness(rounds int) error {
	c := r.c
	c.Heal()
	for _, id := range c.ids {
		if err := c.Restart(id); err != nil {
			return err
		}
	}
	marker, markerRound := "", 0
	for r.res.Rounds = 1; r.res.Rounds <= rounds; r.res.Rounds++ {
		if err := r.quietRound(); err != nil {
			return err
		}
		leader, ok := r.agreedLeader()
		if !ok {
			continue
		}
		if marker == "" || r.res.Rounds-markerRound > 50 {
			// (again, if a leader change lost the first marker)
			marker, markerRound = fmt.Sprintf("live%d", r.res.Rounds), r.res.Rounds
			if _, err := c.Propose(leader, []byte(marker)); err != nil {
				return err
			}
			continue
		}
		if r.converged(marker) {
			return nil
		}
	}
	return fmt.Errorf("no progress after healing: %s", r.describe())
}

func (r *runner) quietRound() error {
	c := r.c
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

func (r *runner) converged(marker string) bool {
	first := r.c.members[r.c.ids[0]]
	for _, id := range r.c.ids {
		m := r.c.members[id]
		if m.Applied != first.Applied || m.Digest != first.Digest {
			return false
		}
	}
	if _, ok := r.c.committedAt[first.Applied]; !ok {
		return false
	}
	for z, cm := range r.c.committedAt {
		if cm.data == marker {
			return z <= first.Applied
		}
	}
	return false
}

func (r *runner) describe() string {
	s := ""
	for _, id := range r.c.ids {
		m := r.c.members[id]
		s += fmt.Sprintf("\n  %s applied=%s", m.Node.Status(), m.Applied)
	}
	return s
}
