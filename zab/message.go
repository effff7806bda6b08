package zab

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// MsgType names a peer message. The names are ZooKeeper's packet names, so a
// trace reads like the Zab 1.0 protocol description.
type MsgType uint8

// Message types, grouped by phase.
const (
	// Discovery.
	MsgFollowerInfo MsgType = iota + 1 // F->L: Epoch=acceptedEpoch, Zxid=lastLogged
	MsgLeaderInfo                      // L->F: Epoch=new epoch
	MsgAckEpoch                        // F->L: Epoch=currentEpoch, Zxid=lastLogged (after acceptedEpoch is durable)
	// Synchronization.
	MsgDiff         // L->F: Entries the follower misses
	MsgTrunc        // L->F: drop entries after Zxid, then append Entries
	MsgSnap         // L->F: install Snapshot, then append Entries
	MsgNewLeader    // L->F: Epoch, Zxid=the leader's last zxid at sync time
	MsgAckNewLeader // F->L: sent once the synced log and currentEpoch are durable
	MsgUpToDate     // L->F: Zxid=the leader's latest committed zxid; start serving
	// Broadcast.
	MsgProposal // L->F: Zxid, Data
	MsgAck      // F->L: everything up to Zxid is durable (cumulative)
	MsgCommit   // L->F: everything up to Zxid is committed (cumulative)
	// Liveness, client traffic.
	MsgPing      // both ways; F->L carries the Sessions its clients touched
	MsgRequest   // F->L: a client write to be proposed (Data)
	MsgSync      // F->L: client sync(), ID
	MsgSyncReply // L->F: ID, Zxid=the leader's committed zxid when SYNC arrived
)

var msgNames = [...]string{
	MsgFollowerInfo: "FOLLOWERINFO", MsgLeaderInfo: "LEADERINFO", MsgAckEpoch: "ACKEPOCH",
	MsgDiff: "DIFF", MsgTrunc: "TRUNC", MsgSnap: "SNAP",
	MsgNewLeader: "NEWLEADER", MsgAckNewLeader: "ACKNEWLEADER", MsgUpToDate: "UPTODATE",
	MsgProposal: "PROPOSAL", MsgAck: "ACK", MsgCommit: "COMMIT",
	MsgPing: "PING", MsgRequest: "REQUEST", MsgSync: "SYNC", MsgSyncReply: "SYNCREPLY",
}

func (t MsgType) String() string {
	if int(t) < len(msgNames) && msgNames[t] != "" {
		return msgNames[t]
	}
	return "MSG(" + strconv.Itoa(int(t)) + ")"
}

// ParseMsgType is the inverse of MsgType.String (used by test scripts).
func ParseMsgType(s string) (MsgType, bool) {
	for i, n := range msgNames {
		if n != "" && strings.EqualFold(n, s) {
			return MsgType(i), true
		}
	}
	return 0, false
}

// Entry is one txn of the log; Data is opaque to zab.
type Entry struct {
	Zxid zxid.Zxid `codec:"z"`
	Data []byte    `codec:"d"`
}

func (e Entry) String() string { return e.Zxid.String() + " " + shortData(e.Data) }

// Snapshot is the applied state of the leader at Zxid, opaque to zab.
type Snapshot struct {
	Zxid zxid.Zxid `codec:"z"`
	Data []byte    `codec:"d"`
}

func (s Snapshot) String() string { return "snap@" + s.Zxid.String() }

// Message is every peer message, flat so the transport can msgpack it.
// Fields not used by a type stay zero.
type Message struct {
	Type     MsgType   `codec:"t"`
	From     int64     `codec:"f"`
	To       int64     `codec:"o"`
	Epoch    uint32    `codec:"e,omitempty"`
	Zxid     zxid.Zxid `codec:"z,omitempty"`
	Data     []byte    `codec:"d,omitempty"`
	Entries  []Entry   `codec:"n,omitempty"`
	Snapshot *Snapshot `codec:"s,omitempty"`
	Sessions []int64   `codec:"x,omitempty"`
	ID       uint64    `codec:"i,omitempty"`
	// Rejoin (LEADERINFO): the follower already acked this epoch to this
	// leader, so it may accept an epoch equal to its acceptedEpoch.
	Rejoin bool `codec:"r,omitempty"`
}

// String is the stable one-line form used in logs and golden files, e.g.
// "2->1 ACK 0x100000005".
func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d->%d %s", m.From, m.To, m.Type)
	switch m.Type {
	case MsgFollowerInfo, MsgAckEpoch:
		fmt.Fprintf(&b, " e%d %s", m.Epoch, m.Zxid)
	case MsgLeaderInfo:
		fmt.Fprintf(&b, " e%d", m.Epoch)
		if m.Rejoin {
			b.WriteString(" rejoin")
		}
	case MsgDiff:
		b.WriteString(" " + entryRange(m.Entries))
	case MsgTrunc:
		fmt.Fprintf(&b, " %s %s", m.Zxid, entryRange(m.Entries))
	case MsgSnap:
		fmt.Fprintf(&b, " %s %s", m.Snapshot, entryRange(m.Entries))
	case MsgNewLeader, MsgAckNewLeader:
		fmt.Fprintf(&b, " e%d %s", m.Epoch, m.Zxid)
	case MsgUpToDate, MsgAck, MsgCommit:
		b.WriteString(" " + m.Zxid.String())
	case MsgProposal:
		fmt.Fprintf(&b, " %s %s", m.Zxid, shortData(m.Data))
	case MsgPing:
		if len(m.Sessions) > 0 {
			fmt.Fprintf(&b, " %v", m.Sessions)
		}
	case MsgRequest:
		b.WriteString(" " + shortData(m.Data))
	case MsgSync:
		fmt.Fprintf(&b, " id=%d", m.ID)
	case MsgSyncReply:
		fmt.Fprintf(&b, " id=%d %s", m.ID, m.Zxid)
	}
	return b.String()
}

// entryRange prints "[]" or "[0x100000001..0x100000003 (3)]".
func entryRange(es []Entry) string {
	switch len(es) {
	case 0:
		return "[]"
	case 1:
		return "[" + es[0].Zxid.String() + "]"
	}
	return fmt.Sprintf("[%s..%s (%d)]", es[0].Zxid, es[len(es)-1].Zxid, len(es))
}

// shortData quotes at most 16 bytes of a payload.
func shortData(d []byte) string {
	if len(d) > 16 {
		return strconv.Quote(string(d[:16])) + "..."
	}
	return strconv.Quote(string(d))
}
