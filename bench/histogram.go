package bench

import (
	"fmt"
	"math/bits"
	"time"
)

// Histogram counts durations in log-spaced buckets, HDR style: values below
// 128 ns are exact, larger ones share a bucket with values within 1/64
// (about 1.6 %) of them. Recording is O(1) with no allocation, so every
// request can be recorded; one histogram per goroutine, merged at the end.
type Histogram struct {
	counts   []uint64
	total    uint64
	sum      uint64
	min, max uint64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits            // exact values below this
	halfSub    = subBuckets / 2          // buckets per power of two above it
	maxBuckets = subBuckets + 57*halfSub // enough for any uint64
)

// NewHistogram is an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, maxBuckets)}
}

// bucketOf maps a value to its bucket index.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBits // >= 1
	m := v >> uint(e)            // in [halfSub, subBuckets)
	return subBuckets + (e-1)*halfSub + int(m-halfSub)
}

// bucketRange is the lowest and highest value that land in bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < subBuckets {
		return uint64(i), uint64(i)
	}
	e := (i-subBuckets)/halfSub + 1
	m := uint64((i-subBuckets)%halfSub + halfSub)
	return m << uint(e), (m+1)<<uint(e) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += v
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.total += o.total
	h.sum += o.sum
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min and Max are the exact extremes (0 when empty).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the exact average (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / h.total)
}

// Quantile is the value below or at which a fraction q (0..1) of the
// recorded values lie: the highest value of the bucket holding that rank,
// clamped to the recorded extremes, as HDR histograms report it.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			return time.Duration(min(max(hi, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// String summarises the histogram on one line.
func (h *Histogram) String() string {
	return fmt.Sprintf("n=%d p50=%s p99=%s p99.9=%s max=%s", h.total,
		h.Quantile(0.5), h.Quantile(0.99), h.Quantile(0.999), h.Max())
}
