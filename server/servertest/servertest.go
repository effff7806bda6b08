// Package servertest starts in-process zabkeeper servers for tests: on
// 127.0.0.1 with an ephemeral port, data in t.TempDir(), stopped by
// t.Cleanup.
package servertest

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/server"
)

// ConfigT is the configuration type options adjust.
type ConfigT = conf.Config

// Option adjusts the configuration before the server starts.
type Option func(*conf.Config)

// WithConfig applies f to the configuration.
func WithConfig(f func(*conf.Config)) Option { return Option(f) }

// Config is the test configuration Start uses: standalone, 127.0.0.1:0,
// fsync off, short ticks, every four-letter word allowed.
func Config(t testing.TB, opts ...Option) *conf.Config {
	cfg := conf.Default()
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.ForceSync = false
	cfg.TickTime = 100 * time.Millisecond
	cfg.MinSessionTimeout = 200 * time.Millisecond
	cfg.MaxSessionTimeout = 60 * time.Second
	cfg.FourLetterWords = []string{"*"}
	cfg.ExtendedTypesEnabled = true
	cfg.AdminEnabled = false // tests that want it set AdminPort = 0 (a free port)
	for _, o := range opts {
		o(cfg)
	}
	return cfg
}

// Start runs a standalone server and returns it; its address is
// srv.Addr().String().
func Start(t testing.TB, opts ...Option) *server.Server {
	t.Helper()
	return StartConfig(t, Config(t, opts...))
}

// StartConfig runs a server with exactly cfg.
func StartConfig(t testing.TB, cfg *conf.Config) *server.Server {
	t.Helper()
	log := zap.NewNop()
	if testing.Verbose() {
		log = zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	}
	srv, err := server.New(cfg, log)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("servertest: start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// EnsembleConfigs is one configuration per member of an n-member ensemble
// on 127.0.0.1 with free ports.
func EnsembleConfigs(t testing.TB, n int, opts ...Option) []*conf.Config {
	t.Helper()
	ports := FreePorts(t, 3*n)
	var servers []conf.Server
	for i := 0; i < n; i++ {
		servers = append(servers, conf.Server{ID: int64(i + 1), Host: "127.0.0.1",
			PeerPort: ports[3*i], ElectionPort: ports[3*i+1], Role: conf.RoleParticipant,
			ClientHost: "127.0.0.1", ClientPort: ports[3*i+2]})
	}
	cfgs := make([]*conf.Config, n)
	for i := range cfgs {
		c := Config(t, opts...)
		c.Servers = servers
		c.MyID = int64(i + 1)
		c.ClientPort = ports[3*i+2]
		cfgs[i] = c
	}
	return cfgs
}

// StartEnsemble runs an n-member ensemble in this process and waits until
// every member serves clients.
func StartEnsemble(t testing.TB, n int, opts ...Option) []*server.Server {
	t.Helper()
	var srvs []*server.Server
	for _, cfg := range EnsembleConfigs(t, n, opts...) {
		srvs = append(srvs, StartConfig(t, cfg))
	}
	WaitServing(t, srvs...)
	return srvs
}

// WaitServing waits (up to 20 s) until each server leads or follows.
func WaitServing(t testing.TB, srvs ...*server.Server) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range srvs {
		for !s.Serving() {
			if time.Now().After(deadline) {
				t.Fatalf("servertest: member at %s not serving (mode %s)", s.Addr(), s.Mode())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// FreePorts reserves n distinct free TCP ports on 127.0.0.1.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("servertest: free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
