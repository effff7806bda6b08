package tree

import (
	"errors"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

func TestNewTreeSystemNodes(t *testing.T) {
	tr := New()
	for _, tc := range []struct {
		path string
		acl  []jute.ACL
		st   jute.Stat
	}{
		{"/", jute.OpenACLUnsafe, jute.Stat{Cversion: -1, NumChildren: 1}},
		{"/zookeeper", jute.OpenACLUnsafe, jute.Stat{Cversion: -2, NumChildren: 2}},
		{"/zookeeper/quota", jute.OpenACLUnsafe, jute.Stat{}},
		{"/zookeeper/config", jute.ReadACLUnsafe, jute.Stat{Aversion: -1}},
	} {
		data, st, err := tr.GetData(tc.path, nil)
		if err != nil || data == nil || len(data) != 0 || st != tc.st {
			t.Errorf("%s: data=%v err=%v stat=%v, want empty data and %v", tc.path, data, err, st, tc.st)
		}
		acl, _, _ := tr.GetACL(tc.path, nil)
		if len(acl) != 1 || acl[0] != tc.acl[0] {
			t.Errorf("%s acl = %v, want %v", tc.path, acl, tc.acl)
		}
	}
	if tr.NodeCount() != 4 {
		t.Errorf("NodeCount = %d", tr.NodeCount())
	}
	if n, _ := tr.AllChildrenNumber("/", nil); n != 3 {
		t.Errorf("AllChildrenNumber(/) = %d, want 3", n)
	}
	if n, _ := tr.AllChildrenNumber("/zookeeper", nil); n != 2 {
		t.Errorf("AllChildrenNumber(/zookeeper) = %d, want 2", n)
	}
}

func TestStatRules(t *testing.T) {
	h := newHarness(t)
	r := h.create("/p")
	zp := h.z
	if r.Path != "/p" || r.Stat.Czxid != int64(zp) || r.Stat.Mzxid != int64(zp) || r.Stat.Pzxid != int64(zp) ||
		r.Stat.Ctime != now || r.Stat.Mtime != now || r.Stat.DataLength != 1 {
		t.Fatalf("create stat = %v", r.Stat)
	}
	h.create("/p/a")
	h.create("/p/b")
	zb := h.z
	st := h.stat("/p")
	if st.Cversion != 2 || st.NumChildren != 2 || st.Pzxid != int64(zb) || st.Mzxid != int64(zp) {
		t.Fatalf("after 2 creates: %v", st)
	}
	h.must(Txn{Op: Op{Type: jute.OpDelete, Path: "/p/a", Version: -1}})
	zd := h.z
	st = h.stat("/p")
	// cversion counts creates plus deletes; pzxid moves, mzxid does not.
	if st.Cversion != 3 || st.NumChildren != 1 || st.Pzxid != int64(zd) || st.Mzxid != int64(zp) {
		t.Fatalf("after delete: %v", st)
	}
	r = h.must(Txn{Time: now + 5, Op: Op{Type: jute.OpSetData, Path: "/p", Data: []byte("hello"), Version: 0}})
	if r.Stat.Version != 1 || r.Stat.Mzxid != int64(h.z) || r.Stat.Mtime != now+5 || r.Stat.DataLength != 5 ||
		r.Stat.Ctime != now || r.Stat.Czxid != int64(zp) {
		t.Fatalf("setData stat = %v", r.Stat)
	}
	r = h.must(Txn{Op: Op{Type: jute.OpSetACL, Path: "/p", ACL: jute.ReadACLUnsafe, Version: 0}})
	if r.Stat.Aversion != 1 || r.Stat.Version != 1 || r.Stat.Mzxid != int64(h.z-1) {
		t.Fatalf("setACL stat = %v", r.Stat)
	}
	if len(r.Events) != 0 {
		t.Fatalf("setACL fired %s", events(r))
	}
}

func TestNullAndEmptyData(t *testing.T) {
	h := newHarness(t)
	h.must(Txn{Op: Op{Type: jute.OpCreate, Path: "/null", ACL: jute.OpenACLUnsafe}})
	h.must(Txn{Op: Op{Type: jute.OpCreate, Path: "/empty", Data: []byte{}, ACL: jute.OpenACLUnsafe}})
	d, st, _ := h.tr.GetData("/null", nil)
	if d != nil || st.DataLength != 0 {
		t.Errorf("null create: %v %v", d, st)
	}
	d, _, _ = h.tr.GetData("/empty", nil)
	if d == nil {
		t.Errorf("empty create came back null")
	}
	a, b := New(), New()
	a.Apply(1, &Txn{Op: Op{Type: jute.OpCreate, Path: "/n", ACL: jute.OpenACLUnsafe}})
	b.Apply(1, &Txn{Op: Op{Type: jute.OpCreate, Path: "/n", Data: []byte{}, ACL: jute.OpenACLUnsafe}})
	if a.Digest() == b.Digest() {
		t.Errorf("null and empty data give one digest")
	}
}

func TestSequentialNames(t *testing.T) {
	h := newHarness(t)
	h.create("/q")
	h.create("/q/other") // shares the parent's counter
	var got []string
	for i := 0; i < 3; i++ {
		r := h.must(Txn{Op: createOp("/q/job-", jute.ModePersistentSequential)})
		got = append(got, r.Path)
	}
	h.must(Txn{Op: Op{Type: jute.OpDelete, Path: got[2], Version: -1}})
	r := h.must(Txn{Op: createOp("/q/", jute.ModePersistentSequential)}) // trailing "/" allowed
	got = append(got, r.Path)
	want := []string{"/q/job-0000000001", "/q/job-0000000002", "/q/job-0000000003", "/q/0000000004"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sequential names %v, want %v", got, want)
		}
	}
	// A non-sequential create with a trailing slash fails on the final path.
	if r := h.apply(Txn{Op: createOp("/q/", 0)}); r.Err != jute.ErrBadArguments {
		t.Errorf("create /q/ = %v", r.Err)
	}
}

func TestNodeKinds(t *testing.T) {
	h := newHarness(t)
	h.session(0x100)
	eph := h.must(Txn{Session: 0x100, Op: createOp("/e", jute.ModeEphemeral)})
	if eph.Stat.EphemeralOwner != 0x100 {
		t.Errorf("ephemeral owner = %x", eph.Stat.EphemeralOwner)
	}
	es := h.must(Txn{Session: 0x100, Op: createOp("/es-", jute.ModeEphemeralSequential)})
	if es.Path != "/es-0000000001" || es.Stat.EphemeralOwner != 0x100 {
		t.Errorf("ephemeral sequential = %v %v", es.Path, es.Stat)
	}
	c := h.must(Txn{Op: Op{Type: jute.OpCreateContainer, Path: "/c", ACL: jute.OpenACLUnsafe, Flags: jute.ModeContainer}})
	ttl := h.must(Txn{Op: Op{Type: jute.OpCreateTTL, Path: "/t", ACL: jute.OpenACLUnsafe, Flags: jute.ModePersistentWithTTL, TTL: 100}})
	ts := h.must(Txn{Op: Op{Type: jute.OpCreateTTL, Path: "/ts-", ACL: jute.OpenACLUnsafe, Flags: jute.ModePersistentSequentialWithTTL, TTL: 100}})
	if c.Stat.EphemeralOwner != 0 || ttl.Stat.EphemeralOwner != 0 || ts.Path != "/ts-0000000004" {
		t.Errorf("container/ttl: %v %v %v", c.Stat, ttl.Stat, ts.Path)
	}
	// Flag 4 through plain create makes an ordinary node; any flag via 19 a container.
	h.must(Txn{Op: createOp("/flag4", jute.ModeContainer)})
	h.must(Txn{Op: Op{Type: jute.OpCreateContainer, Path: "/c2", ACL: jute.OpenACLUnsafe, Flags: jute.ModeEphemeral}})
	kinds := map[string]kind{"/e": kindEphemeral, "/c": kindContainer, "/t": kindTTL, "/flag4": kindPersistent, "/c2": kindContainer}
	for p, k := range kinds {
		if n, _ := h.tr.lookup(p); n.kind != k {
			t.Errorf("%s kind %v, want %v", p, n.kind, k)
		}
	}
	if h.tr.EphemeralCount() != 2 {
		t.Errorf("EphemeralCount = %d", h.tr.EphemeralCount())
	}
	if got := h.tr.Ephemerals(0x100, "/"); len(got) != 2 || got[0] != "/e" || got[1] != "/es-0000000001" {
		t.Errorf("Ephemerals = %v", got)
	}
	if got := h.tr.Ephemerals(0x100, "/es"); len(got) != 1 {
		t.Errorf("Ephemerals(/es) = %v", got)
	}
}

func TestCreateFlagsAndTTL(t *testing.T) {
	mk := func(op jute.OpCode, flags int32, ttl int64) Op {
		return Op{Type: op, Path: "/n", ACL: jute.OpenACLUnsafe, Flags: flags, TTL: ttl}
	}
	for _, tc := range []struct {
		name string
		op   Op
		want error
	}{
		{"flag 7", mk(jute.OpCreate, 7, 0), jute.ErrBadArguments},
		{"flag -1", mk(jute.OpCreate, -1, 0), jute.ErrBadArguments},
		{"ttl flag via create", mk(jute.OpCreate, 5, 10), jute.ErrBadArguments},
		{"ttl flag via create2", mk(jute.OpCreate2, 6, 10), jute.ErrBadArguments},
		{"ttl flag via container", mk(jute.OpCreateContainer, 5, 10), jute.ErrBadArguments},
		{"persistent via createTTL", mk(jute.OpCreateTTL, 0, 10), jute.ErrBadArguments},
		{"ttl 0", mk(jute.OpCreateTTL, 5, 0), jute.ErrBadArguments},
		{"ttl too big", mk(jute.OpCreateTTL, 5, 0x10000000000), jute.ErrBadArguments},
		{"ttl max", mk(jute.OpCreateTTL, 5, 0xFFFFFFFFFF), nil},
		{"ttl 1", mk(jute.OpCreateTTL, 6, 1), nil},
		{"ephemeral without session", mk(jute.OpCreate, 1, 0), jute.ErrSessionExpired},
	} {
		h := newHarness(t)
		if r := h.apply(Txn{Op: tc.op}); r.Err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, r.Err, tc.want)
		}
	}
}

// TestErrorPrecedence walks 8.7 one rule at a time.
func TestErrorPrecedence(t *testing.T) {
	alice := []jute.Id{{Scheme: "digest", ID: jute.DigestID("alice", "pw")}}
	aliceOnly := []jute.ACL{{Perms: jute.PermAll, ID: alice[0]}}
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		h.session(0x1)
		h.create("/open")
		h.must(Txn{Auth: alice, Op: Op{Type: jute.OpCreate, Path: "/locked", ACL: aliceOnly}})
		h.must(Txn{Auth: alice, Op: Op{Type: jute.OpCreate, Path: "/locked/child", ACL: aliceOnly}})
		h.must(Txn{Session: 0x1, Op: createOp("/eph", jute.ModeEphemeral)})
		h.create("/open/full")
		h.create("/open/full/kid")
		return h
	}
	for _, tc := range []struct {
		name string
		txn  Txn
		want error
	}{
		// create
		{"create: bad flags before session", Txn{Session: 0x99, Op: createOp("/x", 9)}, jute.ErrBadArguments},
		{"create: session before path", Txn{Session: 0x99, Op: createOp("nope", 0)}, jute.ErrSessionExpired},
		{"create: no slash", Txn{Op: createOp("nope", 0)}, jute.ErrBadArguments},
		{"create: NUL", Txn{Op: createOp("/a\x00", 0)}, jute.ErrBadArguments},
		{"create: empty ACL before parent", Txn{Op: Op{Type: jute.OpCreate, Path: "/missing/x"}}, jute.ErrInvalidACL},
		{"create: auth ACL without ids", Txn{Op: Op{Type: jute.OpCreate, Path: "/x", ACL: jute.CreatorAllACL}}, jute.ErrInvalidACL},
		{"create: missing parent beats bad final path", Txn{Op: createOp("/missing/.", 0)}, jute.ErrNoNode},
		{"create: missing parent of a/b", Txn{Op: createOp("/missing/x", 0)}, jute.ErrNoNode},
		{"create: NoAuth beats bad final path", Txn{Op: createOp("/locked/.", 0)}, jute.ErrNoAuth},
		{"create: NoAuth beats exists", Txn{Op: createOp("/locked/child", 0)}, jute.ErrNoAuth},
		{"create: bad final path", Txn{Op: createOp("/open/..", 0)}, jute.ErrBadArguments},
		{"create: exists", Txn{Op: createOp("/open", 0)}, jute.ErrNodeExists},
		{"create: root exists", Txn{Op: createOp("/", 0)}, jute.ErrNodeExists},
		{"create: exists beats ephemeral parent", Txn{Op: createOp("/eph", 0)}, jute.ErrNodeExists},
		{"create: under ephemeral", Txn{Op: createOp("/eph/x", 0)}, jute.ErrNoChildrenForEphemerals},
		{"create: digest-authed user may", Txn{Auth: alice, Op: createOp("/locked/ok", 0)}, nil},
		// delete
		{"delete: session", Txn{Session: 0x99, Op: Op{Type: jute.OpDelete, Path: "/", Version: -1}}, jute.ErrSessionExpired},
		{"delete: root", Txn{Op: Op{Type: jute.OpDelete, Path: "/", Version: -1}}, jute.ErrBadArguments},
		{"delete: /zookeeper", Txn{Op: Op{Type: jute.OpDelete, Path: "/zookeeper", Version: -1}}, jute.ErrBadArguments},
		{"delete: /zookeeper/quota", Txn{Op: Op{Type: jute.OpDelete, Path: "/zookeeper/quota", Version: -1}}, jute.ErrBadArguments},
		{"delete: /zookeeper/config", Txn{Op: Op{Type: jute.OpDelete, Path: "/zookeeper/config", Version: -1}}, jute.ErrBadArguments},
		{"delete: missing parent", Txn{Op: Op{Type: jute.OpDelete, Path: "/missing/x", Version: -1}}, jute.ErrNoNode},
		{"delete: NoAuth before missing node", Txn{Op: Op{Type: jute.OpDelete, Path: "/locked/ghost", Version: -1}}, jute.ErrNoAuth},
		{"delete: missing node", Txn{Op: Op{Type: jute.OpDelete, Path: "/open/ghost", Version: -1}}, jute.ErrNoNode},
		{"delete: version before children", Txn{Op: Op{Type: jute.OpDelete, Path: "/open/full", Version: 3}}, jute.ErrBadVersion},
		{"delete: not empty", Txn{Op: Op{Type: jute.OpDelete, Path: "/open/full", Version: 0}}, jute.ErrNotEmpty},
		{"delete: ok", Txn{Op: Op{Type: jute.OpDelete, Path: "/open/full/kid", Version: 0}}, nil},
		// setData
		{"setData: bad path", Txn{Op: Op{Type: jute.OpSetData, Path: "/open/", Version: -1}}, jute.ErrBadArguments},
		{"setData: missing", Txn{Op: Op{Type: jute.OpSetData, Path: "/ghost", Version: -1}}, jute.ErrNoNode},
		{"setData: NoAuth before version", Txn{Op: Op{Type: jute.OpSetData, Path: "/locked", Version: 7}}, jute.ErrNoAuth},
		{"setData: version", Txn{Op: Op{Type: jute.OpSetData, Path: "/open", Version: 7}}, jute.ErrBadVersion},
		{"setData: config needs WRITE", Txn{Op: Op{Type: jute.OpSetData, Path: "/zookeeper/config", Version: -1}}, jute.ErrNoAuth},
		// setACL
		{"setACL: invalid ACL before missing", Txn{Op: Op{Type: jute.OpSetACL, Path: "/ghost", ACL: []jute.ACL{{Perms: 1, ID: jute.Id{Scheme: "bogus", ID: "x"}}}, Version: -1}}, jute.ErrInvalidACL},
		{"setACL: missing", Txn{Op: Op{Type: jute.OpSetACL, Path: "/ghost", ACL: jute.OpenACLUnsafe, Version: -1}}, jute.ErrNoNode},
		{"setACL: ADMIN", Txn{Op: Op{Type: jute.OpSetACL, Path: "/locked", ACL: jute.OpenACLUnsafe, Version: 9}}, jute.ErrNoAuth},
		{"setACL: aversion", Txn{Op: Op{Type: jute.OpSetACL, Path: "/open", ACL: jute.OpenACLUnsafe, Version: 9}}, jute.ErrBadVersion},
		{"setACL: config aversion -1 matches any", Txn{Auth: []jute.Id{{Scheme: "super"}}, Op: Op{Type: jute.OpSetACL, Path: "/zookeeper/config", ACL: jute.ReadACLUnsafe, Version: -1}}, nil},
		// check and unknown ops
		{"check: NoAuth", Txn{Op: Op{Type: jute.OpCheck, Path: "/locked", Version: 0}}, jute.ErrNoAuth},
		{"check: version", Txn{Op: Op{Type: jute.OpCheck, Path: "/open", Version: 1}}, jute.ErrBadVersion},
		{"getData is no txn", Txn{Op: Op{Type: jute.OpGetData, Path: "/open"}}, jute.ErrUnimplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t)
			before := dump(h.tr)
			d := h.tr.Digest()
			r := h.apply(tc.txn)
			if r.Err != tc.want {
				t.Fatalf("%s: %v, want %v", tc.txn.String(), r.Err, tc.want)
			}
			if tc.want != nil {
				if h.tr.Digest() != d || dump(h.tr) != before {
					t.Fatalf("failed txn changed the tree")
				}
				if len(r.Events) != 0 {
					t.Fatalf("failed txn has events %s", events(r))
				}
				if h.tr.LastZxid() != h.z {
					t.Fatalf("failed txn did not advance LastZxid")
				}
			}
		})
	}
}

func TestEvents(t *testing.T) {
	h := newHarness(t)
	r := h.create("/a")
	if got := events(r); got != "NodeCreated /a, NodeChildrenChanged /" {
		t.Errorf("create events: %s", got)
	}
	r = h.must(Txn{Op: Op{Type: jute.OpSetData, Path: "/a", Version: -1}})
	if got := events(r); got != "NodeDataChanged /a" {
		t.Errorf("setData events: %s", got)
	}
	h.must(Txn{Op: Op{Type: jute.OpCreate, Path: "/a/b", ACL: jute.ReadACLUnsafe}})
	r = h.must(Txn{Op: Op{Type: jute.OpDelete, Path: "/a/b", Version: -1}})
	if got := events(r); got != "NodeDeleted /a/b, NodeChildrenChanged /a" {
		t.Errorf("delete events: %s", got)
	}
	// The deleted node's ACL filters NodeDeleted, the parent's NodeChildrenChanged.
	if r.Events[0].ACL[0] != jute.ReadACLUnsafe[0] || r.Events[1].ACL[0] != jute.OpenACLUnsafe[0] {
		t.Errorf("event ACLs: %v %v", r.Events[0].ACL, r.Events[1].ACL)
	}
}

func TestMulti(t *testing.T) {
	h := newHarness(t)
	h.create("/m")
	d := h.tr.Digest()
	before := dump(h.tr)
	multi := func(ops ...Op) Txn { return Txn{Op: Op{Type: jute.OpMulti, Ops: ops}} }
	// create, then a child of it, then a check that fails: all undone.
	r := h.apply(multi(
		createOp("/m/a", 0),
		createOp("/m/a/s-", jute.ModePersistentSequential),
		Op{Type: jute.OpSetData, Path: "/m", Data: []byte("new"), Version: -1},
		Op{Type: jute.OpDelete, Path: "/m/a/s-0000000000", Version: -1},
		Op{Type: jute.OpCheck, Path: "/m", Version: 0},
		createOp("/m/b", 0),
	))
	if r.Err != jute.ErrBadVersion || len(r.Multi) != 6 || len(r.Events) != 0 {
		t.Fatalf("failed multi: %v %v", r.Err, r.Multi)
	}
	wantCodes := []jute.Code{jute.OK, jute.OK, jute.OK, jute.OK, jute.ErrBadVersion, jute.ErrRuntimeInconsistency}
	for i, c := range wantCodes {
		if r.Multi[i].Err == nil || jute.CodeOf(r.Multi[i].Err) != c {
			t.Errorf("op %d: %v, want code %d", i, r.Multi[i].Err, c)
		}
	}
	if !errors.Is(r.Multi[0].Err, ErrMultiOK) {
		t.Errorf("op 0 is not ErrMultiOK")
	}
	if h.tr.Digest() != d || dump(h.tr) != before {
		t.Fatalf("failed multi left traces:\n%s\nvs\n%s", dump(h.tr), before)
	}
	// The same ops without the failing check: all applied at one zxid.
	r = h.must(multi(
		createOp("/m/a", 0),
		createOp("/m/a/s-", jute.ModePersistentSequential),
		Op{Type: jute.OpSetData, Path: "/m", Data: []byte("new"), Version: -1},
		Op{Type: jute.OpCheck, Path: "/m", Version: 1},
	))
	if len(r.Multi) != 4 || r.Multi[1].Path != "/m/a/s-0000000000" || r.Multi[0].Stat.Czxid != int64(h.z) ||
		r.Multi[2].Stat.Mzxid != int64(h.z) {
		t.Fatalf("multi results: %+v", r.Multi)
	}
	if got := events(r); got != "NodeCreated /m/a, NodeChildrenChanged /m, NodeCreated /m/a/s-0000000000, NodeChildrenChanged /m/a, NodeDataChanged /m" {
		t.Errorf("multi events: %s", got)
	}
	// setACL is not allowed inside multi; an empty multi succeeds.
	r = h.apply(multi(Op{Type: jute.OpSetACL, Path: "/m", ACL: jute.OpenACLUnsafe, Version: -1}))
	if r.Err != jute.ErrBadArguments {
		t.Errorf("setACL in multi: %v", r.Err)
	}
	if r := h.apply(multi()); r.Err != nil || len(r.Multi) != 0 {
		t.Errorf("empty multi: %v", r)
	}
}

func TestMultiUndoSlotReuse(t *testing.T) {
	// Deletes then creates reuse slots; undo must restore them in order.
	h := newHarness(t)
	for _, p := range []string{"/a", "/b", "/c"} {
		h.create(p)
	}
	d := h.tr.Digest()
	r := h.apply(Txn{Op: Op{Type: jute.OpMulti, Ops: []Op{
		{Type: jute.OpDelete, Path: "/a", Version: -1},
		{Type: jute.OpDelete, Path: "/b", Version: -1},
		createOp("/d", 0),
		{Type: jute.OpDelete, Path: "/c", Version: -1},
		createOp("/a", 0),
		createOp("/a", 0),
	}}})
	if r.Err != jute.ErrNodeExists || h.tr.Digest() != d {
		t.Fatalf("multi: %v", r.Err)
	}
	for _, p := range []string{"/a", "/b", "/c"} {
		if _, err := h.tr.Exists(p, nil); err != nil {
			t.Errorf("%s lost: %v", p, err)
		}
	}
	// The tree still works after the undo.
	h.create("/e")
	h.must(Txn{Op: Op{Type: jute.OpDelete, Path: "/a", Version: -1}})
	if h.tr.NodeCount() != 7 {
		t.Errorf("NodeCount = %d", h.tr.NodeCount())
	}
}

func TestSessions(t *testing.T) {
	h := newHarness(t)
	h.session(0x2)
	h.session(0x1)
	if r := h.apply(Txn{Session: 0x1, Op: Op{Type: jute.OpCreateSession, Timeout: 1}}); r.Err != jute.ErrNodeExists {
		t.Errorf("duplicate session: %v", r.Err)
	}
	h.create("/app")
	for _, p := range []string{"/app/z", "/app/a", "/e"} {
		h.must(Txn{Session: 0x1, Op: createOp(p, jute.ModeEphemeral)})
	}
	h.must(Txn{Session: 0x2, Op: createOp("/other", jute.ModeEphemeral)})
	if got := h.tr.Sessions(); len(got) != 2 || got[0].ID != 1 || got[0].Ephemerals != 3 || got[1].Timeout != 30000 {
		t.Errorf("Sessions = %v", got)
	}
	r := h.must(Txn{Session: 0x1, Op: Op{Type: jute.OpCloseSession}})
	want := "NodeDeleted /app/a, NodeChildrenChanged /app, NodeDeleted /app/z, NodeChildrenChanged /app, NodeDeleted /e, NodeChildrenChanged /"
	if got := events(r); got != want {
		t.Errorf("close events:\n%s\nwant\n%s", got, want)
	}
	if _, ok := h.tr.Session(0x1); ok || h.tr.EphemeralCount() != 1 {
		t.Errorf("session 1 still there")
	}
	if st := h.stat("/app"); st.Pzxid != int64(h.z) || st.NumChildren != 0 || st.Cversion != 4 {
		t.Errorf("/app after close: %v", st)
	}
	for _, tc := range []struct {
		name string
		txn  Txn
	}{
		{"close twice", Txn{Session: 0x1, Op: Op{Type: jute.OpCloseSession}}},
		{"write from closed session", Txn{Session: 0x1, Op: createOp("/x", 0)}},
		{"setData from closed session", Txn{Session: 0x1, Op: Op{Type: jute.OpSetData, Path: "/app", Version: -1}}},
		{"multi from closed session", Txn{Session: 0x1, Op: Op{Type: jute.OpMulti, Ops: []Op{createOp("/x", 0)}}}},
	} {
		if r := h.apply(tc.txn); r.Err != jute.ErrSessionExpired {
			t.Errorf("%s: %v", tc.name, r.Err)
		}
	}
}

func TestReaping(t *testing.T) {
	h := newHarness(t)
	h.must(Txn{Op: Op{Type: jute.OpCreateContainer, Path: "/used", ACL: jute.OpenACLUnsafe}})
	h.must(Txn{Op: Op{Type: jute.OpCreateContainer, Path: "/never", ACL: jute.OpenACLUnsafe}})
	h.create("/used/child")
	h.must(Txn{Op: Op{Type: jute.OpCreateTTL, Path: "/ttl", ACL: jute.OpenACLUnsafe, Flags: jute.ModePersistentWithTTL, TTL: 1000}})
	h.must(Txn{Op: Op{Type: jute.OpCreateTTL, Path: "/ttlkids", ACL: jute.OpenACLUnsafe, Flags: jute.ModePersistentWithTTL, TTL: 1000}})
	h.create("/ttlkids/k")
	h.create("/plain")

	if got := h.tr.ReapCandidates(now+500, 0); len(got) != 0 {
		t.Fatalf("candidates with child: %v", got)
	}
	h.must(Txn{Op: Op{Type: jute.OpDelete, Path: "/used/child", Version: -1}})
	if got := h.tr.ReapCandidates(now+1000, 0); len(got) != 1 || got[0] != "/used" {
		t.Fatalf("candidates at ttl: %v", got)
	}
	got := h.tr.ReapCandidates(now+1001, 0)
	if len(got) != 2 || got[0] != "/ttl" || got[1] != "/used" {
		t.Fatalf("candidates after ttl: %v", got)
	}
	if got := h.tr.ReapCandidates(now+1001, 1); len(got) != 1 {
		t.Fatalf("max 1: %v", got)
	}
	del := func(p string, tm int64) error {
		return h.apply(Txn{Time: tm, Op: Op{Type: jute.OpDeleteContainer, Path: p}}).Err
	}
	// A setData refreshes mtime, so the reaper's txn re-checks and refuses.
	h.must(Txn{Time: now + 900, Op: Op{Type: jute.OpSetData, Path: "/ttl", Version: -1}})
	for _, tc := range []struct {
		path string
		tm   int64
		want error
	}{
		{"/ttl", now + 1001, jute.ErrBadArguments},
		{"/ttl", now + 1901, nil},
		{"/ttlkids", now + 5000, jute.ErrNotEmpty},
		{"/plain", now + 5000, jute.ErrBadArguments},
		{"/", now + 5000, jute.ErrBadArguments},
		{"/ghost", now + 5000, jute.ErrNoNode},
		{"/used", now + 5000, nil},
	} {
		if err := del(tc.path, tc.tm); err != tc.want {
			t.Errorf("deleteContainer %s at +%d: %v, want %v", tc.path, tc.tm-now, err, tc.want)
		}
	}
	h.create("/never/x")
	if err := del("/never", now); err != jute.ErrNotEmpty {
		t.Errorf("deleteContainer non-empty container: %v", err)
	}
}

func TestReads(t *testing.T) {
	h := newHarness(t)
	bob := []jute.Id{{Scheme: "digest", ID: jute.DigestID("bob", "pw")}}
	acl := []jute.ACL{{Perms: jute.PermRead, ID: jute.AnyoneID}, {Perms: jute.PermAll, ID: bob[0]}}
	h.must(Txn{Op: Op{Type: jute.OpCreate, Path: "/r", ACL: acl}})
	h.must(Txn{Op: Op{Type: jute.OpCreate, Path: "/secret", ACL: []jute.ACL{{Perms: jute.PermAll, ID: bob[0]}}}})
	for _, p := range []string{"/r/b", "/r/a", "/r/c", "/r/a/x"} {
		h.must(Txn{Auth: bob, Op: createOp(p, 0)})
	}
	kids, st, err := h.tr.Children("/r", nil)
	if err != nil || len(kids) != 3 || kids[0] != "a" || kids[2] != "c" || st.NumChildren != 3 {
		t.Errorf("Children = %v %v %v", kids, st, err)
	}
	if n, _ := h.tr.AllChildrenNumber("/r", nil); n != 4 {
		t.Errorf("AllChildrenNumber = %d", n)
	}
	masked, _, _ := h.tr.GetACL("/r", nil)
	if masked[1].ID.ID != "bob:x" {
		t.Errorf("masked ACL = %v", masked)
	}
	full, _, _ := h.tr.GetACL("/r", bob)
	if full[1].ID.ID != bob[0].ID {
		t.Errorf("admin ACL = %v", full)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"getData secret", second(h.tr.GetData("/secret", nil))},
		{"exists secret", first(h.tr.Exists("/secret", nil))},
		{"children secret", second(h.tr.Children("/secret", nil))},
		{"getACL secret", second(h.tr.GetACL("/secret", nil))},
		{"count secret", first(h.tr.AllChildrenNumber("/secret", nil))},
	} {
		if tc.err != jute.ErrNoAuth {
			t.Errorf("%s: %v, want NoAuth", tc.name, tc.err)
		}
	}
	if _, err := h.tr.Exists("/ghost", nil); err != jute.ErrNoNode {
		t.Errorf("exists ghost: %v", err)
	}
	if _, _, err := h.tr.GetData("/secret", []jute.Id{{Scheme: "super"}}); err != nil {
		t.Errorf("super read: %v", err)
	}
	if h.tr.ApproxDataSize() == 0 {
		t.Errorf("ApproxDataSize is 0")
	}
}

func first[T any](_ T, err error) error          { return err }
func second[A, B any](_ A, _ B, err error) error { return err }

func TestApplyPanicsOnOldZxid(t *testing.T) {
	tr := New()
	tr.Apply(zxid.New(1, 5), &Txn{Op: createOp("/a", 0)})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on an old zxid")
		}
	}()
	tr.Apply(zxid.New(1, 5), &Txn{Op: createOp("/b", 0)})
}

func TestTxnEncoding(t *testing.T) {
	in := &Txn{Session: 0x1000001, Cxid: 7, Origin: 3, Time: now, Auth: []jute.Id{{Scheme: "ip", ID: "127.0.0.1"}},
		Op: Op{Type: jute.OpMulti, Ops: []Op{
			{Type: jute.OpCreate, Path: "/a/b", Flags: 3, ACL: jute.OpenACLUnsafe},
			{Type: jute.OpCreate, Path: "/e", Data: []byte{}, ACL: jute.OpenACLUnsafe},
			{Type: jute.OpSetData, Path: "/a", Data: []byte("d"), Version: -1},
		}}}
	b, err := EncodeTxn(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeTxn(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != in.String() || out.Op.Ops[0].Data != nil || out.Op.Ops[1].Data == nil ||
		string(out.Op.Ops[2].Data) != "d" || out.Op.Ops[2].Version != -1 || out.Auth[0] != in.Auth[0] || out.Origin != 3 {
		t.Fatalf("round trip: %+v", out)
	}
	c := Txn{Session: 0x1000001, Cxid: 7, Op: Op{Type: jute.OpCreate, Path: "/a/b", Flags: 3}}
	if got := c.String(); got != "s:0x1000001 cxid=7 create /a/b flags=3" {
		t.Errorf("String = %q", got)
	}
	if _, err := DecodeTxn([]byte{0xc1}); err == nil {
		t.Errorf("garbage decoded")
	}
}
