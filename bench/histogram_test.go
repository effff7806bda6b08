package bench

import (
	"testing"
	"time"
)

func TestHistogramEmpty(t *testing.T) {
	h := NewHistogram()
	if h.Count() != 0 || h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatalf("empty histogram: %s", h)
	}
}

func TestHistogramExactSmallValues(t *testing.T) {
	h := NewHistogram()
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {0.999, 100}, {0.01, 1}, {1, 100}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if h.Min() != 1 || h.Max() != 100 || h.Mean() != 50 {
		t.Errorf("min/mean/max = %d/%d/%d", h.Min(), h.Mean(), h.Max())
	}
}

// Latencies of 1..10000 µs: each percentile within the bucket precision
// (1/64) of the exact answer.
func TestHistogramPercentilesWithinPrecision(t *testing.T) {
	h := NewHistogram()
	for v := 1; v <= 10000; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {0.999, 9990 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got-c.want) > float64(c.want)/64 {
			t.Errorf("Quantile(%v) = %s, want %s within 1/64 above", c.q, got, c.want)
		}
	}
	if h.Max() != 10*time.Millisecond || h.Count() != 10000 {
		t.Errorf("max %s count %d", h.Max(), h.Count())
	}
}

func TestHistogramSkewedTail(t *testing.T) {
	h := NewHistogram()
	for i := 0; i < 990; i++ {
		h.Record(time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		h.Record(time.Second)
	}
	if got := h.Quantile(0.5); got < time.Millisecond || got > time.Millisecond*65/64 {
		t.Errorf("p50 = %s, want about 1ms", got)
	}
	if got := h.Quantile(0.999); got != time.Second {
		t.Errorf("p99.9 = %s, want 1s (clamped to max)", got)
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	for v := 1; v <= 50; v++ {
		a.Record(time.Duration(v))
	}
	for v := 51; v <= 100; v++ {
		b.Record(time.Duration(v))
	}
	a.Merge(b)
	if a.Count() != 100 || a.Quantile(0.5) != 50 || a.Min() != 1 || a.Max() != 100 {
		t.Fatalf("merged: %s min %d", a, a.Min())
	}
}

func TestBucketRangeCoversValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 123456789, 1<<63 + 5, ^uint64(0)} {
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Errorf("value %d in bucket [%d,%d]", v, lo, hi)
		}
		if bucketOf(v) >= maxBuckets {
			t.Errorf("value %d: bucket %d out of range", v, bucketOf(v))
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	for i := 0; i < b.N; i++ {
		h.Record(time.Duration(i%5000) * time.Microsecond)
	}
}
