package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// Phases of a run, as seen by the workers.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// runner is the state every worker of one run shares.
type runner struct {
	cfg   Config
	base  time.Time // all times below are nanoseconds since base
	phase atomic.Int32
	value []byte
	token string // makes this run's created paths unique
	gaps  gapTracker
}

func (r *runner) now() int64 { return int64(time.Since(r.base)) }

func (r *runner) keyPath(i int) string { return r.cfg.Root + "/k" + strconv.Itoa(i) }

func (r *runner) createDir() string { return r.cfg.Root + "/c-" + r.token }

// stats is what one worker goroutine counted; merged at the end.
type stats struct {
	hist          *Histogram
	reads, writes int64
	errs          map[string]int64
}

func newStats() *stats { return &stats{hist: NewHistogram(), errs: map[string]int64{}} }

func (s *stats) merge(o *stats) {
	s.hist.Merge(o.hist)
	s.reads += o.reads
	s.writes += o.writes
	for k, v := range o.errs {
		s.errs[k] += v
	}
}

// Run performs one benchmark run: setup, warm-up, the measured time (with
// the leader's kill when cfg.Kill is set), then a drain of what is still
// in flight. It fails only when the setup fails or ctx ends early; errors
// of individual requests are counted in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, base: time.Now(), value: makeValue(cfg.ValueSize),
		token: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	if err := r.setup(); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := newStats()
	for i := 0; i < cfg.Connections; i++ {
		for _, w := range r.workers(i) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := w()
				mu.Lock()
				total.merge(st)
				mu.Unlock()
			}()
		}
	}
	res, err := r.measure(ctx)
	r.phase.Store(phaseStop)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	res.fill(cfg, total)
	return res, nil
}

// workers are the goroutine bodies for connection i.
func (r *runner) workers(i int) []func() *stats {
	if r.cfg.Client == GoZK {
		return r.gozkWorkers(i)
	}
	w := &rawWorker{r: r, id: i, st: newStats(), rnd: rand.New(rand.NewSource(r.cfg.Seed + int64(i)))}
	return []func() *stats{w.run}
}

// measure sleeps through warm-up and the measured time, kills the leader
// on the way when asked, and returns the timing part of the result.
func (r *runner) measure(ctx context.Context) (*Result, error) {
	if err := sleep(ctx, r.cfg.Warmup); err != nil {
		return nil, err
	}
	start := r.now()
	r.gaps.reset(start)
	r.phase.Store(phaseMeasure)
	res := &Result{}
	killErr := make(chan error, 1)
	if r.cfg.Kill != nil {
		go func() { killErr <- r.failover(ctx, start, res) }()
	}
	err := sleep(ctx, r.cfg.Duration)
	end := r.now()
	r.phase.Store(phaseStop)
	res.Elapsed = time.Duration(end - start)
	if r.cfg.Kill != nil {
		if kerr := <-killErr; kerr != nil && err == nil {
			err = kerr
		}
		if res.Failover == nil {
			res.Failover = &FailoverResult{}
		}
		r.gaps.end(end)
		res.Failover.MaxWriteGap = time.Duration(r.gaps.maxGap.Load())
		res.Failover.GapStart = time.Duration(r.gaps.gapStart.Load() - start)
		if f, k := r.gaps.firstAfter.Load(), r.gaps.killedAt.Load(); f > 0 && k > 0 {
			res.Failover.FirstWriteAfterKill = time.Duration(f - k)
		}
	}
	return res, err
}

// failover waits KillAfter, finds the leader and kills it.
func (r *runner) failover(ctx context.Context, start int64, res *Result) error {
	if err := sleep(ctx, r.cfg.KillAfter); err != nil {
		return nil
	}
	leader, err := FindLeader(ctx, r.cfg.Servers, 2*time.Second)
	if err != nil {
		return err
	}
	// The kill time is taken once the kill command returns: writes sent
	// before the leader is really gone may still succeed.
	err = r.cfg.Kill(ctx, leader)
	at := r.now()
	r.gaps.killedAt.Store(at)
	res.Failover = &FailoverResult{Leader: leader, KilledAt: time.Duration(at - start)}
	if err != nil {
		return fmt.Errorf("bench: kill leader %s: %w", leader, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func makeValue(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return v
}

// setup creates the root and the key space (or this run's create parent)
// through one pipelined session, accepting nodes left by earlier runs.
func (r *runner) setup() error {
	s, err := r.dialAny(0)
	if err != nil {
		return fmt.Errorf("bench: setup: %w", err)
	}
	defer s.close(true)
	if err := r.createAll(s, []string{r.cfg.Root}); err != nil {
		return err
	}
	if r.cfg.Workload == Create {
		return r.createAll(s, []string{r.createDir()})
	}
	const batch = 512
	for lo := 0; lo < r.cfg.Keys; lo += batch {
		var paths []string
		for i := lo; i < min(lo+batch, r.cfg.Keys); i++ {
			paths = append(paths, r.keyPath(i))
		}
		if err := r.createAll(s, paths); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) createAll(s *session, paths []string) error {
	ops := make([]op, len(paths))
	for i, p := range paths {
		ops[i] = op{jute.OpCreate, &jute.CreateRequest{Path: p, Data: r.value, ACL: openACL, Flags: jute.ModePersistent}}
	}
	codes, err := s.call(ops)
	if err != nil {
		return fmt.Errorf("bench: setup: %w", err)
	}
	for i, c := range codes {
		if c != jute.OK && c != jute.ErrNodeExists {
			return fmt.Errorf("bench: setup: create %s: %w", paths[i], c)
		}
	}
	return nil
}

var openACL = []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

// dialAny opens a session on the servers in turn, starting at index from.
func (r *runner) dialAny(from int) (*session, error) {
	var errs []error
	for i := range r.cfg.Servers {
		addr := r.cfg.Servers[(from+i)%len(r.cfg.Servers)]
		s, err := dial(addr, r.cfg.SessionTimeout)
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return nil, errors.Join(errs...)
}

// gapTracker keeps the longest time between two successful writes, across
// all connections, during the measured time.
type gapTracker struct {
	last, maxGap, gapStart, killedAt, firstAfter atomic.Int64
}

func (g *gapTracker) reset(now int64) { g.last.Store(now) }

// observe notes a successful write sent at sent and completed at now;
// the first one sent after the kill tells when writes resumed.
func (g *gapTracker) observe(sent, now int64) {
	if k := g.killedAt.Load(); k > 0 && sent > k {
		g.firstAfter.CompareAndSwap(0, now)
	}
	g.end(now)
}

// end closes the current gap at now: the end of the measured time counts
// as a write, so a run whose writes never resume reports the whole tail.
func (g *gapTracker) end(now int64) {
	prev := g.last.Swap(now)
	gap := now - prev
	for {
		cur := g.maxGap.Load()
		if gap <= cur {
			return
		}
		if g.maxGap.CompareAndSwap(cur, gap) {
			g.gapStart.Store(prev)
			return
		}
	}
}
