package election

import (
	"flag"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/zxid"
)

var simSeeds = flag.Int("election.seeds", 300, "seeds per election simulation test")

// sim runs an ensemble of Elections in one goroutine over a network that
// delays, reorders, duplicates and drops messages and can be partitioned.
// Time is global: every tick, due messages are delivered in random order,
// then every running member ticks.
type sim struct {
	t      *testing.T
	seed   int64
	rng    *rand.Rand
	now    int
	ids    []int64
	nodes  map[int64]*Election
	up     map[int64]bool
	group  map[int64]int // members in different groups cannot talk
	net    []pending
	drops  map[[2]int64]int
	trace  []string
	config func(id int64) Config

	dropP, dupP float64
	maxDelay    int
	maxDrops    int // most consecutive drops on one directed link
}

type pending struct {
	at int
	m  Message
}

func newSim(t *testing.T, seed int64, n int) *sim {
	s := &sim{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), nodes: map[int64]*Election{},
		up: map[int64]bool{}, group: map[int64]int{}, drops: map[[2]int64]int{},
		dropP: 0.3, dupP: 0.1, maxDelay: 3, maxDrops: 2}
	for i := 1; i <= n; i++ {
		s.ids = append(s.ids, int64(i))
	}
	s.config = func(id int64) Config {
		return Config{ID: id, Voters: s.ids, FinalizeTicks: 20, ResendTicks: 2}
	}
	return s
}

func (s *sim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf("t%d ", s.now)+fmt.Sprintf(format, args...))
}

// fail prints the seed and the end of the trace so the run can be replayed.
func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	tail := s.trace
	if len(tail) > 60 {
		tail = tail[len(tail)-60:]
	}
	s.t.Fatalf("seed %d: %s\n%s", s.seed, fmt.Sprintf(format, args...), strings.Join(tail, "\n"))
}

func (s *sim) start(id int64, z zxid.Zxid, epoch uint32) {
	s.nodes[id] = New(s.config(id))
	s.up[id] = true
	s.logf("start %d %v e%d", id, z, epoch)
	s.nodes[id].Start(z, epoch)
	s.collect(id)
}

// crash stops a member; what it had in flight is lost with its connections.
func (s *sim) crash(id int64) {
	s.up[id] = false
	kept := s.net[:0]
	for _, p := range s.net {
		if p.m.From != id {
			kept = append(kept, p)
		}
	}
	s.net = kept
}

func (s *sim) collect(id int64) {
	for _, m := range s.nodes[id].Messages() {
		s.post(m)
	}
}

func (s *sim) post(m Message) {
	if s.group[m.From] != s.group[m.To] {
		return
	}
	link := [2]int64{m.From, m.To}
	if s.rng.Float64() < s.dropP && s.drops[link] < s.maxDrops {
		s.drops[link]++
		return
	}
	s.drops[link] = 0
	s.net = append(s.net, pending{s.now + s.rng.Intn(s.maxDelay+1), m})
	if s.rng.Float64() < s.dupP {
		s.net = append(s.net, pending{s.now + s.rng.Intn(s.maxDelay+1), m})
	}
}

func (s *sim) tick() {
	for guard := 0; ; guard++ {
		if guard > 100000 {
			s.fail("message storm")
		}
		var due []int
		for i, p := range s.net {
			if p.at <= s.now {
				due = append(due, i)
			}
		}
		if len(due) == 0 {
			break
		}
		i := due[s.rng.Intn(len(due))]
		m := s.net[i].m
		s.net = append(s.net[:i], s.net[i+1:]...)
		if !s.up[m.To] || s.group[m.From] != s.group[m.To] {
			continue
		}
		before := s.nodes[m.To].State()
		s.nodes[m.To].Step(m)
		if after := s.nodes[m.To].State(); after != before {
			s.logf("%v => %d %v %v", m, m.To, after, s.nodes[m.To].Vote())
		}
		s.collect(m.To)
	}
	s.now++
	for _, i := range s.rng.Perm(len(s.ids)) {
		id := s.ids[i]
		if s.up[id] {
			before := s.nodes[id].State()
			s.nodes[id].Tick()
			if after := s.nodes[id].State(); after != before {
				s.logf("tick => %d %v %v", id, after, s.nodes[id].Vote())
			}
			s.collect(id)
		}
	}
}

// runUntil ticks until done() or limit ticks pass; it reports whether done.
func (s *sim) runUntil(limit int, done func() bool) bool {
	for i := 0; i < limit; i++ {
		if done() {
			return true
		}
		s.tick()
	}
	return done()
}

func (s *sim) allDecided(ids []int64) func() bool {
	return func() bool {
		for _, id := range ids {
			if _, _, ok := s.nodes[id].Decided(); !ok {
				return false
			}
		}
		return true
	}
}

// checkAgree asserts every member of ids decided the same leader, which is
// among ids and the only one LEADING, and returns it.
func (s *sim) checkAgree(ids []int64) int64 {
	s.t.Helper()
	var leader int64 = -1
	leading := 0
	for _, id := range ids {
		l, st, ok := s.nodes[id].Decided()
		if !ok {
			s.fail("member %d undecided", id)
		}
		if leader >= 0 && l != leader {
			s.fail("member %d follows %d, another follows %d", id, l, leader)
		}
		leader = l
		if st == Leading {
			leading++
		}
	}
	if leading != 1 {
		s.fail("%d members LEADING", leading)
	}
	return leader
}

// candidacy is what each member brings to an election.
type candidacy struct {
	z     zxid.Zxid
	epoch uint32
}

func randomCandidacies(rng *rand.Rand, ids []int64) map[int64]candidacy {
	c := map[int64]candidacy{}
	for _, id := range ids {
		// Few values, so ties on epoch and zxid are common.
		e := uint32(1 + rng.Intn(2))
		c[id] = candidacy{zxid.New(e, uint32(rng.Intn(3))), e}
	}
	return c
}

func best(ids []int64, c map[int64]candidacy) int64 {
	var b Vote
	for i, id := range ids {
		v := Vote{Leader: id, Zxid: c[id].z, Epoch: c[id].epoch}
		if i == 0 || v.Beats(b) {
			b = v
		}
	}
	return b.Leader
}

// split picks k members of ids at random and returns them and the rest.
func split(rng *rand.Rand, ids []int64, k int) (some, rest []int64) {
	for j, i := range rng.Perm(len(ids)) {
		if j < k {
			some = append(some, ids[i])
		} else {
			rest = append(rest, ids[i])
		}
	}
	return some, rest
}

// electAll starts the given members within the first tick and runs the
// election to its end, checking the outcome.
func (s *sim) electAll(alive []int64, c map[int64]candidacy) int64 {
	s.t.Helper()
	late := map[int64]bool{}
	for _, id := range alive {
		if s.rng.Intn(2) == 0 {
			s.start(id, c[id].z, c[id].epoch)
		} else {
			late[id] = true
		}
	}
	s.tick()
	for _, id := range alive {
		if late[id] {
			s.start(id, c[id].z, c[id].epoch)
		}
	}
	if !s.runUntil(500, s.allDecided(alive)) {
		s.fail("no decision among %v", alive)
	}
	leader := s.checkAgree(alive)
	if want := best(alive, c); leader != want {
		s.fail("elected %d, best candidate of %v is %d (%v)", leader, alive, want, c)
	}
	return leader
}

// TestSimElectsBestOfMajority: members of a connected majority (the rest
// crashed) all decide the same leader, the best candidate among them.
func TestSimElectsBestOfMajority(t *testing.T) {
	for seed := int64(0); seed < int64(*simSeeds); seed++ {
		n := 3 + 2*int(seed%2)
		s := newSim(t, seed, n)
		c := randomCandidacies(s.rng, s.ids)
		_, alive := split(s.rng, s.ids, s.rng.Intn((n-1)/2+1))
		s.electAll(alive, c)
	}
}

// TestSimMinorityStaysLooking: a partitioned minority never decides while
// the majority elects its best member; once healed, the minority joins.
func TestSimMinorityStaysLooking(t *testing.T) {
	for seed := int64(0); seed < int64(*simSeeds); seed++ {
		n := 3 + 2*int(seed%2)
		s := newSim(t, seed, n)
		c := randomCandidacies(s.rng, s.ids)
		minority, majority := split(s.rng, s.ids, (n-1)/2)
		for _, id := range minority {
			s.group[id] = 1
		}
		leader := s.electAll(majority, c)
		for _, id := range minority {
			s.start(id, c[id].z, c[id].epoch)
		}
		for i := 0; i < 300; i++ {
			s.tick()
			for _, id := range minority {
				if _, _, ok := s.nodes[id].Decided(); ok {
					s.fail("minority member %d decided", id)
				}
			}
		}
		s.logf("heal")
		for _, id := range minority {
			s.group[id] = 0
		}
		if !s.runUntil(100, s.allDecided(s.ids)) {
			s.fail("healed minority did not join")
		}
		if got := s.checkAgree(s.ids); got != leader {
			s.fail("after heal the leader is %d, was %d", got, leader)
		}
	}
}

// establish plays the ZAB phase that follows an election: every member
// records the leader with the new epoch.
func (s *sim) establish(ids []int64, leader int64, epoch uint32) {
	for _, id := range ids {
		st := Following
		if id == leader {
			st = Leading
		}
		s.nodes[id].SetDecided(leader, st, epoch)
	}
}

// TestSimRestartJoinsLeader: a restarted member joins the established
// leader at once, even with a longer old log; but it does not join a leader
// that has died while the others still follow it, and once they notice,
// the survivors elect a new leader among themselves.
func TestSimRestartJoinsLeader(t *testing.T) {
	for seed := int64(0); seed < int64(*simSeeds); seed++ {
		n := 3 + 2*int(seed%2)
		s := newSim(t, seed, n)
		c := randomCandidacies(s.rng, s.ids)
		leader := s.electAll(s.ids, c)
		const epoch = 3
		s.establish(s.ids, leader, epoch)
		r := s.ids[s.rng.Intn(n)]
		for r == leader {
			r = s.ids[s.rng.Intn(n)]
		}
		s.logf("restart %d", r)
		s.start(r, zxid.New(epoch-1, 9), epoch-1)
		if !s.runUntil(20, s.allDecided([]int64{r})) {
			s.fail("restarted member %d did not join", r)
		}
		if l, st, _ := s.nodes[r].Decided(); l != leader || st != Following {
			s.fail("restarted member %d decided %v %d, leader is %d", r, st, l, leader)
		}

		// The leader dies; r restarts before the others notice.
		s.logf("crash leader %d, restart %d", leader, r)
		s.crash(leader)
		s.start(r, zxid.New(epoch, 5), epoch)
		s.runUntil(100, func() bool { return false })
		if _, _, ok := s.nodes[r].Decided(); ok {
			s.fail("member %d joined dead leader %d", r, leader)
		}
		var alive []int64
		for _, id := range s.ids {
			if id != leader {
				alive = append(alive, id)
			}
		}
		for _, id := range alive {
			c[id] = candidacy{zxid.New(epoch, uint32(s.rng.Intn(3))), epoch}
			if id != r {
				s.nodes[id].Start(c[id].z, c[id].epoch)
				s.collect(id)
			}
		}
		c[r] = candidacy{zxid.New(epoch, 5), epoch}
		if !s.runUntil(500, s.allDecided(alive)) {
			s.fail("survivors %v did not decide", alive)
		}
		if got, want := s.checkAgree(alive), best(alive, c); got != want {
			s.fail("survivors elected %d, best is %d", got, want)
		}
	}
}

// zabOracle plays what the ZAB layer does with an election's outcome: a
// follower whose leader is gone or not leading, and a leader without a
// quorum of followers, start a new election after patience ticks; a leader
// with a quorum establishes a new epoch on itself and its followers.
type zabOracle struct {
	s        *sim
	c        map[int64]candidacy
	patience int
	stale    map[int64]int
	epoch    uint32
	leading  map[int64]bool // established leaders
	gaveUp   int
}

func (o *zabOracle) followers(leader int64) []int64 {
	var f []int64
	for _, id := range o.s.ids {
		if id == leader || !o.s.up[id] || o.s.group[id] != o.s.group[leader] {
			continue
		}
		if l, st, ok := o.s.nodes[id].Decided(); ok && st == Following && l == leader {
			f = append(f, id)
		}
	}
	return f
}

func (o *zabOracle) step() {
	s := o.s
	quorum := len(s.ids)/2 + 1
	for _, id := range s.ids {
		if !s.up[id] {
			continue
		}
		l, st, ok := s.nodes[id].Decided()
		healthy := true
		switch {
		case !ok:
			continue
		case st == Leading:
			f := o.followers(id)
			healthy = len(f)+1 >= quorum
			if healthy && !o.leading[id] {
				o.leading[id] = true
				o.epoch++
				for _, m := range append(f, id) {
					o.c[m] = candidacy{o.c[m].z, o.epoch}
					if m != id {
						s.nodes[m].SetDecided(id, Following, o.epoch)
					}
				}
				s.nodes[id].SetDecided(id, Leading, o.epoch)
				s.logf("established %d in e%d with %v", id, o.epoch, f)
			}
		default:
			lst := Looking
			if s.up[l] && s.group[l] == s.group[id] {
				lst = s.nodes[l].State()
			}
			healthy = lst == Leading && o.leading[l]
			if lst == Leading && !o.leading[l] {
				healthy = true // still gathering its quorum
			}
		}
		if healthy {
			o.stale[id] = 0
			continue
		}
		if o.stale[id]++; o.stale[id] >= o.patience {
			o.stale[id] = 0
			delete(o.leading, id)
			s.logf("zab gives up on %d", id)
			o.gaveUp++
			s.nodes[id].Start(o.c[id].z, o.c[id].epoch)
			s.collect(id)
		}
	}
}

// TestSimChaosThenHeal: crashes, restarts and partitions at random, with the
// ZAB oracle reacting; once every member is up and connected, the ensemble
// settles on one established leader.
func TestSimChaosThenHeal(t *testing.T) {
	established, gaveUp := 0, 0
	defer func() { t.Logf("%d leaders established, %d members gave up on theirs", established, gaveUp) }()
	for seed := int64(0); seed < int64(*simSeeds); seed++ {
		n := 3 + 2*int(seed%2)
		s := newSim(t, seed, n)
		s.maxDrops = 4
		c := randomCandidacies(s.rng, s.ids)
		o := &zabOracle{s: s, c: c, patience: 10, stale: map[int64]int{}, epoch: 2, leading: map[int64]bool{}}
		for _, id := range s.ids {
			s.start(id, c[id].z, c[id].epoch)
		}
		for i := 0; i < 300; i++ {
			switch r := s.rng.Intn(100); {
			case r < 3:
				id := s.ids[s.rng.Intn(n)]
				if s.up[id] {
					s.logf("crash %d", id)
					s.crash(id)
					delete(o.leading, id)
				} else {
					s.logf("restart %d", id)
					s.start(id, c[id].z, c[id].epoch)
				}
			case r < 5:
				id := s.ids[s.rng.Intn(n)]
				s.group[id] = s.rng.Intn(2)
				s.logf("member %d to group %d", id, s.group[id])
			}
			s.tick()
			o.step()
		}
		s.logf("heal")
		s.dropP = 0.1
		for _, id := range s.ids {
			s.group[id] = 0
			if !s.up[id] {
				s.start(id, c[id].z, c[id].epoch)
			}
		}
		settled := func() bool {
			if !s.allDecided(s.ids)() {
				return false
			}
			l, _, _ := s.nodes[s.ids[0]].Decided()
			for _, id := range s.ids {
				if m, _, _ := s.nodes[id].Decided(); m != l {
					return false
				}
			}
			return o.leading[l]
		}
		ok := false
		for i := 0; i < 2000 && !ok; i++ {
			s.tick()
			o.step()
			ok = settled()
		}
		if !ok {
			s.fail("did not settle after heal")
		}
		s.checkAgree(s.ids)
		established += int(o.epoch - 2)
		gaveUp += o.gaveUp
	}
}
