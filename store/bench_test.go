package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// BenchmarkAppendSync measures durable appends of one 100-byte entry per
// call on the real disk with 1, 8 and 64 concurrent writers. Each writer
// appends in zxid order under a sequencer lock (as the ZAB loop does) and
// waits for durability outside it, so concurrent waits share fsyncs.
func BenchmarkAppendSync(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := mustOpen(b, Options{Dir: b.TempDir()})
			defer s.Close()
			data := make([]byte, 100)
			var seq sync.Mutex
			var counter uint32
			var left atomic.Int64
			left.Store(int64(b.N))
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for left.Add(-1) >= 0 {
						seq.Lock()
						counter++
						err := s.Append([]Entry{{Zxid: zxid.New(1, counter), Data: data}})
						seq.Unlock()
						if err == nil {
							err = s.Sync()
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			s.mu.Lock()
			b.ReportMetric(float64(b.N)/float64(max(s.rounds, 1)), "appends/fsync")
			s.mu.Unlock()
		})
	}
}

// BenchmarkAppendSyncOneCaller is AppendSync itself from a single goroutine.
func BenchmarkAppendSyncOneCaller(b *testing.B) {
	s := mustOpen(b, Options{Dir: b.TempDir()})
	defer s.Close()
	data := make([]byte, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.AppendSync([]Entry{{Zxid: zxid.New(1, uint32(i+1)), Data: data}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// BenchmarkFsync is the machine's raw cost of a 512-byte write plus fsync,
// the floor under any synced append.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
}
