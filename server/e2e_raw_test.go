package server_test

import (
	"slices"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
)

func TestRawCreate2(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	var r jute.Create2Response
	c.mustCall(jute.OK, jute.OpCreate2, &jute.CreateRequest{Path: "/c2", Data: []byte("abc"), ACL: openACL()}, &r)
	if r.Path != "/c2" || r.Stat.DataLength != 3 || r.Stat.Czxid == 0 || r.Stat.Czxid != r.Stat.Mzxid {
		t.Fatalf("create2: %v", r)
	}
	c.mustCall(jute.ErrNodeExists, jute.OpCreate2, &jute.CreateRequest{Path: "/c2", ACL: openACL()}, nil)
}

// events runs one request and returns the notifications that preceded its reply.
func events(c *raw, op jute.OpCode, rec jute.Record) []jute.WatcherEvent {
	c.t.Helper()
	c.mustCall(jute.OK, op, rec, nil)
	return c.takeEvents()
}

func ev(t jute.EventType, path string) jute.WatcherEvent {
	return jute.WatcherEvent{Type: t, State: jute.StateSyncConnected, Path: path}
}

func sameEvents(t *testing.T, what string, got []jute.WatcherEvent, want ...jute.WatcherEvent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: events %v, want %v", what, got, want)
	}
}

func TestRawAddWatchPersistent(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	var er jute.ErrorResponse
	c.mustCall(jute.OK, jute.OpAddWatch, &jute.AddWatchRequest{Path: "/pw", Mode: jute.AddWatchPersistent}, &er)
	if er.Err != jute.OK {
		t.Fatalf("addWatch body %v", er)
	}
	cr := func(p string) jute.Record { return &jute.CreateRequest{Path: p, ACL: openACL()} }
	sameEvents(t, "create", events(c, jute.OpCreate, cr("/pw")), ev(jute.EventNodeCreated, "/pw"))
	set := &jute.SetDataRequest{Path: "/pw", Data: []byte("x"), Version: -1}
	sameEvents(t, "set", events(c, jute.OpSetData, set), ev(jute.EventNodeDataChanged, "/pw"))
	sameEvents(t, "set again", events(c, jute.OpSetData, set), ev(jute.EventNodeDataChanged, "/pw"))
	sameEvents(t, "child", events(c, jute.OpCreate, cr("/pw/k")), ev(jute.EventNodeChildrenChanged, "/pw"))
	sameEvents(t, "grandchild", events(c, jute.OpCreate, cr("/pw/k/g")))
	c.mustCall(jute.OK, jute.OpDelete, &jute.DeleteRequest{Path: "/pw/k/g", Version: -1}, nil)
	sameEvents(t, "child delete", events(c, jute.OpDelete, &jute.DeleteRequest{Path: "/pw/k", Version: -1}),
		ev(jute.EventNodeChildrenChanged, "/pw"))
	sameEvents(t, "delete", events(c, jute.OpDelete, &jute.DeleteRequest{Path: "/pw", Version: -1}),
		ev(jute.EventNodeDeleted, "/pw"))
	// Still there after the node is gone.
	sameEvents(t, "re-create", events(c, jute.OpCreate, cr("/pw")), ev(jute.EventNodeCreated, "/pw"))
	c.mustCall(jute.ErrBadArguments, jute.OpAddWatch, &jute.AddWatchRequest{Path: "bad", Mode: 0}, nil)
	c.mustCall(jute.ErrBadArguments, jute.OpAddWatch, &jute.AddWatchRequest{Path: "/pw", Mode: 7}, nil)
}

func TestRawAddWatchRecursive(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	other := newRaw(t, addr)
	c.mustCall(jute.OK, jute.OpAddWatch, &jute.AddWatchRequest{Path: "/r", Mode: jute.AddWatchPersistentRecursive}, &jute.ErrorResponse{})
	cr := func(p string) jute.Record { return &jute.CreateRequest{Path: p, ACL: openACL()} }
	sameEvents(t, "create root", events(c, jute.OpCreate, cr("/r")), ev(jute.EventNodeCreated, "/r"))
	sameEvents(t, "child", events(c, jute.OpCreate, cr("/r/a")), ev(jute.EventNodeCreated, "/r/a"))
	sameEvents(t, "grandchild", events(c, jute.OpCreate, cr("/r/a/b")), ev(jute.EventNodeCreated, "/r/a/b"))
	sameEvents(t, "set", events(c, jute.OpSetData, &jute.SetDataRequest{Path: "/r/a/b", Version: -1}),
		ev(jute.EventNodeDataChanged, "/r/a/b"))
	sameEvents(t, "delete", events(c, jute.OpDelete, &jute.DeleteRequest{Path: "/r/a/b", Version: -1}),
		ev(jute.EventNodeDeleted, "/r/a/b"))
	sameEvents(t, "outside", events(c, jute.OpCreate, cr("/rx")))
	// Another session's change reaches the watcher too, before the watcher's
	// next reply.
	other.mustCall(jute.OK, jute.OpCreate, cr("/r/z"), nil)
	sameEvents(t, "from another session", events(c, jute.OpSync, &jute.SyncRequest{Path: "/"}),
		ev(jute.EventNodeCreated, "/r/z"))
}

func TestRawCheckAndRemoveWatches(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	create(c, "/x", "", 0)
	c.mustCall(jute.OK, jute.OpGetData, &jute.GetDataRequest{Path: "/x", Watch: true}, &jute.GetDataResponse{})
	c.mustCall(jute.OK, jute.OpGetChildren, &jute.GetChildrenRequest{Path: "/x", Watch: true}, &jute.GetChildrenResponse{})
	c.mustCall(jute.OK, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/x", Type: jute.WatcherData}, nil)
	c.mustCall(jute.OK, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/x", Type: jute.WatcherChildren}, nil)
	c.mustCall(jute.ErrNoWatcher, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/y", Type: jute.WatcherAny}, nil)
	c.mustCall(jute.OK, jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: "/x", Type: jute.WatcherData}, nil)
	c.mustCall(jute.ErrNoWatcher, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/x", Type: jute.WatcherData}, nil)
	c.mustCall(jute.OK, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/x", Type: jute.WatcherChildren}, nil)
	c.mustCall(jute.OK, jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: "/x", Type: jute.WatcherAny}, nil)
	c.mustCall(jute.ErrNoWatcher, jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: "/x", Type: jute.WatcherAny}, nil)
	// Removed watches do not fire.
	sameEvents(t, "after removal", events(c, jute.OpSetData, &jute.SetDataRequest{Path: "/x", Version: -1}))
	sameEvents(t, "after removal", events(c, jute.OpCreate, &jute.CreateRequest{Path: "/x/k", ACL: openACL()}))
	// Persistent watches answer to their own types.
	c.mustCall(jute.OK, jute.OpAddWatch, &jute.AddWatchRequest{Path: "/x", Mode: jute.AddWatchPersistentRecursive}, &jute.ErrorResponse{})
	c.mustCall(jute.OK, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/x", Type: jute.WatcherPersistentRecursive}, nil)
	c.mustCall(jute.OK, jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: "/x", Type: jute.WatcherPersistentRecursive}, nil)
	c.mustCall(jute.ErrNoWatcher, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/x", Type: jute.WatcherPersistentRecursive}, nil)
}

// lastZxid is the zxid a client would remember: that of its latest reply.
func lastZxid(c *raw) int64 {
	c.t.Helper()
	h := c.call(jute.OpExists, &jute.ExistsRequest{Path: "/"}, &jute.ExistsResponse{})
	return int64(h.Zxid)
}

func TestRawSetWatches2CatchUp(t *testing.T) {
	_, addr := start(t)
	w := newRaw(t, addr)
	create(w, "/d", "", 0)
	create(w, "/k", "", 0)
	create(w, "/gone", "", 0)
	create(w, "/same", "", 0)
	seen := lastZxid(w)
	w.nc.Close() // "disconnected"

	other := newRaw(t, addr)
	other.mustCall(jute.OK, jute.OpSetData, &jute.SetDataRequest{Path: "/d", Data: []byte("1"), Version: -1}, &jute.SetDataResponse{})
	create(other, "/k/new", "", 0)
	create(other, "/born", "", 0)
	other.mustCall(jute.OK, jute.OpDelete, &jute.DeleteRequest{Path: "/gone", Version: -1}, nil)

	w2 := connectRaw(t, addr, jute.ConnectRequest{SessionID: w.resp.SessionID, Passwd: w.resp.Passwd, LastZxidSeen: jzxid(seen)})
	if w2.resp.SessionID != w.resp.SessionID {
		t.Fatalf("resume: %v", w2.resp)
	}
	sw := &jute.SetWatches2{
		RelativeZxid:               jzxid(seen),
		DataWatches:                []string{"/d", "/gone", "/same"},
		ExistWatches:               []string{"/born", "/unborn"},
		ChildWatches:               []string{"/k"},
		PersistentWatches:          []string{"/p"},
		PersistentRecursiveWatches: []string{"/pr"},
	}
	got := events(w2, jute.OpSetWatches2, sw)
	want := []jute.WatcherEvent{
		ev(jute.EventNodeDataChanged, "/d"), ev(jute.EventNodeDeleted, "/gone"),
		ev(jute.EventNodeCreated, "/born"), ev(jute.EventNodeChildrenChanged, "/k"),
	}
	if !sameSet(got, want) {
		t.Fatalf("catch-up events %v, want %v", got, want)
	}
	// The unchanged and missing ones were re-registered.
	sameEvents(t, "same", events(other, jute.OpSetData, &jute.SetDataRequest{Path: "/same", Version: -1}))
	if e := w2.nextEvent(); e != ev(jute.EventNodeDataChanged, "/same") {
		t.Fatalf("re-registered data watch: %v", e)
	}
	create(other, "/unborn", "", 0)
	if e := w2.nextEvent(); e != ev(jute.EventNodeCreated, "/unborn") {
		t.Fatalf("re-registered exist watch: %v", e)
	}
	create(other, "/p", "", 0)
	create(other, "/pr", "", 0)
	create(other, "/pr/deep", "", 0)
	got = []jute.WatcherEvent{w2.nextEvent(), w2.nextEvent(), w2.nextEvent()}
	sameEvents(t, "persistent", got, ev(jute.EventNodeCreated, "/p"), ev(jute.EventNodeCreated, "/pr"),
		ev(jute.EventNodeCreated, "/pr/deep"))
}

func TestRawSetWatchesCatchUp(t *testing.T) {
	_, addr := start(t)
	w := newRaw(t, addr)
	create(w, "/a", "", 0)
	seen := lastZxid(w)
	other := newRaw(t, addr)
	create(other, "/a/kid", "", 0)
	// A brand-new session may send setWatches too (go-zk does after expiry).
	w2 := newRaw(t, addr)
	got := events(w2, jute.OpSetWatches, &jute.SetWatches{RelativeZxid: jzxid(seen), ChildWatches: []string{"/a"}, DataWatches: []string{"/a"}})
	sameEvents(t, "catch-up", got, ev(jute.EventNodeChildrenChanged, "/a"))
	other.mustCall(jute.OK, jute.OpSetData, &jute.SetDataRequest{Path: "/a", Version: -1}, &jute.SetDataResponse{})
	if e := w2.nextEvent(); e != ev(jute.EventNodeDataChanged, "/a") {
		t.Fatalf("re-registered data watch: %v", e)
	}
}

func sameSet(a, b []jute.WatcherEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for _, e := range b {
		if !slices.Contains(a, e) {
			return false
		}
	}
	return true
}

func TestRawMultiRead(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	create(c, "/mr", "data", 0)
	create(c, "/mr/a", "", 0)
	var r jute.MultiResponse
	c.mustCall(jute.OK, jute.OpMultiRead, &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpGetData, Rec: &jute.GetDataRequest{Path: "/mr"}},
		{Type: jute.OpGetData, Rec: &jute.GetDataRequest{Path: "/missing"}},
		{Type: jute.OpGetChildren, Rec: &jute.GetChildrenRequest{Path: "/mr"}},
		{Type: jute.OpGetChildren, Rec: &jute.GetChildrenRequest{Path: "/missing"}},
	}}, &r)
	if len(r.Results) != 4 {
		t.Fatalf("results %v", r.Results)
	}
	if x := r.Results[0]; x.Type != jute.OpGetData || string(x.Data) != "data" || x.Stat.DataLength != 4 {
		t.Errorf("getData result %v", x)
	}
	if x := r.Results[1]; x.Type != jute.OpError || x.Err != jute.ErrNoNode {
		t.Errorf("missing getData result %v", x)
	}
	if x := r.Results[2]; x.Type != jute.OpGetChildren || !slices.Equal(x.Children, []string{"a"}) {
		t.Errorf("getChildren result %v", x)
	}
	if x := r.Results[3]; x.Type != jute.OpError || x.Err != jute.ErrNoNode {
		t.Errorf("missing getChildren result %v", x)
	}
}

func TestRawEphemeralsAndCounts(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	other := newRaw(t, addr)
	create(c, "/app", "", 0)
	create(c, "/app/e1", "", jute.ModeEphemeral)
	create(c, "/app/p", "", 0)
	create(c, "/app/p/e2", "", jute.ModeEphemeral)
	create(c, "/apple", "", jute.ModeEphemeral)
	create(other, "/app/theirs", "", jute.ModeEphemeral)
	var r jute.GetEphemeralsResponse
	c.mustCall(jute.OK, jute.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: "/"}, &r)
	slices.Sort(r.Ephemerals)
	if !slices.Equal(r.Ephemerals, []string{"/app/e1", "/app/p/e2", "/apple"}) {
		t.Fatalf("all ephemerals %v", r.Ephemerals)
	}
	c.mustCall(jute.OK, jute.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: "/app/"}, &r)
	slices.Sort(r.Ephemerals)
	if !slices.Equal(r.Ephemerals, []string{"/app/e1", "/app/p/e2"}) {
		t.Fatalf("prefixed ephemerals %v", r.Ephemerals)
	}
	var n jute.GetAllChildrenNumberResponse
	c.mustCall(jute.OK, jute.OpGetAllChildrenNumber, &jute.GetAllChildrenNumberRequest{Path: "/app"}, &n)
	if n.TotalNumber != 4 {
		t.Fatalf("all children of /app = %d, want 4", n.TotalNumber)
	}
	c.mustCall(jute.ErrNoNode, jute.OpGetAllChildrenNumber, &jute.GetAllChildrenNumberRequest{Path: "/nope"}, nil)
}

func TestRawWhoAmI(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	var r jute.WhoAmIResponse
	c.mustCall(jute.OK, jute.OpWhoAmI, nil, &r)
	if !slices.Equal(r.ClientInfo, []jute.ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}}) {
		t.Fatalf("whoAmI %v", r.ClientInfo)
	}
	c.mustCall(jute.OK, jute.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("bob:pw")}, nil)
	c.mustCall(jute.OK, jute.OpWhoAmI, nil, &r)
	if !slices.Contains(r.ClientInfo, jute.ClientInfo{AuthScheme: "digest", User: "bob"}) || len(r.ClientInfo) != 2 {
		t.Fatalf("whoAmI after auth %v", r.ClientInfo)
	}
	// An unknown scheme fails the auth and closes the connection.
	c.mustCall(jute.ErrAuthFailed, jute.OpAuth, &jute.AuthPacket{Scheme: "kerberos", Auth: []byte("x")}, nil)
	expectClosed(t, c.nc, c.r)
}

func TestRawHandshakeDetails(t *testing.T) {
	_, addr := start(t)
	with := connectRaw(t, addr, jute.ConnectRequest{HasReadOnly: true})
	if !with.resp.HasReadOnly || with.resp.ReadOnly || with.resp.SessionID == 0 || len(with.resp.Passwd) != 16 {
		t.Fatalf("with readOnly byte: %v", with.resp)
	}
	without := connectRaw(t, addr, jute.ConnectRequest{})
	if without.resp.HasReadOnly {
		t.Fatalf("readOnly byte echoed to a client that did not send it: %v", without.resp)
	}
	// Timeout is clamped into [min, max].
	if low := connectRaw(t, addr, jute.ConnectRequest{TimeOut: 1}); low.resp.TimeOut != 200 {
		t.Fatalf("clamped timeout %d, want 200", low.resp.TimeOut)
	}

	// Ping: xid -2, answered with the last zxid.
	create(without, "/z", "", 0)
	without.write(jute.AppendFrame(nil, &jute.RequestHeader{Xid: jute.XidPing, Type: jute.OpPing}))
	if h := without.reply(nil); h.Xid != jute.XidPing || h.Err != jute.OK || h.Zxid == 0 {
		t.Fatalf("ping reply %v", h)
	}

	// Notifications: xid -1, the firing txn's zxid, state SyncConnected.
	without.mustCall(jute.OK, jute.OpExists, &jute.ExistsRequest{Path: "/z", Watch: true}, &jute.ExistsResponse{})
	with.mustCall(jute.OK, jute.OpDelete, &jute.DeleteRequest{Path: "/z", Version: -1}, nil)
	if e := without.nextEvent(); e != ev(jute.EventNodeDeleted, "/z") {
		t.Fatalf("notification %v", e)
	}
	// nextEvent checked xid -1; the zxid is checked on a fresh one.
	without.mustCall(jute.ErrNoNode, jute.OpExists, &jute.ExistsRequest{Path: "/z", Watch: true}, nil)
	with.mustCall(jute.OK, jute.OpCreate, &jute.CreateRequest{Path: "/z", ACL: openACL()}, &jute.CreateResponse{})
	body, err := without.frame()
	if err != nil {
		t.Fatal(err)
	}
	var h jute.ReplyHeader
	var we jute.WatcherEvent
	var st jute.ExistsResponse
	with.mustCall(jute.OK, jute.OpExists, &jute.ExistsRequest{Path: "/z"}, &st)
	if err := jute.Unmarshal(body, 0, &h, &we); err != nil || h.Xid != -1 || int64(h.Zxid) != st.Stat.Czxid || h.Err != 0 ||
		we != ev(jute.EventNodeCreated, "/z") {
		t.Fatalf("notification frame %v %v (%v), want zxid 0x%x", h, we, err, st.Stat.Czxid)
	}

	// closeSession: a reply, then the server closes.
	with.mustCall(jute.OK, jute.OpCloseSession, nil, nil)
	expectClosed(t, with.nc, with.r)
}

// A watcher is not told about a node it may not read.
func TestRawNotificationsNeedRead(t *testing.T) {
	_, addr := start(t)
	owner, stranger := newRaw(t, addr), newRaw(t, addr)
	owner.mustCall(jute.OK, jute.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("dan:pw")}, nil)
	stranger.mustCall(jute.ErrNoNode, jute.OpExists, &jute.ExistsRequest{Path: "/hidden", Watch: true}, nil)
	stranger.mustCall(jute.ErrNoNode, jute.OpExists, &jute.ExistsRequest{Path: "/open", Watch: true}, nil)
	mine := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "auth"}}}
	owner.mustCall(jute.OK, jute.OpCreate, &jute.CreateRequest{Path: "/hidden", ACL: mine}, &jute.CreateResponse{})
	owner.mustCall(jute.OK, jute.OpCreate, &jute.CreateRequest{Path: "/open", ACL: openACL()}, &jute.CreateResponse{})
	// Events are ordered: had /hidden been delivered it would come first.
	if e := stranger.nextEvent(); e != ev(jute.EventNodeCreated, "/open") {
		t.Fatalf("stranger got %v", e)
	}
	stranger.mustCall(jute.ErrNoAuth, jute.OpGetData, &jute.GetDataRequest{Path: "/hidden"}, nil)
	if evs := stranger.takeEvents(); len(evs) != 0 {
		t.Fatalf("stranger got %v", evs)
	}
}
