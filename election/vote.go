// Package election is fast-leader-election style voting as a pure state
// machine: messages come in through Step, time through Tick, and messages to
// send leave through Messages. It only picks the member to try as leader;
// safety (one established leader per epoch) is ZAB's job, so a poor pick costs
// one failed discovery and a new round, never a split history.
package election

import (
	"fmt"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// State is a member's role as the election sees it.
type State int

const (
	Looking State = iota
	Following
	Leading
)

func (s State) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Vote proposes Leader, whose history ends at Zxid in accepted epoch Epoch,
// in election round Round.
type Vote struct {
	Leader int64     `codec:"l"`
	Zxid   zxid.Zxid `codec:"z"`
	Epoch  uint32    `codec:"e"`
	Round  uint64    `codec:"r"`
}

// String is the vote's log form: "vote(2, 0x100000004, e1, r5)".
func (v Vote) String() string {
	return fmt.Sprintf("vote(%d, %v, e%d, r%d)", v.Leader, v.Zxid, v.Epoch, v.Round)
}

// Beats reports whether v proposes a better leader than w by the total order
// (epoch, zxid, leader id), higher wins. Rounds are not part of the order:
// they only say which tally a vote belongs to.
func (v Vote) Beats(w Vote) bool {
	if v.Epoch != w.Epoch {
		return v.Epoch > w.Epoch
	}
	if v.Zxid != w.Zxid {
		return v.Zxid > w.Zxid
	}
	return v.Leader > w.Leader
}

// sameCandidate is vote equality for tallying: the round is implied by the
// tally the vote sits in.
func (v Vote) sameCandidate(w Vote) bool {
	return v.Leader == w.Leader && v.Zxid == w.Zxid && v.Epoch == w.Epoch
}

// Message is one election notification: From's state and current vote.
type Message struct {
	From  int64 `codec:"f"`
	To    int64 `codec:"t"`
	State State `codec:"s"`
	Vote  Vote  `codec:"v"`
}

// String is the message's log form: "3->1 LOOKING vote(2, 0x100000004, e1, r5)".
func (m Message) String() string {
	return fmt.Sprintf("%d->%d %v %v", m.From, m.To, m.State, m.Vote)
}
