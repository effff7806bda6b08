package server_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/go-zookeeper/zk"
)

// proxy forwards TCP to the server and can cut every live connection, so a
// real client goes through its reconnect path (same session, setWatches,
// auth resent).
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(out, in); out.Close() }()
			go func() { defer p.wg.Done(); io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestE2EGoZKReconnect(t *testing.T) {
	_, addr := start(t)
	px := newProxy(t, addr)
	zc, events := gozk(t, px.ln.Addr().String())
	writer, _ := gozk(t, addr)
	if err := zc.AddAuth("digest", []byte("carol:pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := zc.Create("/priv", []byte("p"), 0, zk.DigestACL(zk.PermAll, "carol", "pw")); err != nil {
		t.Fatal(err)
	}
	zc.Create("/eph", nil, zk.FlagEphemeral, world)
	writer.Create("/watched", nil, 0, world)
	_, _, dch, _ := zc.GetW("/watched")
	_, _, ech, _ := zc.ExistsW("/later")
	sid := zc.SessionID()

	px.cut()
	// While the client is away, the watched node changes.
	writer.Set("/watched", []byte("changed"), -1)
	writer.Create("/later", nil, 0, world)

	// The client comes back on the same session and catches up.
	if ev := waitEvent(t, dch); ev.Type != zk.EventNodeDataChanged || ev.Path != "/watched" {
		t.Fatalf("data watch after reconnect: %+v", ev)
	}
	if ev := waitEvent(t, ech); ev.Type != zk.EventNodeCreated || ev.Path != "/later" {
		t.Fatalf("exist watch after reconnect: %+v", ev)
	}
	for zc.State() != zk.StateHasSession {
		waitEvent(t, events)
	}
	if zc.SessionID() != sid {
		t.Fatalf("session changed from %x to %x", sid, zc.SessionID())
	}
	if ok, _, _ := writer.Exists("/eph"); !ok {
		t.Fatal("ephemeral lost across a reconnect")
	}
	// Credentials were sent again.
	if data, _, err := zc.Get("/priv"); err != nil || string(data) != "p" {
		t.Fatalf("auth after reconnect: %q %v", data, err)
	}
	if _, _, err := writer.Get("/priv"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("stranger: %v", err)
	}
}
