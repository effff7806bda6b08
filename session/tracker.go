package session

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
)

// Tracker decides when sessions expire. Deadlines are rounded up to the next
// multiple of the tick interval so that sessions share a few buckets and the
// driver wakes once per tick rather than once per session.
type Tracker struct {
	tick     int64
	sessions map[int64]tracked
	// buckets maps a bucket time to its sessions. A key stays present (maybe
	// empty) exactly as long as its time is in times, so a bucket time is
	// never pushed twice.
	buckets map[int64]map[int64]struct{}
	times   timeHeap
}

type tracked struct {
	timeoutMs int32
	expiresAt int64
}

// Bucket is one expiry time and the sessions that expire at it.
type Bucket struct {
	ExpiresAt int64
	IDs       []int64
}

func (b Bucket) String() string {
	return fmt.Sprintf("bucket(%d: %d sessions)", b.ExpiresAt, len(b.IDs))
}

// NewTracker makes a tracker with bucket interval tickMs (ZooKeeper's tickTime).
func NewTracker(tickMs int64) *Tracker {
	if tickMs <= 0 {
		panic("session: NewTracker needs a positive tick")
	}
	return &Tracker{
		tick:     tickMs,
		sessions: make(map[int64]tracked),
		buckets:  make(map[int64]map[int64]struct{}),
	}
}

func (t *Tracker) String() string {
	return fmt.Sprintf("tracker(tick=%dms, %d sessions)", t.tick, len(t.sessions))
}

// roundUp gives the bucket for a deadline: strictly after it, on a tick
// boundary, as ZooKeeper's ExpiryQueue does ((t/interval + 1) * interval).
func (t *Tracker) roundUp(ms int64) int64 {
	return (ms/t.tick + 1) * t.tick
}

// Add starts tracking session id with its negotiated timeout. Adding a known
// id updates its timeout and touches it.
func (t *Tracker) Add(id int64, timeoutMs int32, nowMs int64) {
	s, ok := t.sessions[id]
	if ok {
		t.unbucket(id, s.expiresAt)
	}
	s = tracked{timeoutMs: timeoutMs, expiresAt: t.roundUp(nowMs + int64(timeoutMs))}
	t.sessions[id] = s
	t.bucket(id, s.expiresAt)
}

// Touch records activity on session id at nowMs, pushing its deadline back by
// its timeout. It returns false if the session is unknown (expired or removed),
// in which case the caller must treat the session as gone.
func (t *Tracker) Touch(id int64, nowMs int64) bool {
	s, ok := t.sessions[id]
	if !ok {
		return false
	}
	at := t.roundUp(nowMs + int64(s.timeoutMs))
	if at == s.expiresAt {
		return true // same bucket: the common case under steady pings
	}
	t.unbucket(id, s.expiresAt)
	s.expiresAt = at
	t.sessions[id] = s
	t.bucket(id, at)
	return true
}

// Remove stops tracking session id (closed by the client); unknown ids are ignored.
func (t *Tracker) Remove(id int64) {
	s, ok := t.sessions[id]
	if !ok {
		return
	}
	t.unbucket(id, s.expiresAt)
	delete(t.sessions, id)
}

// Expired removes and returns, sorted, every session whose bucket time is <= nowMs.
func (t *Tracker) Expired(nowMs int64) []int64 {
	var out []int64
	for len(t.times) > 0 && t.times[0] <= nowMs {
		at := heap.Pop(&t.times).(int64)
		for id := range t.buckets[at] {
			out = append(out, id)
			delete(t.sessions, id)
		}
		delete(t.buckets, at)
	}
	slices.Sort(out)
	return out
}

// NextExpiry returns the earliest non-empty bucket time, so the driver knows
// when to call Expired next; false if no session is tracked.
func (t *Tracker) NextExpiry() (int64, bool) {
	for len(t.times) > 0 {
		at := t.times[0]
		if len(t.buckets[at]) > 0 {
			return at, true
		}
		heap.Pop(&t.times) // drop buckets emptied by Touch/Remove
		delete(t.buckets, at)
	}
	return 0, false
}

// Deadline returns the bucket time at which session id will expire.
func (t *Tracker) Deadline(id int64) (int64, bool) {
	s, ok := t.sessions[id]
	return s.expiresAt, ok
}

// Len is the number of tracked sessions.
func (t *Tracker) Len() int { return len(t.sessions) }

// Buckets lists the non-empty buckets in time order with sorted ids (for `dump`).
func (t *Tracker) Buckets() []Bucket {
	out := make([]Bucket, 0, len(t.buckets))
	for at, ids := range t.buckets {
		if len(ids) == 0 {
			continue
		}
		b := Bucket{ExpiresAt: at, IDs: make([]int64, 0, len(ids))}
		for id := range ids {
			b.IDs = append(b.IDs, id)
		}
		slices.Sort(b.IDs)
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bucket) int { return cmp.Compare(a.ExpiresAt, b.ExpiresAt) })
	return out
}

func (t *Tracker) bucket(id, at int64) {
	ids, ok := t.buckets[at]
	if !ok {
		ids = make(map[int64]struct{})
		t.buckets[at] = ids
		heap.Push(&t.times, at)
	}
	ids[id] = struct{}{}
}

// unbucket leaves an emptied bucket in place; NextExpiry or Expired drops it
// when its time comes to the top of the heap.
func (t *Tracker) unbucket(id, at int64) {
	delete(t.buckets[at], id)
}

// timeHeap is a min-heap of bucket times.
type timeHeap []int64

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
