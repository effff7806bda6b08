// Package servertest starts in-process zabkeeper servers for tests: on
// 127.0.0.1 with an ephemeral port, data in t.TempDir(), stopped by
// t.Cleanup.
package servertest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/server"
)

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
