package election

import (
	"fmt"
	"slices"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// Config describes one member's view of the ensemble.
type Config struct {
	ID     int64
	Voters []int64 // every voting member, this one included (unless it only observes)
	// FinalizeTicks is how long a member that sees a quorum for its vote
	// still waits for a better vote before deciding (ZooKeeper: 200 ms).
	// Zero decides at once.
	FinalizeTicks int
	// ResendTicks is how often a LOOKING member rebroadcasts its vote, which
	// is how lost messages are recovered. Zero or less means every tick.
	ResendTicks int
}

// Election is one member's vote state. It is not safe for concurrent use:
// one driver goroutine calls every method.
type Election struct {
	cfg    Config
	voters map[int64]bool
	quorum int

	started bool // false until Start or SetDecided: a member with no vote stays silent
	state   State
	round   uint64
	own     Vote // this member's own candidacy in the current round
	vote    Vote // the current proposal (Round is kept in round)

	recv map[int64]Vote    // this round's votes, by voter
	out  map[int64]Message // latest report of each FOLLOWING/LEADING voter

	finalize int // ticks left before deciding; -1 when not counting down
	resend   int // ticks left before the next rebroadcast
	msgs     []Message
}

// New returns a member that stays silent until Start or SetDecided.
func New(c Config) *Election {
	e := &Election{cfg: c, voters: map[int64]bool{}, finalize: -1}
	for _, id := range c.Voters {
		e.voters[id] = true
	}
	if len(e.voters) == 0 {
		panic("election: no voters")
	}
	e.quorum = len(e.voters)/2 + 1
	return e
}

// Start begins LOOKING in a fresh round, voting for this member with its
// last logged zxid and its current (accepted) epoch.
func (e *Election) Start(lastZxid zxid.Zxid, epoch uint32) {
	e.started = true
	e.state = Looking
	e.round++
	e.own = Vote{Leader: e.cfg.ID, Zxid: lastZxid, Epoch: epoch}
	e.vote = e.own
	e.recv = map[int64]Vote{}
	e.out = map[int64]Message{}
	e.finalize = -1
	e.resend = e.cfg.ResendTicks
	e.broadcast()
	e.check()
}

// Step handles one message addressed to this member.
func (e *Election) Step(m Message) {
	if !e.started || m.To != e.cfg.ID || m.From == e.cfg.ID {
		return
	}
	if e.state != Looking {
		// A decided member answers anyone looking with its decision, so a
		// restarted member joins the established leader at once.
		if m.State == Looking {
			e.send(m.From)
		}
		return
	}
	if !e.voters[m.From] {
		return // only voters take part in the tally
	}
	switch m.State {
	case Looking:
		delete(e.out, m.From)
		e.stepLooking(m)
	default:
		e.stepDecided(m)
	}
	e.check()
}

// stepLooking handles a vote from a member that is looking too.
func (e *Election) stepLooking(m Message) {
	v := m.Vote
	switch {
	case v.Round > e.round:
		// A newer round: our tally is stale. Restart it from the better of
		// our own candidacy and the sender's vote.
		e.round = v.Round
		e.recv = map[int64]Vote{}
		e.vote = e.own
		if v.Beats(e.own) {
			e.vote = v
		}
		e.finalize = -1
		e.broadcast()
	case v.Round < e.round:
		// A lagging member: tell it about our round so it catches up.
		e.send(m.From)
		return
	case v.Beats(e.vote):
		e.adopt(v)
	}
	e.recv[m.From] = v
}

// stepDecided handles a report from a FOLLOWING or LEADING member while we
// are looking. A report from our own round is an ordinary vote; any report
// may let us join a leader that is already established (out of election).
func (e *Election) stepDecided(m Message) {
	v := m.Vote
	if v.Round == e.round {
		if v.Beats(e.vote) {
			e.adopt(v)
		}
		e.recv[m.From] = v
	}
	e.out[m.From] = m
	if e.establishedLeader(v.Leader) {
		lead := e.out[v.Leader].Vote
		e.round = max(e.round, lead.Round)
		e.decide(lead)
	}
}

// establishedLeader reports whether a quorum of voters reports leader as
// its leader and the leader itself reports LEADING. Both are needed, as in
// ZooKeeper: a quorum alone may name a leader that has died, and a lone
// leader's claim may be one it is about to give up for lack of a quorum.
// A member never joins itself this way: a restarted former leader has lost
// its followers' links and must be elected afresh.
func (e *Election) establishedLeader(leader int64) bool {
	if leader == e.cfg.ID {
		return false
	}
	lm, ok := e.out[leader]
	if !ok || lm.State != Leading || lm.Vote.Leader != leader {
		return false
	}
	n := 0
	for _, r := range e.out {
		if r.Vote.Leader == leader {
			n++
		}
	}
	return n >= e.quorum
}

// adopt switches to a better vote within the round and tells everyone.
func (e *Election) adopt(v Vote) {
	e.vote = v
	e.finalize = -1
	e.broadcast()
}

// check starts the finalize countdown once a quorum agrees with our vote,
// or decides at once when no better vote can still come.
func (e *Election) check() {
	if e.state != Looking {
		return
	}
	n := e.agreeing()
	if n < e.quorum {
		return
	}
	// When every voter already agrees, every candidacy of this round has
	// been weighed, so waiting for a better vote is pointless.
	if e.cfg.FinalizeTicks <= 0 || n == len(e.voters) {
		e.decide(e.vote)
		return
	}
	if e.finalize < 0 {
		e.finalize = e.cfg.FinalizeTicks
	}
}

// agreeing counts the voters, this member included, whose vote in this
// round matches our proposal.
func (e *Election) agreeing() int {
	n := 0
	if e.voters[e.cfg.ID] {
		n++
	}
	for id, v := range e.recv {
		if id != e.cfg.ID && v.sameCandidate(e.vote) {
			n++
		}
	}
	return n
}

func (e *Election) decide(v Vote) {
	e.vote = v
	e.finalize = -1
	e.state = Following
	if v.Leader == e.cfg.ID {
		e.state = Leading
	}
}

// Tick advances the member's clock by one tick: rebroadcasts the vote every
// ResendTicks and finishes a finalize countdown.
func (e *Election) Tick() {
	if !e.started || e.state != Looking {
		return
	}
	e.resend--
	if e.resend <= 0 {
		e.resend = e.cfg.ResendTicks
		e.broadcast()
	}
	if e.finalize > 0 {
		e.finalize--
		if e.finalize == 0 {
			e.finalize = -1
			if e.agreeing() >= e.quorum {
				e.decide(e.vote)
			}
		}
	}
}

// Messages returns the messages to send since the last call.
func (e *Election) Messages() []Message {
	m := e.msgs
	e.msgs = nil
	return m
}

// Decided returns the decision once the member is no longer looking.
func (e *Election) Decided() (leader int64, st State, ok bool) {
	if !e.started || e.state == Looking {
		return 0, Looking, false
	}
	return e.vote.Leader, e.state, true
}

// SetDecided records the outcome of the ZAB phase that followed the
// election (or any other way this member learnt its leader), with the epoch
// now established, so the member answers looking peers correctly.
func (e *Election) SetDecided(leader int64, st State, epoch uint32) {
	if st == Looking {
		panic("election: SetDecided(LOOKING); call Start to look")
	}
	if (st == Leading) != (leader == e.cfg.ID) {
		panic(fmt.Sprintf("election: member %d cannot be %v with leader %d", e.cfg.ID, st, leader))
	}
	if leader != e.vote.Leader {
		e.vote.Zxid = 0 // we do not know the new leader's zxid; it is not compared
	}
	e.started = true
	e.state = st
	e.vote.Leader = leader
	e.vote.Epoch = epoch
	e.finalize = -1
}

// State is the member's current state.
func (e *Election) State() State { return e.state }

// Vote is the member's current proposal (or decision) with its round.
func (e *Election) Vote() Vote {
	v := e.vote
	v.Round = e.round
	return v
}

// broadcast sends our vote to every other voter.
func (e *Election) broadcast() {
	ids := make([]int64, 0, len(e.voters))
	for id := range e.voters {
		if id != e.cfg.ID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // map order is random; keep output deterministic
	for _, id := range ids {
		e.send(id)
	}
}

func (e *Election) send(to int64) {
	e.msgs = append(e.msgs, Message{From: e.cfg.ID, To: to, State: e.state, Vote: e.Vote()})
}
