package tree

import (
	"bytes"
	"flag"
	"math/rand"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

var long = flag.Bool("long", false, "run the long property tests")

// gen makes a random but seed-determined txn stream over a small path pool,
// so creates, deletes and failures all happen often.
type gen struct {
	r    *rand.Rand
	time int64
}

func (g *gen) path() string {
	names := []string{"a", "b", "c", "d"}
	var b strings.Builder
	for i := 0; i <= g.r.Intn(3); i++ {
		b.WriteString("/" + names[g.r.Intn(len(names))])
	}
	return b.String()
}

func (g *gen) op() Op {
	acls := [][]jute.ACL{jute.OpenACLUnsafe, jute.ReadACLUnsafe, jute.CreatorAllACL,
		{{Perms: jute.PermAll, ID: jute.Id{Scheme: "ip", ID: "10.0.0.0/8"}}}}
	data := []byte(strings.Repeat("v", g.r.Intn(20)))
	if g.r.Intn(5) == 0 {
		data = nil
	}
	switch g.r.Intn(9) {
	case 0, 1, 2:
		return Op{Type: jute.OpCreate, Path: g.path(), Data: data, ACL: acls[g.r.Intn(len(acls))], Flags: int32(g.r.Intn(4))}
	case 3:
		return Op{Type: jute.OpCreateContainer, Path: g.path(), Data: data, ACL: jute.OpenACLUnsafe}
	case 4:
		return Op{Type: jute.OpCreateTTL, Path: g.path(), ACL: jute.OpenACLUnsafe, Flags: 5 + int32(g.r.Intn(2)), TTL: int64(1 + g.r.Intn(50))}
	case 5, 6:
		return Op{Type: jute.OpDelete, Path: g.path(), Version: -1}
	case 7:
		return Op{Type: jute.OpSetData, Path: g.path(), Data: data, Version: int32(g.r.Intn(3) - 1)}
	default:
		return Op{Type: jute.OpSetACL, Path: g.path(), ACL: acls[g.r.Intn(len(acls))], Version: -1}
	}
}

func (g *gen) txn() *Txn {
	g.time += int64(g.r.Intn(20))
	t := &Txn{Session: int64(g.r.Intn(4)), Time: g.time}
	if g.r.Intn(2) == 0 {
		t.Auth = []jute.Id{{Scheme: "digest", ID: jute.DigestID("u", "p")}, {Scheme: "ip", ID: "10.1.2.3"}}
	}
	switch n := g.r.Intn(40); {
	case n < 4:
		t.Session = int64(1 + g.r.Intn(3))
		t.Op = Op{Type: jute.OpCreateSession, Timeout: int32(1000 * (1 + g.r.Intn(30)))}
	case n == 4:
		t.Op = Op{Type: jute.OpCloseSession}
	case n == 5:
		t.Session = 0
		t.Op = Op{Type: jute.OpDeleteContainer, Path: g.path()}
	case n < 11:
		ops := make([]Op, 1+g.r.Intn(4))
		for i := range ops {
			ops[i] = g.op()
			if ops[i].Type == jute.OpSetACL {
				ops[i] = Op{Type: jute.OpCheck, Path: g.path(), Version: -1}
			}
		}
		t.Op = Op{Type: jute.OpMulti, Ops: ops}
	default:
		t.Op = g.op()
	}
	return t
}

func (g *gen) txns(n int) []*Txn {
	out := make([]*Txn, n)
	for i := range out {
		out[i] = g.txn()
	}
	return out
}

func applyAll(tr *Tree, from zxid.Zxid, txns []*Txn) zxid.Zxid {
	z := from
	for _, t := range txns {
		z++
		tr.Apply(z, t)
	}
	return z
}

// snapshotDuring begins a snapshot after head, writes it in chunks of
// chunk nodes while applying all of tail, and returns the stream.
func snapshotDuring(t *testing.T, tr *Tree, z zxid.Zxid, tail []*Txn, chunk int) []byte {
	t.Helper()
	s := tr.BeginSnapshot()
	var buf bytes.Buffer
	done := false
	for i := 0; !done || i < len(tail); i++ {
		if i < len(tail) {
			z++
			tr.Apply(z, tail[i])
		}
		if !done {
			var err error
			if done, err = s.WriteChunk(&buf, chunk); err != nil {
				t.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

func checkSnapshotSeed(t *testing.T, seed int64, head, tailN, chunk int) {
	g := &gen{r: rand.New(rand.NewSource(seed)), time: now}
	// Sessions 1..3 exist from the start so ephemerals happen.
	var all []*Txn
	for id := int64(1); id <= 3; id++ {
		all = append(all, &Txn{Session: id, Op: Op{Type: jute.OpCreateSession, Timeout: 5000}})
	}
	all = append(all, g.txns(head+tailN)...)
	headTxns, tail := all[:len(all)-tailN], all[len(all)-tailN:]

	straight := New()
	zEnd := applyAll(straight, 0, all)
	twin := New()
	applyAll(twin, 0, all)
	if twin.Digest() != straight.Digest() || dump(twin) != dump(straight) {
		t.Fatalf("seed %d: two trees from the same txns differ", seed)
	}

	atSnap := New()
	zSnap := applyAll(atSnap, 0, headTxns)

	live := New()
	applyAll(live, 0, headTxns)
	// Apply only part of the tail while writing, so both "writes during" and
	// "writes after" are covered, then the rest.
	during := tail[:len(tail)/2]
	stream := snapshotDuring(t, live, zSnap, during, chunk)
	applyAll(live, zSnap+zxid.Zxid(len(during)), tail[len(during):])
	if live.Digest() != straight.Digest() || dump(live) != dump(straight) {
		t.Fatalf("seed %d: snapshotting changed the live tree", seed)
	}

	restored, err := Restore(bytes.NewReader(stream))
	if err != nil {
		t.Fatalf("seed %d: restore: %v", seed, err)
	}
	if restored.LastZxid() != zSnap || restored.Digest() != atSnap.Digest() || dump(restored) != dump(atSnap) {
		t.Fatalf("seed %d: restored tree is not the tree at %v:\n%s\nwant\n%s", seed, zSnap, dump(restored), dump(atSnap))
	}
	if restored.NodeCount() != atSnap.NodeCount() || restored.ApproxDataSize() != atSnap.ApproxDataSize() ||
		restored.EphemeralCount() != atSnap.EphemeralCount() {
		t.Fatalf("seed %d: restored counters differ", seed)
	}
	applyAll(restored, zSnap, tail)
	if restored.LastZxid() != zEnd || restored.Digest() != straight.Digest() || dump(restored) != dump(straight) {
		t.Fatalf("seed %d: snapshot + tail differs from straight apply", seed)
	}
}

func TestSnapshotProperty(t *testing.T) {
	seeds, n := int64(40), 400
	if *long {
		seeds, n = 400, 3000
	}
	for seed := int64(1); seed <= seeds; seed++ {
		checkSnapshotSeed(t, seed, n, n/2, 1+int(seed%7))
	}
}

func TestDigestDeterministic(t *testing.T) {
	g1 := &gen{r: rand.New(rand.NewSource(7)), time: now}
	txns := g1.txns(500)
	a, b := New(), New()
	applyAll(a, 0, txns)
	applyAll(b, 0, txns)
	if a.Digest() != b.Digest() {
		t.Fatal("same txns, different digests")
	}
	// One txn different: a successful create of a fresh path.
	c := New()
	changed := append(append([]*Txn{}, txns[:250]...), &Txn{Op: createOp("/fresh", 0)})
	changed = append(changed, txns[251:]...)
	applyAll(c, 0, changed)
	if c.Digest() == a.Digest() {
		t.Fatal("different txns, same digest")
	}
	// Same data, different stat (the zxid) changes the digest too.
	x, y := New(), New()
	x.Apply(1, &Txn{Op: createOp("/a", 0)})
	y.Apply(2, &Txn{Op: createOp("/a", 0)})
	if x.Digest() == y.Digest() {
		t.Fatal("czxid not in digest")
	}
}

func TestSnapshotCopyOnWrite(t *testing.T) {
	h := newHarness(t)
	h.session(9)
	for _, p := range []string{"/a", "/b", "/c", "/a/x"} {
		h.create(p)
	}
	h.must(Txn{Session: 9, Op: createOp("/e", jute.ModeEphemeral)})
	want := dump(h.tr)
	zSnap := h.z
	s := h.tr.BeginSnapshot()
	if s.Zxid() != zSnap {
		t.Fatalf("snapshot zxid %v", s.Zxid())
	}
	var buf bytes.Buffer
	if done, err := s.WriteChunk(&buf, 2); done || err != nil {
		t.Fatal(done, err)
	}
	// Deletes free slots that creates reuse; set/ACL changes; a new session;
	// the session owning /e closes.
	h.must(Txn{Op: Op{Type: jute.OpDelete, Path: "/a/x", Version: -1}})
	h.must(Txn{Op: Op{Type: jute.OpDelete, Path: "/c", Version: -1}})
	h.create("/new1")
	h.create("/new2")
	h.create("/new3")
	h.must(Txn{Op: Op{Type: jute.OpSetData, Path: "/b", Data: []byte("changed"), Version: -1}})
	h.must(Txn{Op: Op{Type: jute.OpSetACL, Path: "/a", ACL: jute.ReadACLUnsafe, Version: -1}})
	h.must(Txn{Session: 9, Op: Op{Type: jute.OpCloseSession}})
	h.session(10)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("second BeginSnapshot did not panic")
			}
		}()
		h.tr.BeginSnapshot()
	}()
	for done := false; !done; {
		var err error
		if done, err = s.WriteChunk(&buf, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.WriteChunk(&buf, 1); err == nil {
		t.Fatal("write after done")
	}
	got, err := Restore(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if dump(got) != want || got.LastZxid() != zSnap {
		t.Fatalf("restored:\n%s\nwant\n%s", dump(got), want)
	}
	// Finished: a new snapshot may begin; Abort frees it too.
	h.tr.BeginSnapshot().Abort()
	h.tr.BeginSnapshot().Abort()
}

func TestRestoreRejectsCorruption(t *testing.T) {
	h := newHarness(t)
	h.create("/a")
	h.must(Txn{Op: Op{Type: jute.OpSetData, Path: "/a", Data: []byte("hello-world"), Version: -1}})
	var buf bytes.Buffer
	s := h.tr.BeginSnapshot()
	for done := false; !done; {
		done, _ = s.WriteChunk(&buf, 100)
	}
	good := buf.Bytes()
	if _, err := Restore(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(good, []byte("hello-world"), []byte("hello-wOrld"), 1)
	if _, err := Restore(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("corrupt data: %v", err)
	}
	if _, err := Restore(bytes.NewReader(good[:len(good)-3])); err == nil {
		t.Fatal("truncated stream restored")
	}
	if _, err := Restore(bytes.NewReader([]byte("nope"))); err == nil {
		t.Fatal("garbage restored")
	}
}

func TestWalkVisitsEveryNode(t *testing.T) {
	tr := New()
	seen := map[string]int32{}
	tr.Walk(func(p string, st jute.Stat) bool { seen[p] = st.DataLength; return true })
	if len(seen) != tr.NodeCount() || len(seen) != 4 {
		t.Fatalf("walk saw %v, NodeCount %d", seen, tr.NodeCount())
	}
	n := 0
	tr.Walk(func(string, jute.Stat) bool { n++; return false })
	if n != 1 {
		t.Fatalf("walk did not stop: %d calls", n)
	}
}
