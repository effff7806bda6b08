package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

func TestParseConnectString(t *testing.T) {
	s, root, err := client.ParseConnectString("h1:2181,h2:2182,h3/app/x")
	if err != nil || root != "/app/x" || strings.Join(s, ",") != "h1:2181,h2:2182,h3:2181" {
		t.Fatalf("got %v %q %v", s, root, err)
	}
	if _, _, err := client.ParseConnectString("/x"); !errors.Is(err, jute.ErrBadArguments) {
		t.Fatalf("no hosts: %v", err)
	}
	if _, _, err := client.ParseConnectString("h1/a//b"); !errors.Is(err, jute.ErrBadArguments) {
		t.Fatalf("bad chroot: %v", err)
	}
}

func TestIsRetryable(t *testing.T) {
	if !client.IsRetryable(fmt.Errorf("x: %w", jute.ErrConnectionLoss)) || client.IsRetryable(jute.ErrSessionExpired) {
		t.Fatal("IsRetryable")
	}
}

func TestConnectGivesUpWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	h := &netHook{blocked: true}
	_, err := client.Connect(ctx, []string{"127.0.0.1:1"}, client.WithDialer(h.dial))
	wantErr(t, err, context.DeadlineExceeded)
}

func TestCRUD(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	ctx := ctxT(t)

	p, err := c.Create(ctx, "/a", []byte("one"), client.Persistent, nil)
	must(t, err)
	if p != "/a" {
		t.Fatalf("created %q", p)
	}
	_, err = c.Create(ctx, "/a", nil, client.Persistent, nil)
	wantErr(t, err, jute.ErrNodeExists)
	_, err = c.Create(ctx, "a", nil, client.Persistent, nil)
	wantErr(t, err, jute.ErrBadArguments)
	_, err = c.Create(ctx, "/missing/child", nil, client.Persistent, nil)
	wantErr(t, err, jute.ErrNoNode)

	data, st, err := c.Get(ctx, "/a")
	must(t, err)
	if string(data) != "one" || st.Version != 0 || st.DataLength != 3 {
		t.Fatalf("get: %q %v", data, st)
	}
	st2, err := c.Set(ctx, "/a", []byte("two"), 0)
	must(t, err)
	if st2.Version != 1 || st2.Mzxid <= st.Mzxid {
		t.Fatalf("set stat %v", st2)
	}
	_, err = c.Set(ctx, "/a", []byte("x"), 0)
	wantErr(t, err, jute.ErrBadVersion)

	sp, sst, err := c.CreateStat(ctx, "/a/seq-", nil, client.PersistentSequential, nil)
	must(t, err)
	if !strings.HasPrefix(sp, "/a/seq-") || len(sp) != len("/a/seq-")+10 || sst.Czxid == 0 {
		t.Fatalf("sequential %q %v", sp, sst)
	}
	ep, err := c.Create(ctx, "/a/eph", nil, client.Ephemeral, nil)
	must(t, err)
	ok, est, err := c.Exists(ctx, ep)
	must(t, err)
	if !ok || est.EphemeralOwner != c.SessionID() {
		t.Fatalf("exists %v %v", ok, est)
	}
	ok, _, err = c.Exists(ctx, "/nope")
	if ok || err != nil {
		t.Fatalf("exists missing: %v %v", ok, err)
	}
	kids, pst, err := c.Children(ctx, "/a")
	must(t, err)
	sort.Strings(kids)
	if len(kids) != 2 || kids[0] != "eph" || pst.NumChildren != 2 {
		t.Fatalf("children %v %v", kids, pst)
	}
	n, err := c.AllChildrenNumber(ctx, "/")
	must(t, err)
	if n != 3 {
		t.Fatalf("all children %d", n)
	}
	eph, err := c.Ephemerals(ctx, "/")
	must(t, err)
	if len(eph) != 1 || eph[0] != "/a/eph" {
		t.Fatalf("ephemerals %v", eph)
	}
	must(t, c.Sync(ctx, "/a"))
	wantErr(t, c.Delete(ctx, "/a", -1), jute.ErrNotEmpty)
	wantErr(t, c.Delete(ctx, ep, 5), jute.ErrBadVersion)
	must(t, c.Delete(ctx, ep, -1))
	_, _, err = c.Get(ctx, ep)
	wantErr(t, err, jute.ErrNoNode)
}

func TestTTLAndContainer(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	ctx := ctxT(t)
	p, st, err := c.CreateTTL(ctx, "/ttl", []byte("x"), client.Persistent, nil, time.Hour)
	if errors.Is(err, jute.ErrUnimplemented) {
		t.Skip("server has TTL nodes disabled (extendedTypesEnabled)")
	}
	must(t, err)
	if p != "/ttl" || st.Czxid == 0 {
		t.Fatalf("ttl %q %v", p, st)
	}
	_, err = c.Create(ctx, "/ttl2", nil, client.PersistentWithTTL, nil)
	wantErr(t, err, jute.ErrBadArguments)
	p, st, err = c.CreateContainer(ctx, "/box", nil, nil)
	must(t, err)
	if p != "/box" || st.Czxid == 0 {
		t.Fatalf("container %q %v", p, st)
	}
}

func TestACLAndAuth(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root, client.WithAuth("digest", []byte("alice:secret")))
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/private", []byte("s"), client.Persistent, jute.CreatorAllACL)
	must(t, err)
	acl, st, err := c.GetACL(ctx, "/private")
	must(t, err)
	if len(acl) != 1 || acl[0].ID.Scheme != "digest" || !strings.HasPrefix(acl[0].ID.ID, "alice:") || st.Aversion != 0 {
		t.Fatalf("acl %v", acl)
	}
	who, err := c.WhoAmI(ctx)
	if !errors.Is(err, jute.ErrUnimplemented) {
		must(t, err)
		found := false
		for _, w := range who {
			found = found || (w.AuthScheme == "digest" && w.User == "alice")
		}
		if !found {
			t.Fatalf("whoAmI %v", who)
		}
	}

	other := connect(t, servers, root)
	_, _, err = other.Get(ctx, "/private")
	wantErr(t, err, jute.ErrNoAuth)
	must(t, other.AddAuth(ctx, "digest", []byte("alice:secret")))
	data, _, err := other.Get(ctx, "/private")
	must(t, err)
	if string(data) != "s" {
		t.Fatalf("data %q", data)
	}
	_, err = c.SetACL(ctx, "/private", jute.OpenACLUnsafe, 3)
	wantErr(t, err, jute.ErrBadVersion)
	st, err = c.SetACL(ctx, "/private", jute.ReadACLUnsafe, 0)
	must(t, err)
	if st.Aversion != 1 {
		t.Fatalf("aversion %d", st.Aversion)
	}
	_, err = other.Set(ctx, "/private", nil, -1)
	wantErr(t, err, jute.ErrNoAuth)
}

func TestAuthSurvivesReconnect(t *testing.T) {
	servers, root := testRoot(t)
	h := &netHook{}
	c := connect(t, servers, root, client.WithDialer(h.dial))
	ctx := ctxT(t)
	must(t, c.AddAuth(ctx, "digest", []byte("bob:pw")))
	_, err := c.Create(ctx, "/mine", nil, client.Persistent, jute.CreatorAllACL)
	must(t, err)
	states := c.States()
	h.drop()
	waitState(t, states, client.StateDisconnected)
	waitState(t, states, client.StateConnected)
	_, _, err = c.Get(ctx, "/mine")
	must(t, err)
}

func TestMulti(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	ctx := ctxT(t)
	res, err := c.Multi(ctx,
		client.CreateOp("/m", []byte("0"), client.Persistent, nil),
		client.CreateOp("/m/s-", nil, client.PersistentSequential, nil),
		client.SetOp("/m", []byte("1"), 0),
		client.CheckOp("/m", 1),
	)
	must(t, err)
	if len(res) != 4 || res[0].Path != "/m" || !strings.HasPrefix(res[1].Path, "/m/s-") || res[2].Stat.Version != 1 {
		t.Fatalf("results %v", res)
	}
	res, err = c.Multi(ctx,
		client.CreateOp("/n", nil, client.Persistent, nil),
		client.CheckOp("/m", 7),
		client.DeleteOp("/m", -1),
	)
	wantErr(t, err, jute.ErrBadVersion)
	if len(res) != 3 || res[0].Err != nil || !errors.Is(res[1].Err, jute.ErrBadVersion) || !errors.Is(res[2].Err, jute.ErrRuntimeInconsistency) {
		t.Fatalf("failed multi results %v", res)
	}
	if ok, _, _ := c.Exists(ctx, "/n"); ok {
		t.Fatal("failed multi applied an op")
	}
	rr, err := c.MultiRead(ctx, client.GetDataOp("/m"), client.GetChildrenOp("/m"), client.GetDataOp("/zz"))
	must(t, err)
	if string(rr[0].Data) != "1" || len(rr[1].Children) != 1 || !errors.Is(rr[2].Err, jute.ErrNoNode) {
		t.Fatalf("multiRead %+v", rr)
	}
	if res, err := c.Multi(ctx); res != nil || err != nil {
		t.Fatal("empty multi")
	}
}

func TestOneShotWatches(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/w", nil, client.Persistent, nil)
	must(t, err)

	_, _, dataCh, err := c.GetW(ctx, "/w")
	must(t, err)
	ok, _, existCh, err := c.ExistsW(ctx, "/w/new")
	must(t, err)
	if ok {
		t.Fatal("exists")
	}
	_, _, childCh, err := c.ChildrenW(ctx, "/w")
	must(t, err)

	st, err := c.Set(ctx, "/w", []byte("x"), -1)
	must(t, err)
	ev := recvEvent(t, dataCh)
	if ev.Type != jute.EventNodeDataChanged || ev.Path != "/w" || ev.Err != nil {
		t.Fatalf("data event %v", ev)
	}
	if ev.Zxid != -1 && ev.Zxid != st.Mzxid {
		t.Fatalf("event zxid 0x%x, set at 0x%x", ev.Zxid, st.Mzxid)
	}
	if _, open := <-dataCh; open {
		t.Fatal("one-shot channel delivered a second event")
	}
	_, err = c.Create(ctx, "/w/new", nil, client.Persistent, nil)
	must(t, err)
	if ev := recvEvent(t, existCh); ev.Type != jute.EventNodeCreated || ev.Path != "/w/new" {
		t.Fatalf("exist event %v", ev)
	}
	if ev := recvEvent(t, childCh); ev.Type != jute.EventNodeChildrenChanged || ev.Path != "/w" {
		t.Fatalf("child event %v", ev)
	}
	_, _, err = func() ([]byte, jute.Stat, error) {
		_, _, ch, err := c.GetW(ctx, "/nope")
		if ch != nil {
			t.Fatal("watch channel for a failed get")
		}
		return nil, jute.Stat{}, err
	}()
	wantErr(t, err, jute.ErrNoNode)
}

func TestRemoveAndCheckWatches(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/r", nil, client.Persistent, nil)
	must(t, err)
	_, _, ch, err := c.GetW(ctx, "/r")
	must(t, err)
	must(t, c.CheckWatches(ctx, "/r", jute.WatcherData))
	wantErr(t, c.CheckWatches(ctx, "/r", jute.WatcherChildren), jute.ErrNoWatcher)
	must(t, c.RemoveWatches(ctx, "/r", jute.WatcherData))
	if ev := recvEvent(t, ch); ev.Type != jute.EventDataWatchRemoved {
		t.Fatalf("removed event %v", ev)
	}
	wantErr(t, c.RemoveWatches(ctx, "/r", jute.WatcherData), jute.ErrNoWatcher)
}

func TestPersistentWatches(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/p", nil, client.Persistent, nil)
	must(t, err)
	rec, err := c.Watch(ctx, "/p", true)
	must(t, err)
	// A flat persistent watch on another node: ZooKeeper 3.8 keeps one
	// watch mode per path and session, so it would replace the recursive one.
	_, err = c.Create(ctx, "/q", nil, client.Persistent, nil)
	must(t, err)
	flat, err := c.Watch(ctx, "/q", false)
	must(t, err)
	_, err = c.Create(ctx, "/q/child", nil, client.Persistent, nil)
	must(t, err)

	_, err = c.Create(ctx, "/p/a", nil, client.Persistent, nil)
	must(t, err)
	_, err = c.Create(ctx, "/p/a/b", nil, client.Persistent, nil)
	must(t, err)
	_, err = c.Set(ctx, "/p/a/b", []byte("x"), -1)
	must(t, err)
	must(t, c.Delete(ctx, "/p/a/b", -1))
	want := []string{"NodeCreated /p/a", "NodeCreated /p/a/b", "NodeDataChanged /p/a/b", "NodeDeleted /p/a/b"}
	for i, w := range want {
		ev := recvEvent(t, rec.Events())
		if got := ev.Type.String() + " " + ev.Path; got != w {
			t.Fatalf("recursive event %d: %q, want %q", i, got, w)
		}
	}
	if ev := recvEvent(t, flat.Events()); ev.Type != jute.EventNodeChildrenChanged || ev.Path != "/q" {
		t.Fatalf("persistent event %v", ev)
	}
	must(t, flat.Close())
	must(t, rec.Close())
	for range rec.Events() {
	}
	wantErr(t, c.CheckWatches(ctx, "/p", jute.WatcherAny), jute.ErrNoWatcher)
}

// TestWatchesSurviveReconnect drops the TCP connection; one-shot and
// persistent watches are re-registered, and a change made while the client
// was away still fires the one-shot watch (setWatches catch-up).
func TestWatchesSurviveReconnect(t *testing.T) {
	servers, root := testRoot(t)
	h := &netHook{}
	c := connect(t, servers, root, client.WithDialer(h.dial))
	other := connect(t, servers, root)
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/s", nil, client.Persistent, nil)
	must(t, err)
	_, _, dataCh, err := c.GetW(ctx, "/s")
	must(t, err)
	_, _, existCh, err := c.ExistsW(ctx, "/s/later")
	must(t, err)
	w, err := c.Watch(ctx, "/s", true)
	must(t, err)
	sid := c.SessionID()

	states := c.States()
	h.block(true)
	h.drop()
	waitState(t, states, client.StateDisconnected)
	_, err = other.Set(ctx, "/s", []byte("while away"), -1)
	must(t, err)
	h.block(false)
	waitState(t, states, client.StateConnected)
	if c.SessionID() != sid {
		t.Fatal("session changed across reconnect")
	}
	if ev := recvEvent(t, dataCh); ev.Type != jute.EventNodeDataChanged || ev.Path != "/s" {
		t.Fatalf("catch-up event %v", ev)
	}
	_, err = other.Create(ctx, "/s/later", nil, client.Persistent, nil)
	must(t, err)
	if ev := recvEvent(t, existCh); ev.Type != jute.EventNodeCreated {
		t.Fatalf("exist event after reconnect %v", ev)
	}
	for {
		ev := recvEvent(t, w.Events())
		if ev.Type == jute.EventNodeCreated && ev.Path == "/s/later" {
			break
		}
	}
}

func TestExpiryReported(t *testing.T) {
	servers, root := testRoot(t)
	h := &netHook{}
	c := connect(t, servers, root, client.WithDialer(h.dial), client.WithSessionTimeout(time.Second))
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/e", nil, client.Ephemeral, nil)
	must(t, err)
	_, _, ch, err := c.GetW(ctx, "/e")
	must(t, err)
	w, err := c.Watch(ctx, "/", true)
	must(t, err)
	states := c.States()
	start := time.Now()
	h.block(true)
	h.drop()
	waitState(t, states, client.StateExpired)
	t.Logf("expired %v after the drop (timeout %v)", time.Since(start), c.SessionTimeout())
	<-c.Done()
	if _, ok := <-states; ok {
		t.Fatal("state stream open after expiry")
	}
	if ev := recvEvent(t, ch); !errors.Is(ev.Err, jute.ErrSessionExpired) {
		t.Fatalf("watch end %v", ev)
	}
	var last client.Event
	for ev := range w.Events() {
		last = ev
	}
	wantErr(t, last.Err, jute.ErrSessionExpired)
	_, _, err = c.Get(ctx, "/e")
	wantErr(t, err, jute.ErrSessionExpired)
	if client.IsRetryable(err) {
		t.Fatal("expiry reported retryable")
	}
	wantErr(t, c.Err(), jute.ErrSessionExpired)
}

func TestServerSideExpiry(t *testing.T) {
	servers, root := testRoot(t)
	h := &netHook{}
	c := connect(t, servers, root, client.WithDialer(h.dial), client.WithSessionTimeout(time.Second),
		client.WithBackoff(time.Millisecond, time.Millisecond))
	states := c.States()
	// Stall: connections open but the server's replies never reach us;
	// reconnecting keeps failing until the client declares expiry, and a
	// new handshake would be refused by the server anyway.
	h.block(true)
	h.drop()
	waitState(t, states, client.StateExpired)
	_, err := c.Create(ctxT(t), "/x", nil, client.Persistent, nil)
	wantErr(t, err, jute.ErrSessionExpired)
}

func TestPipelining(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := fmt.Sprintf("/n%03d", i)
			if _, err := c.Create(ctx, p, []byte(p), client.Persistent, nil); err != nil {
				errs <- err
				return
			}
			data, _, err := c.Get(ctx, p)
			if err == nil && string(data) != p {
				err = fmt.Errorf("read %q from %s", data, p)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	kids, _, err := c.Children(ctx, "/")
	must(t, err)
	if len(kids) != 200 {
		t.Fatalf("%d children", len(kids))
	}
}

func TestMaxBufferDropsConnection(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root, client.WithMaxBufferSize(4096))
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/big", bytes.Repeat([]byte("x"), 8000), client.Persistent, nil)
	must(t, err)
	_, _, err = c.Get(ctx, "/big")
	wantErr(t, err, jute.ErrConnectionLoss)
	if !client.IsRetryable(err) {
		t.Fatal("connection loss not retryable")
	}
	_, _, err = c.Exists(ctx, "/big") // the client reconnects by itself
	must(t, err)
}

func TestCloseEndsSession(t *testing.T) {
	servers, root := testRoot(t)
	c := connect(t, servers, root)
	other := connect(t, servers, root)
	ctx := ctxT(t)
	_, err := c.Create(ctx, "/eph", nil, client.Ephemeral, nil)
	must(t, err)
	_, _, ch, err := other.ExistsW(ctx, "/eph")
	must(t, err)
	_, err = c.Create(ctx, "/keep", nil, client.Persistent, nil)
	must(t, err)
	_, _, own, err := c.GetW(ctx, "/keep")
	must(t, err)
	must(t, c.Close())
	must(t, c.Close())
	if ev := recvEvent(t, ch); ev.Type != jute.EventNodeDeleted {
		t.Fatalf("ephemeral not deleted on close: %v", ev)
	}
	if ev := recvEvent(t, own); !errors.Is(ev.Err, client.ErrClosed) {
		t.Fatalf("own watch end %v", ev)
	}
	if c.State() != client.StateClosed {
		t.Fatalf("state %s", c.State())
	}
	_, _, err = c.Get(ctx, "/")
	wantErr(t, err, client.ErrClosed)
}

func TestChrootPaths(t *testing.T) {
	servers, root := testRoot(t)
	full, err := client.Connect(ctxT(t), servers)
	must(t, err)
	defer full.Close()
	c := connect(t, servers, root)
	ctx := ctxT(t)
	p, err := c.Create(ctx, "/q-", nil, client.PersistentSequential, nil)
	must(t, err)
	if !strings.HasPrefix(p, "/q-") {
		t.Fatalf("chroot not stripped: %q", p)
	}
	if ok, _, _ := full.Exists(ctx, root+p); !ok {
		t.Fatalf("%s missing under the chroot", root+p)
	}
	_, _, ch, err := c.GetW(ctx, p)
	must(t, err)
	_, err = full.Set(ctx, root+p, nil, -1)
	must(t, err)
	if ev := recvEvent(t, ch); ev.Path != p {
		t.Fatalf("event path %q", ev.Path)
	}
	kids, _, err := c.Children(ctx, "/")
	must(t, err)
	if len(kids) != 1 {
		t.Fatalf("root children %v", kids)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	servers, root := testRoot(t)
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		c, err := client.Connect(ctxT(t), servers, client.WithChroot(root))
		must(t, err)
		w, err := c.Watch(ctxT(t), "/", true)
		must(t, err)
		_, _, _, err = c.GetW(ctxT(t), "/")
		must(t, err)
		must(t, c.Close())
		must(t, w.Close()) // nobody reads the stream: Close releases it
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
