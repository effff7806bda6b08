package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/internal/testserver"
)

// env is one test's server and private root.
type env struct {
	t       *testing.T
	servers []string
	root    string
}

func newEnv(t *testing.T) *env {
	servers := testserver.Start(t)
	root := fmt.Sprintf("/recipe-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	e := &env{t: t, servers: servers, root: root}
	admin := e.client()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		deleteAll(ctx, admin, root)
	})
	return e
}

func deleteAll(ctx context.Context, c *client.Client, p string) {
	kids, _, _ := c.Children(ctx, p)
	for _, k := range kids {
		deleteAll(ctx, c, path.Join(p, k))
	}
	_ = c.Delete(ctx, p, -1)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) client(opts ...client.Option) *client.Client {
	c, err := client.Connect(ctxT(e.t), e.servers, opts...)
	if err != nil {
		e.t.Fatalf("connect: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) path(p string) string { return e.root + p }

// netHook cuts and blocks one client's connections, to expire its session.
type netHook struct {
	mu      sync.Mutex
	conns   []net.Conn
	blocked bool
}

func (h *netHook) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.blocked {
		return nil, errors.New("blocked")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err == nil {
		h.conns = append(h.conns, nc)
	}
	return nc, err
}

// isolate blocks new connections and drops the current ones.
func (h *netHook) isolate() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.blocked = true
	for _, c := range h.conns {
		c.Close()
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}
