package tree

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

var data100 = bytes.Repeat([]byte("x"), 100)

// build makes a tree of n nodes with 100-byte data, 1000 per parent.
func build(n int) (*Tree, zxid.Zxid) {
	tr := New()
	z := zxid.Zxid(0)
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			z++
			tr.Apply(z, &Txn{Op: Op{Type: jute.OpCreate, Path: fmt.Sprintf("/p%d", i/1000), ACL: jute.OpenACLUnsafe}})
		}
		z++
		r := tr.Apply(z, &Txn{Op: Op{Type: jute.OpCreate, Path: fmt.Sprintf("/p%d/n%d", i/1000, i), Data: bytes.Clone(data100), ACL: jute.OpenACLUnsafe}})
		if r.Err != nil {
			panic(r.Err)
		}
	}
	return tr, z
}

func BenchmarkApplyCreate(b *testing.B) {
	tr, z := build(0)
	paths := make([]string, b.N)
	for i := range paths {
		paths[i] = fmt.Sprintf("/n%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z++
		tr.Apply(z, &Txn{Op: Op{Type: jute.OpCreate, Path: paths[i], Data: data100, ACL: jute.OpenACLUnsafe}})
	}
}

func BenchmarkApplySetData(b *testing.B) {
	tr, z := build(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z++
		tr.Apply(z, &Txn{Op: Op{Type: jute.OpSetData, Path: "/p0/n7", Data: data100, Version: -1}})
	}
}

func BenchmarkGetData(b *testing.B) {
	tr, _ := build(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := tr.GetData("/p0/n7", nil); err != nil {
			b.Fatal(err)
		}
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func writeSnapshot(tr *Tree, w io.Writer) {
	s := tr.BeginSnapshot()
	for done := false; !done; {
		var err error
		if done, err = s.WriteChunk(w, 1000); err != nil {
			panic(err)
		}
	}
}

func BenchmarkSnapshot100k(b *testing.B) {
	tr, _ := build(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	var cw countWriter
	for i := 0; i < b.N; i++ {
		writeSnapshot(tr, &cw)
	}
	b.ReportMetric(float64(cw.n)/float64(b.N), "bytes/snap")
}

func BenchmarkRestore100k(b *testing.B) {
	tr, _ := build(100_000)
	var buf bytes.Buffer
	writeSnapshot(tr, &buf)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Restore(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeapPerNode reports live heap bytes per node for 100k nodes of
// 100 bytes (data included).
func BenchmarkHeapPerNode(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tr, _ := build(100_000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100_000, "heapB/node")
		runtime.KeepAlive(tr)
	}
}
