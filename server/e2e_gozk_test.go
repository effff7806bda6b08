package server_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/jute"
)

var world = zk.WorldACL(zk.PermAll)

func TestE2ENodeTypes(t *testing.T) {
	_, addr := start(t)
	zc, _ := gozk(t, addr)

	if p, err := zc.Create("/p", []byte("x"), 0, world); err != nil || p != "/p" {
		t.Fatalf("create persistent: %q %v", p, err)
	}
	if _, err := zc.Create("/p", nil, 0, world); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create twice: %v", err)
	}
	if _, err := zc.Create("/none/x", nil, 0, world); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("create without parent: %v", err)
	}
	e, err := zc.Create("/p/e", nil, zk.FlagEphemeral, world)
	if err != nil {
		t.Fatal(err)
	}
	_, st, _ := zc.Exists(e)
	if st.EphemeralOwner != zc.SessionID() {
		t.Fatalf("ephemeralOwner %x, want %x", st.EphemeralOwner, zc.SessionID())
	}
	if _, err := zc.Create("/p/e/child", nil, 0, world); !errors.Is(err, zk.ErrNoChildrenForEphemerals) {
		t.Fatalf("child of ephemeral: %v", err)
	}
	s1, _ := zc.Create("/p/s-", nil, zk.FlagSequence, world)
	s2, _ := zc.Create("/p/s-", nil, zk.FlagEphemeral|zk.FlagSequence, world)
	if s1 != "/p/s-0000000001" || s2 != "/p/s-0000000002" {
		t.Fatalf("sequential names %q %q", s1, s2)
	}
	if c, err := zc.CreateContainer("/c", nil, zk.FlagContainer, world); err != nil || c != "/c" {
		t.Fatalf("container: %q %v", c, err)
	}
	if p, err := zc.CreateTTL("/ttl", nil, zk.FlagTTL, world, time.Hour); err != nil || p != "/ttl" {
		t.Fatalf("ttl: %q %v", p, err)
	}
	for _, p := range []string{"/c", "/ttl"} {
		if _, st, _ := zc.Exists(p); st.EphemeralOwner != 0 {
			t.Fatalf("%s ephemeralOwner %x, want 0", p, st.EphemeralOwner)
		}
	}
	kids, st, err := zc.Children("/p")
	slices.Sort(kids)
	if err != nil || !slices.Equal(kids, []string{"e", "s-0000000001", "s-0000000002"}) || st.NumChildren != 3 {
		t.Fatalf("children %v %+v %v", kids, st, err)
	}
}

func TestE2EDataVersionsAndExists(t *testing.T) {
	_, addr := start(t)
	zc, _ := gozk(t, addr)
	zc.Create("/a", []byte("1"), 0, world)
	st, err := zc.Set("/a", []byte("2"), 0)
	if err != nil || st.Version != 1 {
		t.Fatalf("set v0: %+v %v", st, err)
	}
	if _, err := zc.Set("/a", []byte("3"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("set stale version: %v", err)
	}
	data, st, err := zc.Get("/a")
	if err != nil || string(data) != "2" || st.Version != 1 || st.DataLength != 1 {
		t.Fatalf("get: %q %+v %v", data, st, err)
	}
	if err := zc.Delete("/a", 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("delete stale: %v", err)
	}
	zc.Create("/a/kid", nil, 0, world)
	if err := zc.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	zc.Delete("/a/kid", -1)
	if err := zc.Delete("/a", 1); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if ok, _, err := zc.Exists("/a"); ok || err != nil {
		t.Fatalf("exists after delete: %v %v", ok, err)
	}
	if _, _, err := zc.Get("/a"); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("get missing: %v", err)
	}
	if err := zc.Delete("/zookeeper", -1); !errors.Is(err, zk.ErrBadArguments) {
		t.Fatalf("delete /zookeeper: %v", err)
	}
	if p, err := zc.Sync("/"); err != nil || p != "/" {
		t.Fatalf("sync: %q %v", p, err)
	}
}

func TestE2EACLAndAuth(t *testing.T) {
	_, addr := start(t)
	owner, _ := gozk(t, addr)
	other, _ := gozk(t, addr)
	if err := owner.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	acl := zk.DigestACL(zk.PermAll, "alice", "secret")
	if _, err := owner.Create("/sec", []byte("s"), 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Get("/sec"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("stranger get: %v", err)
	}
	if _, err := other.Set("/sec", nil, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("stranger set: %v", err)
	}
	if _, err := other.SetACL("/sec", world, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("stranger setACL: %v", err)
	}
	got, st, err := owner.GetACL("/sec")
	if err != nil || len(got) != 1 || got[0] != acl[0] || st.Aversion != 0 {
		t.Fatalf("getACL: %v %+v %v", got, st, err)
	}
	// auth:"" becomes the creator's digest id.
	if _, err := owner.Create("/mine", nil, 0, zk.AuthACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := owner.GetACL("/mine"); len(got) != 1 || got[0].Scheme != "digest" || !strings.HasPrefix(got[0].ID, "alice:") {
		t.Fatalf("auth ACL became %v", got)
	}
	if _, err := other.Create("/theirs", nil, 0, zk.AuthACL(zk.PermAll)); !errors.Is(err, zk.ErrInvalidACL) {
		t.Fatalf("auth ACL without auth: %v", err)
	}
	if _, err := owner.SetACL("/sec", world, 3); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("setACL stale aversion: %v", err)
	}
	if st, err := owner.SetACL("/sec", zk.WorldACL(zk.PermRead), 0); err != nil || st.Aversion != 1 {
		t.Fatalf("setACL: %+v %v", st, err)
	}
	if _, err := owner.SetACL("/sec", world, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("setACL without ADMIN: %v", err)
	}
	if data, _, err := other.Get("/sec"); err != nil || string(data) != "s" {
		t.Fatalf("get after opening: %q %v", data, err)
	}
	if _, err := other.Set("/sec", nil, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("set on read-only ACL: %v", err)
	}
}

func TestE2EMulti(t *testing.T) {
	_, addr := start(t)
	zc, _ := gozk(t, addr)
	zc.Create("/m", []byte("0"), 0, world)
	res, err := zc.Multi(
		&zk.CreateRequest{Path: "/m/a", Data: []byte("a"), Acl: world},
		&zk.SetDataRequest{Path: "/m", Data: []byte("1"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
		&zk.DeleteRequest{Path: "/m/a", Version: 0},
	)
	if err != nil || len(res) != 4 || res[0].String != "/m/a" || res[1].Stat == nil || res[1].Stat.Version != 1 {
		t.Fatalf("multi: %+v %v", res, err)
	}
	res, err = zc.Multi(
		&zk.CreateRequest{Path: "/m/b", Acl: world},
		&zk.CheckVersionRequest{Path: "/m", Version: 7},
		&zk.DeleteRequest{Path: "/m", Version: -1},
	)
	if !errors.Is(err, zk.ErrBadVersion) || len(res) != 3 {
		t.Fatalf("failed multi: %+v %v", res, err)
	}
	if res[0].Error != nil || !errors.Is(res[1].Error, zk.ErrBadVersion) || res[2].Error == nil {
		t.Fatalf("per-op errors: %v %v %v", res[0].Error, res[1].Error, res[2].Error)
	}
	if ok, _, _ := zc.Exists("/m/b"); ok {
		t.Fatal("failed multi applied its create")
	}
}

func TestE2EOneShotWatches(t *testing.T) {
	_, addr := start(t)
	zc, _ := gozk(t, addr)
	writer, _ := gozk(t, addr)

	// exists on a missing node, then create: NodeCreated once.
	ok, _, ech, err := zc.ExistsW("/w")
	if ok || err != nil {
		t.Fatalf("existsW: %v %v", ok, err)
	}
	writer.Create("/w", nil, 0, world)
	if ev := waitEvent(t, ech); ev.Type != zk.EventNodeCreated || ev.Path != "/w" {
		t.Fatalf("exist watch: %+v", ev)
	}
	_, _, dch, _ := zc.GetW("/w")
	_, _, cch, _ := zc.ChildrenW("/w")
	writer.Set("/w", []byte("1"), -1)
	if ev := waitEvent(t, dch); ev.Type != zk.EventNodeDataChanged || ev.Path != "/w" {
		t.Fatalf("data watch: %+v", ev)
	}
	writer.Create("/w/k", nil, 0, world)
	if ev := waitEvent(t, cch); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/w" {
		t.Fatalf("child watch: %+v", ev)
	}
	// Fired watches are gone: more changes give nothing (go-zk closes each
	// channel after its one event).
	writer.Set("/w", []byte("2"), -1)
	writer.Create("/w/k2", nil, 0, world)
	writer.Sync("/")
	zc.Sync("/")
	for _, ch := range []<-chan zk.Event{ech, dch, cch} {
		noEvent(t, ch)
	}
	// A data watch sees a delete as NodeDeleted.
	_, _, dch, _ = zc.GetW("/w/k")
	writer.Delete("/w/k", -1)
	if ev := waitEvent(t, dch); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("delete on data watch: %+v", ev)
	}
	// Exactly once on the wire too: the server keeps no watch for this
	// connection after firing (wchc lists nothing for it).
	if out := fourLetter(t, addr, "wchp"); strings.Contains(out, "/w\n") {
		t.Fatalf("fired watch still registered:\n%s", out)
	}
}

// The notification for a change must reach a watcher before the reply to a
// request that sees the change; for the writer itself, before the write's reply.
func TestE2ENotificationBeforeReply(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	create(c, "/n", "0", 0)
	c.mustCall(jute.OK, jute.OpGetData, &jute.GetDataRequest{Path: "/n", Watch: true}, &jute.GetDataResponse{})
	xid := c.send(jute.OpSetData, &jute.SetDataRequest{Path: "/n", Data: []byte("1"), Version: -1})
	h := c.reply(&jute.SetDataResponse{})
	if h.Xid != xid || h.Err != jute.OK {
		t.Fatalf("setData reply %v", h)
	}
	evs := c.takeEvents()
	if len(evs) != 1 || evs[0].Type != jute.EventNodeDataChanged || evs[0].Path != "/n" {
		t.Fatalf("events before the reply: %v", evs)
	}
}

func TestE2EEphemeralsGoWithSession(t *testing.T) {
	_, addr := start(t)
	owner, _ := gozk(t, addr)
	watcher, _ := gozk(t, addr)
	owner.Create("/eph", nil, zk.FlagEphemeral, world)
	_, _, ch, _ := watcher.ExistsW("/eph")
	owner.Close()
	if ev := waitEvent(t, ch); ev.Type != zk.EventNodeDeleted || ev.Path != "/eph" {
		t.Fatalf("event %+v", ev)
	}
	if ok, _, _ := watcher.Exists("/eph"); ok {
		t.Fatal("ephemeral outlived its session")
	}
}

func TestE2ESessionExpiry(t *testing.T) {
	_, addr := start(t)
	watcher, _ := gozk(t, addr)
	// A raw client that asks for a short session and then stays silent.
	c := connectRaw(t, addr, jute.ConnectRequest{TimeOut: 300})
	if c.resp.SessionID == 0 || c.resp.TimeOut != 300 {
		t.Fatalf("connect: %v", c.resp)
	}
	create(c, "/gone", "", jute.ModeEphemeral)
	_, _, ch, _ := watcher.ExistsW("/gone")
	if ev := waitEvent(t, ch); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("event %+v", ev)
	}
	// The server closed the silent connection.
	expectClosed(t, c.nc, c.r)
	again := connectRaw(t, addr, jute.ConnectRequest{SessionID: c.resp.SessionID, Passwd: c.resp.Passwd})
	if again.resp.SessionID != 0 || again.resp.TimeOut != 0 || string(again.resp.Passwd) != string(make([]byte, 16)) {
		t.Fatalf("reconnect to an expired session: %v", again.resp)
	}
	expectClosed(t, again.nc, again.r)
}

func TestE2EReconnectKeepsEphemerals(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	create(c, "/keep", "", jute.ModeEphemeral)
	// A wrong password gets an expired answer and leaves the session alone.
	bad := append([]byte(nil), c.resp.Passwd...)
	bad[0] ^= 0xff
	if r := connectRaw(t, addr, jute.ConnectRequest{SessionID: c.resp.SessionID, Passwd: bad}); r.resp.SessionID != 0 {
		t.Fatalf("wrong password accepted: %v", r.resp)
	}
	c.nc.Close()
	c2 := connectRaw(t, addr, jute.ConnectRequest{SessionID: c.resp.SessionID, Passwd: c.resp.Passwd})
	if c2.resp.SessionID != c.resp.SessionID || c2.resp.TimeOut == 0 {
		t.Fatalf("resume: %v", c2.resp)
	}
	var st jute.ExistsResponse
	c2.mustCall(jute.OK, jute.OpExists, &jute.ExistsRequest{Path: "/keep"}, &st)
	if st.Stat.EphemeralOwner != c.resp.SessionID {
		t.Fatalf("owner %x", st.Stat.EphemeralOwner)
	}
	var eph jute.GetEphemeralsResponse
	c2.mustCall(jute.OK, jute.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: "/"}, &eph)
	if !slices.Equal(eph.Ephemerals, []string{"/keep"}) {
		t.Fatalf("ephemerals %v", eph.Ephemerals)
	}
}

func TestE2EContainerAndTTLReaped(t *testing.T) {
	_, addr := start(t, func(c *conf.Config) { c.ContainerCheckInterval = 50 * time.Millisecond })
	zc, _ := gozk(t, addr)
	zc.CreateContainer("/box", nil, zk.FlagContainer, world)
	zc.CreateContainer("/never", nil, zk.FlagContainer, world)
	zc.Create("/box/item", nil, 0, world)
	_, _, ch, _ := zc.ExistsW("/box")
	zc.Delete("/box/item", -1)
	if ev := waitEvent(t, ch); ev.Type != zk.EventNodeDeleted || ev.Path != "/box" {
		t.Fatalf("container: %+v", ev)
	}
	// A container that never had a child stays.
	if ok, _, _ := zc.Exists("/never"); !ok {
		t.Fatal("never-used container reaped")
	}
	zc.CreateTTL("/short", nil, zk.FlagTTL, world, 100*time.Millisecond)
	zc.CreateTTL("/long", nil, zk.FlagTTL, world, time.Hour)
	eventually(t, "TTL node reaped", func() bool { ok, _, _ := zc.Exists("/short"); return !ok })
	if ok, _, _ := zc.Exists("/long"); !ok {
		t.Fatal("TTL node reaped early")
	}
}

func TestE2EFourLetterWordsGoZK(t *testing.T) {
	_, addr := start(t)
	zc, _ := gozk(t, addr)
	zc.Create("/x", nil, 0, world)
	ss, ok := zk.FLWSrvr([]string{addr}, ioLimit)
	if !ok || ss[0].Error != nil || ss[0].Mode != zk.ModeStandalone || ss[0].NodeCount < 5 || ss[0].Connections < 1 {
		t.Fatalf("srvr: %+v (err %v)", ss[0], ss[0].Error)
	}
	if r := zk.FLWRuok([]string{addr}, ioLimit); !r[0] {
		t.Fatal("ruok")
	}
	cl, ok := zk.FLWCons([]string{addr}, ioLimit)
	if !ok || cl[0].Error != nil {
		t.Fatalf("cons: %+v", cl[0])
	}
	found := false
	for _, c := range cl[0].Clients {
		found = found || c.SessionID == zc.SessionID()
	}
	if !found {
		t.Fatalf("cons does not list session %x: %+v", zc.SessionID(), cl[0].Clients)
	}
}

func TestE2EFourLetterWordsRaw(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	create(c, "/e", "", jute.ModeEphemeral)
	c.mustCall(jute.OK, jute.OpGetData, &jute.GetDataRequest{Path: "/e", Watch: true}, &jute.GetDataResponse{})
	sid := "0x" + strings.TrimLeft(strings.ToLower(hex64(c.resp.SessionID)), "0")
	checks := map[string][]string{
		"ruok": {"imok"},
		"isro": {"rw"},
		"mntr": {"zk_version\t", "zk_server_state\tstandalone", "zk_znode_count\t", "zk_ephemerals_count\t1", "zk_watch_count\t1"},
		"conf": {"clientPort="},
		"envi": {"Environment:", "zookeeper.version="},
		"wchs": {"1 connections watching 1 paths", "Total watches:1"},
		"wchc": {sid, "\t/e"},
		"wchp": {"/e\n", "\t" + sid},
		"dump": {"SessionTracker dump:", sid, "\t/e"},
		"stat": {"Zookeeper version:", "Clients:", "Mode: standalone", "Node count:"},
		"srvr": {"Zookeeper version:", "Mode: standalone"},
		"crst": {"Connection stats reset."},
		"srst": {"Server stats reset."},
	}
	for cmd, wants := range checks {
		out := fourLetter(t, addr, cmd)
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: missing %q in:\n%s", cmd, w, out)
			}
		}
	}
	if out := fourLetter(t, addr, "isro"); out != "rw" {
		t.Errorf("isro = %q", out)
	}

	// The whitelist refuses what it does not list.
	_, addr2 := start(t, func(c *conf.Config) { c.FourLetterWords = []string{"srvr"} })
	if out := fourLetter(t, addr2, "mntr"); out != "mntr is not executed because it is not in the whitelist.\n" {
		t.Errorf("refusal = %q", out)
	}
	if out := fourLetter(t, addr2, "srvr"); !strings.HasPrefix(out, "Zookeeper version:") {
		t.Errorf("whitelisted srvr = %q", out)
	}
}

func hex64(v int64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v = int64(uint64(v) >> 4)
	}
	return string(b[:])
}
