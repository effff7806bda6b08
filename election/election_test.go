package election

import (
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/zxid"
)

func TestBeats(t *testing.T) {
	z := func(e, c uint32) zxid.Zxid { return zxid.New(e, c) }
	tests := []struct {
		name string
		a, b Vote
		want bool // a beats b
	}{
		{"higher epoch wins over higher zxid", Vote{Leader: 1, Epoch: 3, Zxid: z(2, 1)}, Vote{Leader: 2, Epoch: 2, Zxid: z(2, 9)}, true},
		{"lower epoch loses", Vote{Leader: 3, Epoch: 1, Zxid: z(1, 9)}, Vote{Leader: 1, Epoch: 2, Zxid: z(1, 1)}, false},
		{"same epoch, higher zxid wins", Vote{Leader: 1, Epoch: 2, Zxid: z(2, 5)}, Vote{Leader: 3, Epoch: 2, Zxid: z(2, 4)}, true},
		{"same epoch and zxid, higher id wins", Vote{Leader: 3, Epoch: 2, Zxid: z(2, 4)}, Vote{Leader: 2, Epoch: 2, Zxid: z(2, 4)}, true},
		{"same epoch and zxid, lower id loses", Vote{Leader: 2, Epoch: 2, Zxid: z(2, 4)}, Vote{Leader: 3, Epoch: 2, Zxid: z(2, 4)}, false},
		{"identical does not beat", Vote{Leader: 2, Epoch: 2, Zxid: z(2, 4)}, Vote{Leader: 2, Epoch: 2, Zxid: z(2, 4)}, false},
		{"round is not compared", Vote{Leader: 2, Round: 1}, Vote{Leader: 1, Round: 9}, true},
	}
	for _, tt := range tests {
		if got := tt.a.Beats(tt.b); got != tt.want {
			t.Errorf("%s: %v.Beats(%v) = %v", tt.name, tt.a, tt.b, got)
		}
	}
}

func TestStrings(t *testing.T) {
	m := Message{From: 3, To: 1, State: Looking, Vote: Vote{Leader: 2, Zxid: zxid.New(1, 4), Epoch: 1, Round: 5}}
	if got, want := m.String(), "3->1 LOOKING vote(2, 0x100000004, e1, r5)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if Following.String() != "FOLLOWING" || Leading.String() != "LEADING" || State(7).String() != "State(7)" {
		t.Error("State strings")
	}
}

func cfg(id int64, n int) Config {
	c := Config{ID: id, FinalizeTicks: 5, ResendTicks: 2}
	for i := 1; i <= n; i++ {
		c.Voters = append(c.Voters, int64(i))
	}
	return c
}

func TestStandaloneDecidesAtStart(t *testing.T) {
	e := New(cfg(1, 1))
	if _, _, ok := e.Decided(); ok {
		t.Fatal("decided before Start")
	}
	e.Start(zxid.New(1, 3), 1)
	leader, st, ok := e.Decided()
	if !ok || leader != 1 || st != Leading {
		t.Fatalf("Decided = %d %v %v, want 1 LEADING", leader, st, ok)
	}
	if len(e.Messages()) != 0 {
		t.Fatal("a standalone member sends nothing")
	}
}

func TestStartBroadcastsOwnVote(t *testing.T) {
	e := New(cfg(2, 3))
	e.Start(zxid.New(1, 7), 1)
	got := msgStrings(e.Messages())
	want := "2->1 LOOKING vote(2, 0x100000007, e1, r1); 2->3 LOOKING vote(2, 0x100000007, e1, r1)"
	if got != want {
		t.Fatalf("messages = %s\nwant %s", got, want)
	}
}

func msgStrings(ms []Message) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, "; ")
}

func looking(from, to, leader int64, z zxid.Zxid, epoch uint32, round uint64) Message {
	return Message{From: from, To: to, State: Looking, Vote: Vote{Leader: leader, Zxid: z, Epoch: epoch, Round: round}}
}

func TestAdoptBetterVoteAndFinalize(t *testing.T) {
	e := New(cfg(1, 3))
	e.Start(zxid.New(1, 1), 1)
	e.Messages()
	// Member 2 has a longer history: 1 adopts it and tells everyone.
	e.Step(looking(2, 1, 2, zxid.New(1, 5), 1, 1))
	if got := msgStrings(e.Messages()); got != "1->2 LOOKING vote(2, 0x100000005, e1, r1); 1->3 LOOKING vote(2, 0x100000005, e1, r1)" {
		t.Fatalf("after adopting: %s", got)
	}
	// 1 and 2 agree: a quorum of 3, but 3 has not spoken, so 1 waits.
	if _, _, ok := e.Decided(); ok {
		t.Fatal("decided without waiting for a better vote")
	}
	for i := 0; i < 4; i++ {
		e.Tick()
	}
	if _, _, ok := e.Decided(); ok {
		t.Fatal("decided before FinalizeTicks")
	}
	e.Tick()
	leader, st, ok := e.Decided()
	if !ok || leader != 2 || st != Following {
		t.Fatalf("Decided = %d %v %v, want FOLLOWING 2", leader, st, ok)
	}
}

func TestBetterVoteDuringFinalizeWins(t *testing.T) {
	e := New(cfg(1, 3))
	e.Start(zxid.New(1, 1), 1)
	e.Step(looking(2, 1, 2, zxid.New(1, 5), 1, 1))
	e.Tick()
	e.Tick()
	// 3 has an even longer history and arrives inside the finalize window.
	e.Step(looking(3, 1, 3, zxid.New(1, 6), 1, 1))
	if _, _, ok := e.Decided(); ok {
		t.Fatal("decided inside the finalize window")
	}
	e.Step(looking(2, 1, 3, zxid.New(1, 6), 1, 1))
	// Every voter now agrees on 3: nothing better can come, decide at once.
	leader, st, ok := e.Decided()
	if !ok || leader != 3 || st != Following {
		t.Fatalf("Decided = %d %v %v, want FOLLOWING 3", leader, st, ok)
	}
}

func TestHigherRoundResetsTally(t *testing.T) {
	e := New(cfg(1, 5))
	e.Start(zxid.New(1, 9), 1)
	e.Step(looking(2, 1, 1, zxid.New(1, 9), 1, 1))
	// Round 4 from 3, whose candidacy is worse than ours: we move to round 4
	// voting for ourselves again, and the round 1 vote of 2 no longer counts.
	e.Step(looking(3, 1, 3, zxid.New(1, 2), 1, 4))
	if v := e.Vote(); v.Round != 4 || v.Leader != 1 {
		t.Fatalf("vote = %v, want ours in round 4", v)
	}
	e.Step(looking(4, 1, 1, zxid.New(1, 9), 1, 4))
	for i := 0; i < 20; i++ {
		e.Tick()
	}
	if _, _, ok := e.Decided(); ok {
		t.Fatal("decided from votes of a stale round: 1 and 4 are not a quorum of 5")
	}
	e.Step(looking(2, 1, 1, zxid.New(1, 9), 1, 4))
	for i := 0; i < 5; i++ {
		e.Tick()
	}
	if leader, st, ok := e.Decided(); !ok || leader != 1 || st != Leading {
		t.Fatalf("Decided = %d %v %v, want LEADING", leader, st, ok)
	}
}

func TestLaggingRoundGetsAnswer(t *testing.T) {
	e := New(cfg(1, 3))
	e.Start(zxid.New(1, 1), 1)
	e.Step(looking(2, 1, 2, 0, 0, 5)) // moves us to round 5
	e.Messages()
	e.Step(looking(3, 1, 3, 0, 0, 2))
	if got := msgStrings(e.Messages()); got != "1->3 LOOKING vote(1, 0x100000001, e1, r5)" {
		t.Fatalf("answer to a lagging member: %s", got)
	}
}

func TestDecidedAnswersLookingAndJoinsEstablished(t *testing.T) {
	// 3 leads, 1 follows in epoch 2; 2 restarts with a longer old log.
	lead, fol := New(cfg(3, 3)), New(cfg(1, 3))
	lead.SetDecided(3, Leading, 2)
	fol.SetDecided(3, Following, 2)
	r := New(cfg(2, 3))
	r.Start(zxid.New(1, 99), 1)
	for _, m := range r.Messages() {
		switch m.To {
		case 1:
			fol.Step(m)
		case 3:
			lead.Step(m)
		}
	}
	answers := append(fol.Messages(), lead.Messages()...)
	if got := msgStrings(answers); got != "1->2 FOLLOWING vote(3, 0x0, e2, r0); 3->2 LEADING vote(3, 0x0, e2, r0)" {
		t.Fatalf("answers: %s", got)
	}
	r.Step(answers[0])
	if _, _, ok := r.Decided(); ok {
		t.Fatal("joined on a follower's word alone")
	}
	r.Step(answers[1])
	if leader, st, ok := r.Decided(); !ok || leader != 3 || st != Following {
		t.Fatalf("Decided = %d %v %v, want FOLLOWING 3", leader, st, ok)
	}
}

func TestIgnoresStrangersAndMisaddressed(t *testing.T) {
	e := New(cfg(1, 3))
	e.Start(0, 0)
	e.Messages()
	e.Step(looking(9, 1, 9, zxid.New(5, 5), 5, 1)) // not a voter
	e.Step(looking(2, 3, 2, zxid.New(5, 5), 5, 1)) // not for us
	if v := e.Vote(); v.Leader != 1 || len(e.Messages()) != 0 {
		t.Fatalf("vote = %v after ignored messages", v)
	}
}

func TestResend(t *testing.T) {
	e := New(cfg(1, 3))
	e.Start(0, 0)
	e.Messages()
	e.Tick()
	if n := len(e.Messages()); n != 0 {
		t.Fatalf("%d messages after 1 tick", n)
	}
	e.Tick()
	if n := len(e.Messages()); n != 2 {
		t.Fatalf("%d messages after ResendTicks, want 2", n)
	}
}

func TestSetDecidedPanicsOnNonsense(t *testing.T) {
	for _, f := range []func(e *Election){
		func(e *Election) { e.SetDecided(1, Looking, 1) },
		func(e *Election) { e.SetDecided(2, Leading, 1) },
		func(e *Election) { e.SetDecided(1, Following, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(New(cfg(1, 3)))
		}()
	}
}
