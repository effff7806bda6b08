package procs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// orderedHosts is a zk.HostProvider that tries servers in a fixed order, so
// a test knows which member a session starts on. zk.Connect shuffles the
// list before Init, so the order is the one given at construction.
type orderedHosts struct {
	mu         sync.Mutex
	servers    []string
	curr, last int
}

func newOrderedHosts(servers []string) *orderedHosts {
	return &orderedHosts{servers: append([]string(nil), servers...), curr: -1, last: -1}
}

// Init only checks that go-zookeeper got the same servers, in any order.
func (h *orderedHosts) Init(shuffled []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if strings.Join(sorted(shuffled), ",") != strings.Join(sorted(h.servers), ",") {
		return fmt.Errorf("orderedHosts: given %v, built for %v", shuffled, h.servers)
	}
	return nil
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func (h *orderedHosts) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.servers)
}

// Next reports retryStart once every server was tried since the last
// successful connection (go-zookeeper then pauses a second).
func (h *orderedHosts) Next() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.curr = (h.curr + 1) % len(h.servers)
	retry := h.curr == h.last
	if h.last == -1 {
		h.last = 0
	}
	return h.servers[h.curr], retry
}

func (h *orderedHosts) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = h.curr
}

// fileLogger keeps go-zookeeper's messages in a file of the test's temp dir,
// printed only when the test fails (t.Logf is unsafe after the test ends).
type fileLogger struct {
	mu sync.Mutex
	f  *os.File
}

func newFileLogger(t *testing.T) *fileLogger {
	path := filepath.Join(t.TempDir(), "client.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	l := &fileLogger{f: f}
	t.Cleanup(func() {
		l.mu.Lock()
		l.f.Close()
		l.f = nil
		l.mu.Unlock()
		if showLogs(t) {
			t.Logf("---- go-zookeeper log ----\n%s", tail(path, 80))
		}
	})
	return l
}

func (l *fileLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		fmt.Fprintf(l.f, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}
}

// connect opens a go-zookeeper session trying addrs in order and waits until
// it has a session; the connection is closed in t.Cleanup.
func connect(t *testing.T, log *fileLogger, timeout time.Duration, addrs ...string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(addrs, timeout, zk.WithHostProvider(newOrderedHosts(addrs)),
		zk.WithLogger(log), zk.WithLogInfo(true), zk.WithEventCallback(func(e zk.Event) {
			if e.Type == zk.EventSession {
				log.Printf("session event: %v on %s", e.State, e.Server)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitFor(t, fmt.Sprintf("a session with %v", addrs), 20*time.Second, func() (bool, string) {
		return c.State() == zk.StateHasSession, c.State().String()
	})
	return c
}

// acks records every acknowledged write and the longest pause between two
// consecutive acknowledgements.
type acks struct {
	mu     sync.Mutex
	paths  map[string]string // path -> data
	times  []time.Time
	maxGap time.Duration
	gapEnd time.Time // when the longest pause ended
}

func newAcks() *acks { return &acks{paths: map[string]string{}} }

func (a *acks) add(path, data string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now() // taken under the lock so times stay in order
	if _, dup := a.paths[path]; dup {
		panic("the server acknowledged the same path twice: " + path)
	}
	a.paths[path] = data
	if n := len(a.times); n > 0 && now.Sub(a.times[n-1]) > a.maxGap {
		a.maxGap, a.gapEnd = now.Sub(a.times[n-1]), now
	}
	a.times = append(a.times, now)
}

func (a *acks) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.times)
}

// since counts acknowledgements received after t.
func (a *acks) since(t time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for i := len(a.times) - 1; i >= 0 && a.times[i].After(t); i-- {
		n++
	}
	return n
}

// snapshot copies the acknowledged paths and their data.
func (a *acks) snapshot() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]string, len(a.paths))
	for p, d := range a.paths {
		out[p] = d
	}
	return out
}

// firstError keeps the first error any goroutine reports.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
