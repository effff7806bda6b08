package zab

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// memLog is the test Log: entries after start (compacted before).
type memLog struct {
	start   zxid.Zxid
	entries []Entry
}

func (l *memLog) Entries(from, to zxid.Zxid) ([]Entry, error) {
	if from <= l.start && l.start > 0 {
		return nil, ErrCompacted
	}
	var out []Entry
	for _, e := range l.entries {
		if e.Zxid >= from && e.Zxid <= to {
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *memLog) LastZxid() zxid.Zxid {
	if len(l.entries) == 0 {
		return l.start
	}
	return l.entries[len(l.entries)-1].Zxid
}

func z(epoch, counter uint32) zxid.Zxid { return zxid.New(epoch, counter) }

func ents(zs ...zxid.Zxid) []Entry {
	var es []Entry
	for _, x := range zs {
		es = append(es, Entry{Zxid: x, Data: []byte(x.String())})
	}
	return es
}

// msgs renders a Ready's messages for comparison.
func msgs(rd Ready) string {
	var s []string
	for _, m := range rd.Messages {
		s = append(s, m.String())
	}
	return strings.Join(s, "; ")
}

// persist hands the Ready's durable part back, as a driver would.
func persist(n *Node, rd Ready) {
	if rd.Durable.Seq != 0 {
		n.Persisted(rd.Durable)
	}
}

func TestStandaloneGoesThroughTheSamePath(t *testing.T) {
	n := New(Config{ID: 1, Voters: []int64{1}})
	n.Lead()
	rd := n.Ready()
	if rd.AcceptedEpoch != 1 || rd.CurrentEpoch != 0 {
		t.Fatalf("first Ready should persist acceptedEpoch=1 only: %+v", rd)
	}
	if _, err := n.Propose([]byte("x")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Propose before establishment: %v", err)
	}
	persist(n, rd)
	rd = n.Ready()
	if rd.CurrentEpoch != 1 {
		t.Fatalf("currentEpoch not handed out after acceptedEpoch was durable: %+v", rd)
	}
	persist(n, rd)
	rd = n.Ready()
	if !rd.RoleChanged || rd.Role != Leading || rd.Epoch != 1 {
		t.Fatalf("not established: %+v", rd)
	}
	zx, err := n.Propose([]byte("x"))
	if err != nil || zx != z(1, 1) {
		t.Fatalf("Propose = %s, %v", zx, err)
	}
	rd = n.Ready()
	if len(rd.Append) != 1 || len(rd.Commit) != 0 {
		t.Fatalf("a txn is committed only after its own fsync: %+v", rd)
	}
	persist(n, rd)
	rd = n.Ready()
	if len(rd.Commit) != 1 || rd.Commit[0].Zxid != z(1, 1) {
		t.Fatalf("commit after Persisted: %+v", rd)
	}
	if err := n.Sync(9); err != nil {
		t.Fatal(err)
	}
	if rd := n.Ready(); len(rd.Synced) != 1 || rd.Synced[0] != (SyncDone{ID: 9, Zxid: z(1, 1)}) {
		t.Fatalf("leader sync: %+v", rd.Synced)
	}
}

// follower builds a follower of leader 1 that is past discovery in epoch e.
func follower(t *testing.T, cfg Config, e uint32) *Node {
	t.Helper()
	cfg.ID, cfg.Voters = 2, []int64{1, 2, 3}
	n := New(cfg)
	n.Follow(1)
	if got := msgs(n.Ready()); !strings.HasPrefix(got, "2->1 FOLLOWERINFO") {
		t.Fatalf("Follow sent %q", got)
	}
	n.Step(Message{Type: MsgLeaderInfo, From: 1, To: 2, Epoch: e})
	rd := n.Ready()
	if len(rd.Messages) != 0 {
		t.Fatalf("ACKEPOCH before acceptedEpoch is durable: %s", msgs(rd))
	}
	persist(n, rd)
	if got := msgs(n.Ready()); !strings.HasPrefix(got, "2->1 ACKEPOCH") {
		t.Fatalf("after Persisted: %q", got)
	}
	return n
}

func TestFollowerEpochRules(t *testing.T) {
	for _, tc := range []struct {
		accepted, offered uint32
		rejoin            bool
		lost              bool
	}{
		{accepted: 1, offered: 2},
		{accepted: 2, offered: 1, lost: true},
		{accepted: 2, offered: 2, lost: true}, // promised to another leader
		{accepted: 2, offered: 2, rejoin: true},
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			n := New(Config{ID: 2, Voters: []int64{1, 2, 3}, AcceptedEpoch: tc.accepted})
			n.Follow(1)
			n.Ready()
			n.Step(Message{Type: MsgLeaderInfo, From: 1, To: 2, Epoch: tc.offered, Rejoin: tc.rejoin})
			if rd := n.Ready(); rd.Lost != tc.lost {
				t.Fatalf("lost = %v, want %v (%+v)", rd.Lost, tc.lost, rd)
			}
		})
	}
}

// TestFollowerAcksNewLeaderOnlyWhenDurable: the synced txns come before
// currentEpoch in the Ready, and ACKNEWLEADER waits for both
// (ZOOKEEPER-4643, -4646).
func TestFollowerAcksNewLeaderOnlyWhenDurable(t *testing.T) {
	log := &memLog{entries: ents(z(1, 1), z(1, 2))}
	n := follower(t, Config{AcceptedEpoch: 1, CurrentEpoch: 1, LastLogged: z(1, 2), Applied: z(1, 1), Log: log}, 2)
	n.Step(Message{Type: MsgTrunc, From: 1, Epoch: 2, Zxid: z(1, 1), Entries: ents(z(2, 1))})
	n.Step(Message{Type: MsgNewLeader, From: 1, Epoch: 2, Zxid: z(2, 1)})
	n.Step(Message{Type: MsgProposal, From: 1, Epoch: 2, Zxid: z(2, 2), Data: []byte("p")})
	rd := n.Ready()
	if len(rd.Messages) != 0 {
		t.Fatalf("acked before durable: %s", msgs(rd))
	}
	if rd.TruncateAfter == nil || *rd.TruncateAfter != z(1, 1) || len(rd.Append) != 2 || rd.CurrentEpoch != 2 {
		t.Fatalf("durable work: %+v", rd)
	}
	persist(n, rd)
	rd = n.Ready()
	if got, want := msgs(rd), "2->1 ACKNEWLEADER e2 0x200000001; 2->1 ACK 0x200000002"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	n.Step(Message{Type: MsgUpToDate, From: 1, Epoch: 2, Zxid: z(2, 1)})
	rd = n.Ready()
	if !rd.RoleChanged || rd.Role != Following || len(rd.Commit) != 1 || rd.Commit[0].Zxid != z(2, 1) {
		t.Fatalf("UPTODATE: %+v", rd)
	}
	if st := n.Status(); st.Phase != PhaseBroadcast || st.Committed != z(2, 1) {
		t.Fatalf("status %s", st)
	}
}

// TestFollowerCommitsLoggedTailAfterRestart: entries logged before a crash
// are applied once the leader commits them, read back from the Log.
func TestFollowerCommitsLoggedTailAfterRestart(t *testing.T) {
	log := &memLog{entries: ents(z(1, 1), z(1, 2), z(1, 3))}
	n := follower(t, Config{AcceptedEpoch: 1, CurrentEpoch: 1, LastLogged: z(1, 3), Applied: z(1, 1), Log: log}, 2)
	n.Step(Message{Type: MsgDiff, From: 1, Epoch: 2})
	n.Step(Message{Type: MsgNewLeader, From: 1, Epoch: 2, Zxid: z(1, 3)})
	persist(n, n.Ready())
	n.Step(Message{Type: MsgUpToDate, From: 1, Epoch: 2, Zxid: z(1, 3)})
	rd := n.Ready()
	if len(rd.Commit) != 2 || rd.Commit[0].Zxid != z(1, 2) || string(rd.Commit[1].Data) != z(1, 3).String() {
		t.Fatalf("commit: %+v", rd.Commit)
	}
}

func TestFollowerProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []Message
	}{
		{"proposal gap", []Message{{Type: MsgProposal, Zxid: z(2, 2)}}},
		{"stale epoch proposal", []Message{{Type: MsgProposal, Zxid: z(1, 1)}}},
		{"commit beyond log", []Message{{Type: MsgCommit, Zxid: z(2, 5)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := follower(t, Config{AcceptedEpoch: 1}, 2)
			n.Step(Message{Type: MsgDiff, From: 1, Epoch: 2})
			n.Step(Message{Type: MsgNewLeader, From: 1, Epoch: 2})
			n.Ready()
			for _, m := range tc.msgs {
				m.From, m.Epoch = 1, 2
				n.Step(m)
			}
			if rd := n.Ready(); !rd.Lost {
				t.Fatalf("not lost: %+v", rd)
			}
		})
	}
}

func TestFollowerGivesUpOnSilentLeader(t *testing.T) {
	n := New(Config{ID: 2, Voters: []int64{1, 2, 3}, TickInitLimit: 3, TickSyncLimit: 2})
	n.Follow(1)
	n.Ready()
	n.Tick()
	n.Tick()
	n.Step(Message{Type: MsgPing, From: 1, To: 2})
	n.Tick()
	n.Tick()
	if n.Ready().Lost {
		t.Fatal("lost although the leader was heard")
	}
	n.Tick()
	if rd := n.Ready(); !rd.Lost || n.Status().Role != Looking {
		t.Fatalf("still following after initLimit ticks: %+v", rd)
	}
}

// leader3 drives node 1 through discovery and sync with followers 2 and 3
// reporting the given last zxids.
func leader3(t testing.TB, cfg Config, last2, last3 zxid.Zxid) (*Node, Ready) {
	t.Helper()
	cfg.ID, cfg.Voters = 1, []int64{1, 2, 3}
	n := New(cfg)
	n.Lead()
	n.Step(Message{Type: MsgFollowerInfo, From: 2, Epoch: cfg.AcceptedEpoch, Zxid: last2})
	n.Step(Message{Type: MsgFollowerInfo, From: 3, Epoch: cfg.AcceptedEpoch, Zxid: last3})
	rd := n.Ready()
	e := cfg.AcceptedEpoch + 1
	if got := msgs(rd); got != fmt.Sprintf("1->2 LEADERINFO e%d; 1->3 LEADERINFO e%d", e, e) {
		t.Fatalf("discovery: %q", got)
	}
	persist(n, rd)
	// 3 completes the quorum first, so 2 is checked against a fixed history.
	n.Step(Message{Type: MsgAckEpoch, From: 3, Epoch: cfg.CurrentEpoch, Zxid: last3})
	n.Step(Message{Type: MsgAckEpoch, From: 2, Epoch: cfg.CurrentEpoch, Zxid: last2})
	return n, n.Ready()
}

func TestLeaderSyncPlan(t *testing.T) {
	log := &memLog{entries: ents(z(1, 1), z(1, 2), z(2, 1), z(2, 2))}
	cfg := Config{AcceptedEpoch: 2, CurrentEpoch: 2, LastLogged: z(2, 2), Applied: z(2, 2), Log: log}
	for _, tc := range []struct {
		follower zxid.Zxid
		want     string
	}{
		{z(2, 2), "DIFF []"},
		{z(1, 2), "DIFF [0x200000001..0x200000002 (2)]"},
		{0, "DIFF [0x100000001..0x200000002 (4)]"},
		{z(1, 3), "TRUNC 0x100000002 [0x200000001..0x200000002 (2)]"}, // dead branch
		{z(2, 5), "TRUNC 0x200000002 []"},                             // ahead, uncommitted
	} {
		_, rd := leader3(t, cfg, tc.follower, z(2, 2))
		var to2 []string
		for _, m := range rd.Messages {
			if m.To == 2 {
				to2 = append(to2, m.String())
			}
		}
		want := []string{"1->2 " + tc.want, "1->2 NEWLEADER e3 0x200000002"}
		if !slices.Equal(to2, want) || rd.CurrentEpoch != 3 {
			t.Errorf("follower at %s: got %q, want %q (currentEpoch %d)", tc.follower, to2, want, rd.CurrentEpoch)
		}
	}
}

func TestLeaderSnapWhenCompacted(t *testing.T) {
	log := &memLog{start: z(1, 2), entries: ents(z(1, 3))}
	cfg := Config{AcceptedEpoch: 1, CurrentEpoch: 1, LastLogged: z(1, 3), Applied: z(1, 3), Log: log}
	n, rd := leader3(t, cfg, z(1, 1), z(1, 3))
	if !slices.Equal(rd.NeedSnapshot, []int64{2}) {
		t.Fatalf("NeedSnapshot = %v (%s)", rd.NeedSnapshot, msgs(rd))
	}
	if err := n.SendSnapshot(3, Snapshot{Zxid: z(1, 2)}); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("snapshot for a follower that needs none: %v", err)
	}
	if err := n.SendSnapshot(2, Snapshot{Zxid: z(1, 2), Data: []byte("s")}); err != nil {
		t.Fatal(err)
	}
	if got := msgs(n.Ready()); got != "1->2 SNAP snap@0x100000002 [0x100000003]; 1->2 NEWLEADER e2 0x100000003" {
		t.Fatalf("got %q", got)
	}
}

// established returns a leader of epoch 2 in broadcast with 2 and 3 synced.
func established(t testing.TB) *Node {
	t.Helper()
	n, rd := leader3(t, Config{AcceptedEpoch: 1, CurrentEpoch: 1}, 0, 0)
	persist(n, rd)
	n.Step(Message{Type: MsgAckNewLeader, From: 2, Epoch: 2})
	rd = n.Ready()
	if !rd.RoleChanged || rd.Role != Leading || msgs(rd) != "1->2 UPTODATE 0x0" {
		t.Fatalf("not established: %s %+v", msgs(rd), rd)
	}
	n.Step(Message{Type: MsgAckNewLeader, From: 3, Epoch: 2})
	n.Ready()
	return n
}

func TestLeaderCommitsOnQuorumInOrder(t *testing.T) {
	n := established(t)
	var rds []Ready
	for _, d := range []string{"a", "b", "c"} {
		if _, err := n.Propose([]byte(d)); err != nil {
			t.Fatal(err)
		}
		rds = append(rds, n.Ready())
	}
	if got := msgs(rds[0]); got != `1->2 PROPOSAL 0x200000001 "a"; 1->3 PROPOSAL 0x200000001 "a"` {
		t.Fatalf("proposal: %q", got)
	}
	// A follower's ACK alone is not a quorum while the leader has not fsynced.
	n.Step(Message{Type: MsgAck, From: 2, Epoch: 2, Zxid: z(2, 3)})
	if rd := n.Ready(); len(rd.Commit) != 0 {
		t.Fatalf("committed without a quorum: %+v", rd.Commit)
	}
	persist(n, rds[1]) // the leader's log is durable up to b
	rd := n.Ready()
	if len(rd.Commit) != 2 || msgs(rd) != "1->2 COMMIT 0x200000002; 1->3 COMMIT 0x200000002" {
		t.Fatalf("commit through b: %s %+v", msgs(rd), rd.Commit)
	}
	n.Step(Message{Type: MsgAck, From: 3, Epoch: 2, Zxid: z(2, 3)})
	if rd := n.Ready(); len(rd.Commit) != 1 || rd.Commit[0].Zxid != z(2, 3) {
		t.Fatalf("commit c: %+v", rd.Commit)
	}
}

// TestLeaderKeepsLeadingOnEarlyAck: ZOOKEEPER-4685.
func TestLeaderKeepsLeadingOnEarlyAck(t *testing.T) {
	n, rd := leader3(t, Config{AcceptedEpoch: 1, CurrentEpoch: 1}, 0, 0)
	persist(n, rd)
	n.Step(Message{Type: MsgAck, From: 2, Epoch: 2, Zxid: 0})
	n.Step(Message{Type: MsgAckNewLeader, From: 2, Epoch: 2})
	rd = n.Ready()
	if rd.Lost || rd.Role != Leading {
		t.Fatalf("early ACK: %+v", rd)
	}
}

func TestLeaderGivesUpWhenFollowerAhead(t *testing.T) {
	n := New(Config{ID: 1, Voters: []int64{1, 2, 3}, AcceptedEpoch: 1, CurrentEpoch: 1, LastLogged: z(1, 1), Log: &memLog{entries: ents(z(1, 1))}})
	n.Lead()
	n.Step(Message{Type: MsgFollowerInfo, From: 2, Epoch: 1, Zxid: z(1, 2)})
	persist(n, n.Ready())
	n.Step(Message{Type: MsgAckEpoch, From: 2, Epoch: 1, Zxid: z(1, 2)})
	if rd := n.Ready(); !rd.Lost {
		t.Fatalf("a leader behind a follower must give up: %+v", rd)
	}
}

func TestLeaderLivenessTicks(t *testing.T) {
	n := established(t) // syncLimit 5
	for i := 0; i < 4; i++ {
		n.Tick()
		n.Step(Message{Type: MsgPing, From: 2, Sessions: []int64{int64(i)}})
	}
	rd := n.Ready()
	if rd.Lost || len(rd.Touched) != 4 {
		t.Fatalf("%+v", rd)
	}
	n.Tick() // 3 silent for 5 ticks: dropped; 2 keeps the quorum
	if rd := n.Ready(); rd.Lost || !slices.Equal(n.Status().Followers, []int64{2}) {
		t.Fatalf("after dropping 3: %+v %v", rd, n.Status().Followers)
	}
	for i := 0; i < 5; i++ {
		n.Tick()
	}
	if rd := n.Ready(); !rd.Lost || n.Status().Role != Looking {
		t.Fatalf("leader without a quorum did not step down: %+v", rd)
	}
}

func TestLeaderStepsDownForFollowerWithNewerEpoch(t *testing.T) {
	n := established(t)
	n.Step(Message{Type: MsgFollowerInfo, From: 3, Epoch: 2}) // 3 acked epoch 2 to us: rejoin
	if got := msgs(n.Ready()); got != "1->3 LEADERINFO e2 rejoin" {
		t.Fatalf("rejoin: %q", got)
	}
	n.Step(Message{Type: MsgFollowerInfo, From: 3, Epoch: 3})
	if rd := n.Ready(); !rd.Lost {
		t.Fatalf("follower with a newer accepted epoch: %+v", rd)
	}
}

func TestMessageStringAndCodec(t *testing.T) {
	m := Message{Type: MsgProposal, From: 1, To: 2, Epoch: 1, Zxid: z(1, 5), Data: []byte("x"),
		Entries: ents(z(1, 1)), Snapshot: &Snapshot{Zxid: z(1, 1)}, Sessions: []int64{7}, ID: 3, Rejoin: true}
	if got := m.String(); got != `1->2 PROPOSAL 0x100000005 "x"` {
		t.Fatalf("String = %q", got)
	}
	if got := (Message{Type: MsgAck, From: 2, To: 1, Zxid: z(1, 5)}).String(); got != "2->1 ACK 0x100000005" {
		t.Fatalf("String = %q", got)
	}
	var buf bytes.Buffer
	h := &codec.MsgpackHandle{}
	if err := codec.NewEncoder(&buf, h).Encode(m); err != nil {
		t.Fatal(err)
	}
	var back Message
	if err := codec.NewDecoder(&buf, h).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v %+v", back, *back.Snapshot) != fmt.Sprintf("%+v %+v", m, *m.Snapshot) {
		t.Fatalf("round trip:\n%+v\n%+v", back, m)
	}
	for typ := MsgFollowerInfo; typ <= MsgSyncReply; typ++ {
		if p, ok := ParseMsgType(typ.String()); !ok || p != typ {
			t.Errorf("ParseMsgType(%s)", typ)
		}
	}
}

// BenchmarkBroadcast measures the pure core: a leader proposing, two
// followers appending and acking, commits flowing back, one fsync per txn.
func BenchmarkBroadcast(b *testing.B) {
	l := established(b)
	data := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		zx, _ := l.Propose(data)
		rd := l.Ready()
		persist(l, rd)
		l.Step(Message{Type: MsgAck, From: 2, Epoch: 2, Zxid: zx})
		if rd := l.Ready(); len(rd.Commit) != 1 {
			b.Fatalf("no commit: %+v", rd)
		}
	}
}

// A follower often decides before its leader does; its FOLLOWERINFO must not
// be lost while the leader is still electing (it would stall discovery until
// initLimit), and a follower without LEADERINFO repeats it every tick.
func TestFollowerInfoBeforeLeadIsKept(t *testing.T) {
	l := New(Config{ID: 1, Voters: []int64{1, 2, 3}, TickInitLimit: 10, TickSyncLimit: 5, Log: &memLog{}})
	if err := l.Step(Message{Type: MsgFollowerInfo, From: 2, To: 1}); err != nil {
		t.Fatal(err)
	}
	l.Lead()
	rd := l.Ready()
	if rd.AcceptedEpoch != 1 {
		t.Fatalf("leader with an early FOLLOWERINFO should fix epoch 1 at once: %+v", rd)
	}
	if got := msgs(rd); !strings.Contains(got, "LEADERINFO") {
		t.Fatalf("no LEADERINFO for the early follower: %s", got)
	}

	f := New(Config{ID: 2, Voters: []int64{1, 2, 3}, TickInitLimit: 10, TickSyncLimit: 5, Log: &memLog{}})
	f.Follow(1)
	f.Ready()
	f.Tick()
	if got := msgs(f.Ready()); !strings.Contains(got, "FOLLOWERINFO") {
		t.Fatalf("follower did not repeat FOLLOWERINFO on tick: %q", got)
	}
}
