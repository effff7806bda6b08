package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/internal/testserver"
	"github.com/zabkeeper/zabkeeper/jute"
)

// netHook is a dialer that tests can cut (drop) and block (no reconnects).
type netHook struct {
	mu      sync.Mutex
	conns   []net.Conn
	blocked bool
	dials   int
}

func (h *netHook) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	h.mu.Lock()
	blocked := h.blocked
	h.dials++
	h.mu.Unlock()
	if blocked {
		return nil, errors.New("netHook: dialing blocked")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.conns = append(h.conns, nc)
	h.mu.Unlock()
	return nc, nil
}

func (h *netHook) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}

func (h *netHook) block(b bool) {
	h.mu.Lock()
	h.blocked = b
	h.mu.Unlock()
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testRoot makes a fresh root node for one test and removes it afterwards,
// so tests never see each other's nodes on a shared server.
func testRoot(t testing.TB) (servers []string, root string) {
	servers = testserver.Start(t)
	ctx := ctxT(t)
	admin, err := client.Connect(ctx, servers)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	root = fmt.Sprintf("/test-%s-%d", sanitize(t.Name()), time.Now().UnixNano())
	if _, err := admin.Create(ctx, root, nil, client.Persistent, nil); err != nil {
		t.Fatalf("create root: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		deleteAll(ctx, admin, root)
		admin.Close()
	})
	return servers, root
}

func sanitize(s string) string {
	out := []byte(s)
	for i, b := range out {
		if b == '/' || b == ' ' {
			out[i] = '_'
		}
	}
	return string(out)
}

func deleteAll(ctx context.Context, c *client.Client, p string) {
	kids, _, _ := c.Children(ctx, p)
	for _, k := range kids {
		deleteAll(ctx, c, path.Join(p, k))
	}
	_ = c.Delete(ctx, p, -1)
}

// connect opens a client chrooted at root and closes it at the end.
func connect(t testing.TB, servers []string, root string, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{client.WithChroot(root)}, opts...)
	c, err := client.Connect(ctxT(t), servers, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitState waits for s on a state subscription.
func waitState(t testing.TB, states <-chan client.State, s client.State) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got, ok := <-states:
			if !ok {
				t.Fatalf("state stream closed while waiting for %s", s)
			}
			if got == s {
				return
			}
		case <-timeout:
			t.Fatalf("no %s state", s)
		}
	}
}

func recvEvent(t testing.TB, ch <-chan client.Event) client.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("event channel closed")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatalf("no event")
	}
	return client.Event{}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

var _ = jute.OK
