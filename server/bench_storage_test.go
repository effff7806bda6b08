package server_test

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/server"
	"github.com/zabkeeper/zabkeeper/server/servertest"
	"github.com/zabkeeper/zabkeeper/store"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// The storage targets: start-up with 1,000,000 znodes of 100 bytes
// under 3 s; a snapshot of that tree under 2 s with no write stalled over
// 50 ms. These benchmarks report the figures; they assert nothing on time.

const (
	benchDirs     = 1000 // /bench/dNNNN, each with benchPerDir children
	benchPerDir   = 1000
	benchDataSize = 100
)

func benchNodePath(d, n int) string { return fmt.Sprintf("/bench/d%04d/n%06d", d, n) }

type benchZKLogger struct{}

func (benchZKLogger) Printf(string, ...any) {}

// benchDataDir makes a data directory holding one snapshot of a tree of
// benchDirs*benchPerDir znodes of benchDataSize bytes (plus their parents),
// built with tree.Apply and streamed into the store as a snapshot, and
// returns a server configuration pointing at it.
func benchDataDir(b *testing.B) *conf.Config {
	b.Helper()
	cfg := servertest.Config(b, servertest.WithConfig(func(c *conf.Config) {
		c.SnapCount = 1 << 30 // only the benchmark takes snapshots
		c.MaxClientCnxns = 0
	}))
	t := tree.New()
	z := zxid.New(1, 0)
	data := make([]byte, benchDataSize)
	rand.New(rand.NewSource(1)).Read(data)
	create := func(p string) {
		z++
		r := t.Apply(z, &tree.Txn{Time: 1_700_000_000_000 + int64(z&0xffff),
			Op: tree.Op{Type: jute.OpCreate, Path: p, Data: data, ACL: jute.OpenACLUnsafe}})
		if r.Err != nil {
			b.Fatalf("create %s: %v", p, r.Err)
		}
	}
	create("/bench")
	for d := 0; d < benchDirs; d++ {
		create(fmt.Sprintf("/bench/d%04d", d))
		for n := 0; n < benchPerDir; n++ {
			create(benchNodePath(d, n))
		}
	}
	pr, pw := io.Pipe()
	go func() {
		snap := t.BeginSnapshot()
		for {
			done, err := snap.WriteChunk(pw, 4096)
			if err != nil || done {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	dir, logDir := server.StoreDirs(cfg.DataDir, cfg.DataLogDir)
	if err := store.RestoreSnapshot(dir, logDir, t.LastZxid(), pr); err != nil {
		b.Fatalf("write snapshot: %v", err)
	}
	b.Logf("data dir: %d znodes at %s", t.NodeCount(), t.LastZxid())
	t = nil
	runtime.GC()
	return cfg
}

func benchConnect(b *testing.B, addr string) *zk.Conn {
	b.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(benchZKLogger{}), zk.WithLogInfo(false))
	if err != nil {
		b.Fatalf("zk.Connect: %v", err)
	}
	return c
}

// startServing starts a server on cfg and returns once a client has read
// a restored znode through it.
func startServing(b *testing.B, cfg *conf.Config) *server.Server {
	b.Helper()
	srv, err := server.New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatalf("start: %v", err)
	}
	c := benchConnect(b, srv.Addr().String())
	defer c.Close()
	if _, _, err := c.Get(benchNodePath(benchDirs-1, benchPerDir-1)); err != nil {
		b.Fatalf("read after start: %v", err)
	}
	return srv
}

func BenchmarkStartup1M(b *testing.B) {
	cfg := benchDataDir(b)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		runtime.GC()
		start := time.Now()
		srv := startServing(b, cfg)
		total += time.Since(start)
		b.StopTimer()
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-serve")
}

// writeSample is one setData as a client saw it.
type writeSample struct {
	start time.Time
	lat   time.Duration
}

func BenchmarkSnapshot1M(b *testing.B) {
	cfg := benchDataDir(b)
	srv := startServing(b, cfg)
	defer srv.Close()
	const writers = 8
	var stop atomic.Bool
	var wg sync.WaitGroup
	samples := make([][]writeSample, writers)
	for w := 0; w < writers; w++ {
		c := benchConnect(b, srv.Addr().String())
		defer c.Close()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			val := make([]byte, benchDataSize)
			for !stop.Load() {
				p := benchNodePath(rng.Intn(benchDirs), rng.Intn(benchPerDir))
				rng.Read(val)
				t0 := time.Now()
				if _, err := c.Set(p, val, -1); err != nil {
					b.Errorf("set %s: %v", p, err)
					return
				}
				samples[w] = append(samples[w], writeSample{t0, time.Since(t0)})
			}
		}(w)
	}
	time.Sleep(200 * time.Millisecond) // writers at full speed before the snapshot starts
	quiet := [2]time.Time{time.Now()}
	time.Sleep(300 * time.Millisecond) // a window without a snapshot, for comparison
	quiet[1] = time.Now()
	b.ResetTimer()
	var snapTotal time.Duration
	var windows [][2]time.Time
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := srv.TakeSnapshot(); err != nil {
			b.Fatalf("snapshot: %v", err)
		}
		t1 := time.Now()
		snapTotal += t1.Sub(t0)
		windows = append(windows, [2]time.Time{t0, t1})
	}
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
	during, maxLat, p99 := writesDuring(samples, windows)
	_, quietMax, _ := writesDuring(samples, [][2]time.Time{quiet})
	b.ReportMetric(float64(snapTotal.Milliseconds())/float64(b.N), "ms/snapshot")
	b.ReportMetric(float64(maxLat.Microseconds())/1000, "max-write-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-write-ms")
	b.ReportMetric(float64(quietMax.Microseconds())/1000, "max-write-ms-nosnap")
	b.ReportMetric(float64(during)/snapTotal.Seconds(), "writes/s-during")
}

// writesDuring counts the writes that overlapped a snapshot and their
// longest and 99th-percentile latencies.
func writesDuring(samples [][]writeSample, windows [][2]time.Time) (int, time.Duration, time.Duration) {
	var lats []time.Duration
	for _, ws := range samples {
		for _, s := range ws {
			end := s.start.Add(s.lat)
			for _, win := range windows {
				if !end.Before(win[0]) && !s.start.After(win[1]) {
					lats = append(lats, s.lat)
					break
				}
			}
		}
	}
	if len(lats) == 0 {
		return 0, 0, 0
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	return len(lats), lats[len(lats)-1], lats[len(lats)*99/100]
}
