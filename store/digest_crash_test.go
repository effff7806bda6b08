package store_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"

	"github.com/zabkeeper/zabkeeper/internal/crashfs"
	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/store"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// TestCrashDigest drives a tree and the store together the way a standalone
// server does (append and sync a batch, then apply and acknowledge it;
// snapshot the tree into the store every few txns while writes go on),
// cuts the power at random points, recovers as the server does (newest valid
// snapshot, then the log after it) and proves the recovered tree is exactly
// the tree of the txns that survived, which include every acknowledged one.

var digestRuns = flag.Int("store.digestruns", 200, "seeded runs of TestCrashDigest")
var digestSeed = flag.Int64("store.digestseed", 0, "run only this seed of TestCrashDigest")

// digestStats show the runs reach the interesting places.
var digestStats struct {
	crashes, midOp, midSnap, acked, ackChecks, fromSnap, replayed, snapsTaken, noSnap atomic.Int64
}

// logged is one txn the store accepted, in log order.
type logged struct {
	z    zxid.Zxid
	data []byte
}

// openSnap is a snapshot being streamed into the store between write batches.
type openSnap struct {
	snap *tree.Snapshot
	w    *store.SnapshotWriter
}

type digestRun struct {
	t           *testing.T
	seed        int64
	rng         *rand.Rand
	fs          *crashfs.FS
	opts        store.Options
	st          *store.Store
	live        *tree.Tree
	history     []logged  // every accepted txn since the start, minus tails lost in crashes
	acked       zxid.Zxid // newest txn acknowledged to a "client"
	ackedBefore int       // acknowledged txns checked by earlier recoveries
	snapMin     zxid.Zxid // newest snapshot committed while the power was on
	next        zxid.Zxid
	clock       int64
	snap        *openSnap
	since       int // txns since the last snapshot began
	every       int // snapshot every this many txns
	sess        int64
}

func TestCrashDigest(t *testing.T) {
	first, n := int64(1), int64(*digestRuns)
	if *digestSeed != 0 {
		first, n = *digestSeed, 1
	}
	if testing.Short() {
		n = min(n, 10)
	}
	for seed := first; seed < first+n; seed++ {
		runDigest(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d failed; rerun with -store.digestseed=%d", seed, seed)
		}
	}
	s := &digestStats
	t.Logf("%d runs, %d crashes (%d in mid-operation, %d while a snapshot was streaming); "+
		"%d acknowledged txns proven present after every later crash (%d checks); %d recoveries from a snapshot (%d without one), "+
		"%d txns replayed from the log; %d snapshots taken",
		n, s.crashes.Load(), s.midOp.Load(), s.midSnap.Load(), s.acked.Load(), s.ackChecks.Load(), s.fromSnap.Load(),
		s.noSnap.Load(), s.replayed.Load(), s.snapsTaken.Load())
}

func runDigest(t *testing.T, seed int64) {
	r := &digestRun{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), fs: crashfs.New(),
		clock: 1_700_000_000_000}
	r.opts = store.Options{Dir: "/data", LogDir: "/wal", FS: r.fs, SnapRetain: 1 + r.rng.Intn(3)}
	r.every = 5 + r.rng.Intn(60)
	r.open()
	r.live = tree.New()
	r.newEpoch()
	for life, lives := 0, 2+r.rng.Intn(3); life < lives && !t.Failed(); life++ {
		r.fs.Arm(1 + r.rng.Int63n(400))
		for i, steps := 0, 10+r.rng.Intn(150); i < steps && !t.Failed(); i++ {
			r.step()
		}
		r.crash()
		r.open()
		r.recoverAndVerify()
		r.newEpoch()
	}
	_ = r.st.Close()
}

func (r *digestRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d: "+format, append([]any{r.seed}, args...)...)
}

func (r *digestRun) open() {
	st, err := store.Open(r.opts)
	if err != nil {
		r.fatalf("open: %v", err)
	}
	r.st = st
}

// powered reports whether an operation that just returned happened before
// the power cut, so its durability promise holds.
func (r *digestRun) powered() bool { return !r.fs.Frozen() }

// newEpoch starts a new epoch as a restarted standalone server does.
func (r *digestRun) newEpoch() {
	ep := max(r.st.CurrentEpoch(), r.st.LastZxid().Epoch()) + 1
	if err := r.st.SetAcceptedEpoch(ep); err != nil {
		r.fatalf("accepted epoch: %v", err)
	}
	if err := r.st.SetCurrentEpoch(ep); err != nil {
		r.fatalf("current epoch: %v", err)
	}
	r.next = zxid.New(ep, 1)
}

// step is one write batch, then a bit of snapshot streaming.
func (r *digestRun) step() {
	r.writeBatch(1 + r.rng.Intn(5))
	if r.snap == nil && r.since >= r.every {
		r.beginSnapshot()
	}
	if r.snap != nil {
		r.streamSnapshot(1 + r.rng.Intn(40))
	}
}

// writeBatch logs n txns durably (group commit), then applies them: the
// order in which a server may acknowledge them.
func (r *digestRun) writeBatch(n int) {
	txns := make([]*tree.Txn, n)
	es := make([]store.Entry, n)
	for i := range txns {
		txns[i] = r.txn()
		es[i] = store.Entry{Zxid: r.next, Data: mustEntry(txns[i])}
		r.next++
	}
	var err error
	if r.rng.Intn(2) == 0 {
		err = r.st.AppendSync(es)
	} else if err = r.st.Append(es); err == nil {
		err = r.st.Sync()
	}
	if err != nil {
		r.fatalf("append %s..: %v", es[0].Zxid, err)
	}
	for _, e := range es {
		r.history = append(r.history, logged{z: e.Zxid, data: e.Data})
	}
	durable := r.powered()
	for i, txn := range txns {
		r.live.Apply(es[i].Zxid, txn)
	}
	if durable {
		r.acked = es[n-1].Zxid
	}
	r.since += n
}

func (r *digestRun) beginSnapshot() {
	snap := r.live.BeginSnapshot()
	w, err := r.st.CreateSnapshot(snap.Zxid())
	if err != nil {
		r.fatalf("create snapshot %s: %v", snap.Zxid(), err)
	}
	r.snap, r.since = &openSnap{snap: snap, w: w}, 0
}

func (r *digestRun) streamSnapshot(nodes int) {
	s := r.snap
	done, err := s.snap.WriteChunk(s.w, nodes)
	if err != nil {
		r.fatalf("write snapshot %s: %v", s.snap.Zxid(), err)
	}
	if !done {
		return
	}
	r.snap = nil
	if r.rng.Intn(10) == 0 {
		s.w.Abort()
		return
	}
	if _, err := s.w.Commit(); err != nil {
		r.fatalf("commit snapshot %s: %v", s.snap.Zxid(), err)
	}
	digestStats.snapsTaken.Add(1)
	if r.powered() {
		r.snapMin = max(r.snapMin, s.snap.Zxid())
	}
}

// crash cuts the power (if the countdown has not yet) and throws away
// everything not synced, the live tree and any snapshot in flight.
func (r *digestRun) crash() {
	digestStats.crashes.Add(1)
	if r.fs.Frozen() {
		digestStats.midOp.Add(1)
	}
	if r.snap != nil {
		digestStats.midSnap.Add(1)
		r.snap.snap.Abort()
		r.snap = nil
	}
	r.fs.Freeze()
	_ = r.st.Close()
	r.fs.Restart()
	r.live = nil
}

// recoverAndVerify rebuilds the tree as the server does and checks it
// against a tree built from exactly the surviving txns.
func (r *digestRun) recoverAndVerify() {
	got, snapZ := r.restoreSnapshot()
	last := r.st.LastZxid()
	k := r.historyIndex(last)
	if last < r.acked {
		r.fatalf("acknowledged txn %s lost: the store ends at %s", r.acked, last)
	}
	if snapZ < r.snapMin {
		r.fatalf("recovered snapshot %s older than %s, committed before the crash", snapZ, r.snapMin)
	}
	r.replayTail(got, snapZ, last, k)
	want := tree.New()
	for _, h := range r.history[:k] {
		want.Apply(h.z, r.decode(h))
	}
	if got.LastZxid() != last || want.LastZxid() != last {
		r.fatalf("recovered tree at %s, replayed tree at %s, store at %s", got.LastZxid(), want.LastZxid(), last)
	}
	if got.Digest() != want.Digest() || got.NodeCount() != want.NodeCount() ||
		fmt.Sprint(got.Sessions()) != fmt.Sprint(want.Sessions()) {
		r.fatalf("recovered tree (snapshot %s + log to %s) digest %x, %d nodes, sessions %v; "+
			"replay of the %d surviving txns gives %x, %d nodes, sessions %v", snapZ, last, got.Digest(),
			got.NodeCount(), got.Sessions(), k, want.Digest(), want.NodeCount(), want.Sessions())
	}
	acked := r.ackedCount(k)
	digestStats.ackChecks.Add(int64(acked))
	digestStats.acked.Add(int64(acked - r.ackedBefore))
	r.ackedBefore = acked
	// What survived is the new truth: the lost tail was never acknowledged.
	r.history = r.history[:k]
	r.live = got
	r.snapMin = snapZ
	r.since = 0
}

// restoreSnapshot loads the newest valid snapshot, or an empty tree.
func (r *digestRun) restoreSnapshot() (*tree.Tree, zxid.Zxid) {
	z, rc, err := r.st.LatestSnapshot()
	if errors.Is(err, store.ErrNoSnapshot) {
		digestStats.noSnap.Add(1)
		return tree.New(), 0
	}
	if err != nil {
		r.fatalf("latest snapshot: %v", err)
	}
	defer rc.Close()
	t, err := tree.Restore(rc)
	if err != nil {
		r.fatalf("restore snapshot %s: %v", z, err)
	}
	if t.LastZxid() != z {
		r.fatalf("snapshot %s restores a tree at %s", z, t.LastZxid())
	}
	if z != 0 {
		r.historyIndex(z) // a snapshot's zxid must be one we logged
	}
	digestStats.fromSnap.Add(1)
	return t, z
}

// replayTail applies the log after the snapshot, checking that it is exactly
// the accepted txns (snapZ, last], in order, with their bytes, no holes.
func (r *digestRun) replayTail(t *tree.Tree, snapZ, last zxid.Zxid, k int) {
	es, err := r.st.Entries(snapZ+1, last, 0)
	if err != nil {
		r.fatalf("read log after %s: %v", snapZ, err)
	}
	from := k - len(es)
	if from < 0 || (snapZ == 0 && from != 0) || (snapZ != 0 && (from == 0 || r.history[from-1].z != snapZ)) {
		r.fatalf("log after snapshot %s holds %d entries up to %s: holes or strays", snapZ, len(es), last)
	}
	for i, e := range es {
		h := r.history[from+i]
		if e.Zxid != h.z || !bytes.Equal(e.Data, h.data) {
			r.fatalf("log entry %d after snapshot %s is %s (%dB), logged was %s (%dB)", i, snapZ,
				e.Zxid, len(e.Data), h.z, len(h.data))
		}
		txn, err := tree.DecodeEntry(e.Data)
		if err != nil {
			r.fatalf("decode %s: %v", e.Zxid, err)
		}
		t.Apply(e.Zxid, txn)
	}
	digestStats.replayed.Add(int64(len(es)))
}

// historyIndex is how many accepted txns have zxids <= z; z must be one of
// them (or 0).
func (r *digestRun) historyIndex(z zxid.Zxid) int {
	if z == 0 {
		return 0
	}
	lo, hi := 0, len(r.history)
	for lo < hi {
		m := (lo + hi) / 2
		if r.history[m].z < z {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(r.history) || r.history[lo].z != z {
		r.fatalf("zxid %s was never logged", z)
	}
	return lo + 1
}

func (r *digestRun) ackedCount(k int) int {
	n := 0
	for _, h := range r.history[:k] {
		if h.z <= r.acked {
			n++
		}
	}
	return n
}

func (r *digestRun) decode(h logged) *tree.Txn {
	txn, err := tree.DecodeEntry(h.data)
	if err != nil {
		r.fatalf("decode %s: %v", h.z, err)
	}
	return txn
}

// --- txn generation: sessions, creates of every kind, sets, deletes, ACL
// changes, multi; aimed at nodes that exist so most txns succeed.

var (
	digestAuth = []jute.Id{{Scheme: "digest", ID: jute.DigestID("u", "p")}}
	digestACLs = [][]jute.ACL{jute.OpenACLUnsafe, jute.OpenACLUnsafe, jute.CreatorAllACL, jute.ReadACLUnsafe}
	digestName = []string{"a", "b", "c", "d", "e", "f"}
)

func (r *digestRun) txn() *tree.Txn {
	r.clock += int64(r.rng.Intn(50))
	t := &tree.Txn{Session: r.someSession(), Cxid: int32(r.rng.Intn(1000)), Time: r.clock, Auth: digestAuth}
	switch n := r.rng.Intn(30); {
	case n < 2 || len(r.live.Sessions()) == 0:
		r.sess++
		t.Session = r.seed<<20 | r.sess
		t.Op = tree.Op{Type: jute.OpCreateSession, Timeout: int32(2000 + r.rng.Intn(30000))}
	case n == 2:
		t.Op = tree.Op{Type: jute.OpCloseSession}
	case n == 3:
		t.Session = 0
		t.Op = tree.Op{Type: jute.OpDeleteContainer, Path: r.somePath()}
	case n < 8:
		ops := make([]tree.Op, 1+r.rng.Intn(4))
		for i := range ops {
			if ops[i] = r.op(); ops[i].Type == jute.OpSetACL {
				ops[i] = tree.Op{Type: jute.OpCheck, Path: r.somePath(), Version: -1}
			}
		}
		t.Op = tree.Op{Type: jute.OpMulti, Ops: ops}
	default:
		t.Op = r.op()
	}
	return t
}

func (r *digestRun) someSession() int64 {
	ss := r.live.Sessions()
	if len(ss) == 0 || r.rng.Intn(8) == 0 {
		return 0
	}
	return ss[r.rng.Intn(len(ss))].ID
}

// somePath walks down from the root through existing children.
func (r *digestRun) somePath() string {
	p := "/"
	for d := 0; d < 4; d++ {
		kids, _, err := r.live.Children(p, digestAuth)
		if err != nil || len(kids) == 0 || r.rng.Intn(3) == 0 {
			break
		}
		c := kids[r.rng.Intn(len(kids))]
		if p == "/" && c == "zookeeper" {
			break
		}
		p = childOf(p, c)
	}
	return p
}

func childOf(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

func (r *digestRun) data() []byte {
	if r.rng.Intn(6) == 0 {
		return nil
	}
	b := make([]byte, r.rng.Intn(64))
	r.rng.Read(b)
	return b
}

func (r *digestRun) op() tree.Op {
	p := r.somePath()
	child := childOf(p, digestName[r.rng.Intn(len(digestName))])
	acl := digestACLs[r.rng.Intn(len(digestACLs))]
	switch r.rng.Intn(12) {
	case 0, 1, 2:
		return tree.Op{Type: jute.OpCreate, Path: child, Data: r.data(), ACL: acl, Flags: int32(r.rng.Intn(4))}
	case 3:
		return tree.Op{Type: jute.OpCreate2, Path: child, Data: r.data(), ACL: acl, Flags: int32(r.rng.Intn(4))}
	case 4:
		return tree.Op{Type: jute.OpCreateContainer, Path: child, Data: r.data(), ACL: jute.OpenACLUnsafe,
			Flags: jute.ModeContainer}
	case 5:
		return tree.Op{Type: jute.OpCreateTTL, Path: child, Data: r.data(), ACL: jute.OpenACLUnsafe,
			Flags: jute.ModePersistentWithTTL + int32(r.rng.Intn(2)), TTL: int64(1 + r.rng.Intn(5000))}
	case 6, 7:
		return tree.Op{Type: jute.OpDelete, Path: p, Version: int32(r.rng.Intn(3) - 1)}
	case 8, 9, 10:
		return tree.Op{Type: jute.OpSetData, Path: p, Data: r.data(), Version: int32(r.rng.Intn(3) - 1)}
	default:
		return tree.Op{Type: jute.OpSetACL, Path: p, ACL: acl, Version: -1}
	}
}

// mustEntry is a txn in the server's log entry form; our own txns always encode.
func mustEntry(t *tree.Txn) []byte {
	b, err := tree.EncodeEntry(t)
	if err != nil {
		panic(err)
	}
	return b
}
