package server_test

// A porcupine check that writes stay linearizable while ensemble members are
// closed and restarted under client traffic.
//
// ZooKeeper promises linearizable writes but only sequentially consistent
// reads (a follower may answer from behind, and sync does not go through a
// quorum), so the history records only operations whose answer is ordered
// with the writes: setData, which returns the node's new data version, and
// setData with an expected version (a compare-and-set), whose BadVersion
// answer is itself a write-ordered read of the version. Plain getData calls
// only steer a client's guess of the current version and are never checked.
// The one checked read is the final one, made after traffic stopped and every
// member applied the same txns, when no stale answer is possible.

import (
	"flag"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/server"
	"github.com/zabkeeper/zabkeeper/server/servertest"
)

var (
	linTraffic = flag.Duration("linear.traffic", 9*time.Second, "how long TestLinearizableWritesUnderRestarts runs traffic")
	linSeed    = flag.Int64("linear.seed", 1, "seed of the nemesis' and clients' choices")
)

const (
	linKeys    = 4 // registers /r0../r3, one porcupine partition each
	linClients = 6
)

// regKind is what a register operation does.
type regKind uint8

const (
	opSet regKind = iota // setData(version -1): always succeeds
	opCAS                // setData(expected version)
	opGet                // final quiescent getData
)

// regResult is how a register operation ended.
type regResult uint8

const (
	resOK regResult = iota
	resBadVersion
	resUnknown // connection loss, session expiry...: may or may not have happened
)

func (r regResult) String() string {
	return [...]string{"ok", "badversion", "unknown"}[r]
}

type regInput struct {
	key    int
	kind   regKind
	expect int32 // opCAS only
	value  string
}

type regOutput struct {
	res     regResult
	version int32  // data version after the write (opSet/opCAS ok), or read (opGet)
	value   string // opGet only
}

// regState is one znode: its data version and data. The model checks
// versions because that is all a setData answer reveals; unique values make
// the final read name exactly one write.
type regState struct {
	version int32
	value   string
}

func (s regState) String() string { return fmt.Sprintf("v%d=%s", s.version, s.value) }

func (in regInput) String() string {
	switch in.kind {
	case opSet:
		return fmt.Sprintf("set(/r%d, %s)", in.key, in.value)
	case opCAS:
		return fmt.Sprintf("cas(/r%d, v%d, %s)", in.key, in.expect, in.value)
	default:
		return fmt.Sprintf("get(/r%d)", in.key)
	}
}

func (out regOutput) String() string {
	switch {
	case out.res != resOK:
		return out.res.String()
	case out.value != "":
		return fmt.Sprintf("v%d=%s", out.version, out.value)
	default:
		return fmt.Sprintf("ok v%d", out.version)
	}
}

// regStep is the sequential specification of one znode under setData.
//
// An operation with an unknown outcome has Return = +inf, so the checker may
// linearize it anywhere after its call, including after every other
// operation, where it changes nothing anyone observed. Its step therefore
// always applies it when it can succeed: the "did not happen" branch is the
// linearization that puts it last. That keeps the model deterministic (one
// state, no power set) while accepting both outcomes; dropping such ops instead
// would be wrong, since a lost-looking write that did commit bumps the version
// every later answer sees.
func regStep(st, input, output any) (bool, any) {
	s, in, out := st.(regState), input.(regInput), output.(regOutput)
	next := regState{version: s.version + 1, value: in.value}
	switch in.kind {
	case opSet:
		switch out.res {
		case resOK:
			return out.version == next.version, next
		case resUnknown:
			return true, next
		}
	case opCAS:
		match := s.version == in.expect
		switch out.res {
		case resOK:
			return match && out.version == next.version, next
		case resBadVersion:
			return !match, s
		case resUnknown:
			if match {
				return true, next
			}
			return true, s
		}
	case opGet:
		return out.res == resOK && out.version == s.version && out.value == s.value, s
	}
	return false, s
}

var regModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		parts := make([][]porcupine.Operation, linKeys)
		for _, op := range h {
			k := op.Input.(regInput).key
			parts[k] = append(parts[k], op)
		}
		return parts
	},
	Init: func() any { return regState{value: "init"} },
	Step: regStep,
	DescribeOperation: func(in, out any) string {
		return fmt.Sprintf("%v -> %v", in, out)
	},
	DescribeState: func(s any) string { return s.(regState).String() },
}

func regPath(k int) string { return fmt.Sprintf("/r%d", k) }

// linClock stamps calls and returns from one monotonic clock.
type linClock struct{ start time.Time }

func (c linClock) now() int64 { return int64(time.Since(c.start)) }

// regWorker is one client goroutine: it issues one operation at a time and
// records each with its call and return times.
type regWorker struct {
	id      int
	c       *zk.Conn
	rng     *rand.Rand
	clock   linClock
	belief  [linKeys]int32 // the version this client thinks each node has
	known   [linKeys]bool
	seq     int
	history []porcupine.Operation
	odd     []error // answers that are neither ok, BadVersion nor a lost connection
}

func (w *regWorker) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		w.step()
	}
}

func (w *regWorker) step() {
	k := w.rng.Intn(linKeys)
	w.seq++
	in := regInput{key: k, kind: opSet, expect: -1, value: fmt.Sprintf("c%d-%d", w.id, w.seq)}
	if w.rng.Intn(10) >= 3 {
		in.kind = opCAS
		if !w.known[k] || w.rng.Intn(4) == 0 {
			// An unchecked, possibly stale read: it only picks the version
			// to compare against, and a stale one yields a BadVersion.
			_, st, err := w.c.Get(regPath(k))
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				return
			}
			w.belief[k], w.known[k] = st.Version, true
		}
		in.expect = w.belief[k]
	}
	call := w.clock.now()
	st, err := w.c.Set(regPath(k), []byte(in.value), in.expect)
	ret := w.clock.now()
	out := w.classify(st, err)
	switch out.res {
	case resOK:
		w.belief[k], w.known[k] = out.version, true
	case resBadVersion:
		w.known[k] = false
	case resUnknown:
		w.known[k] = false
		ret = math.MaxInt64
		time.Sleep(10 * time.Millisecond) // let the client reconnect
	}
	w.history = append(w.history, porcupine.Operation{ClientId: w.id, Input: in, Call: call, Output: out, Return: ret})
}

func (w *regWorker) classify(st *zk.Stat, err error) regOutput {
	switch err {
	case nil:
		return regOutput{res: resOK, version: st.Version}
	case zk.ErrBadVersion:
		return regOutput{res: resBadVersion}
	case zk.ErrConnectionClosed, zk.ErrSessionExpired, zk.ErrSessionMoved, zk.ErrNoServer, zk.ErrClosing:
		return regOutput{res: resUnknown}
	}
	// Anything else is a server bug; it is still recorded as unknown so the
	// checker sees every write that might have happened.
	w.odd = append(w.odd, err)
	return regOutput{res: resUnknown}
}

// linConnect is connect with go-zk's logging silenced: restarts make it
// chatty.
func linConnect(t *testing.T, addrs []string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(addrs, 4*time.Second, zk.WithLogger(nopLogger{}), zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.Now().Add(10 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("no session with %v (state %v)", addrs, c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// nemesis closes one member at a time (the leader about half the time),
// keeps it down briefly and restarts it on the same data directory, until
// the traffic time is over. It runs on the test goroutine because it may
// call t.Fatal. It returns one annotation per outage.
func nemesis(t *testing.T, rng *rand.Rand, clock linClock, cfgs []*conf.Config, srvs []*server.Server, until time.Duration) []porcupine.Annotation {
	var notes []porcupine.Annotation
	for time.Since(clock.start) < until {
		time.Sleep(time.Duration(200+rng.Intn(500)) * time.Millisecond)
		victim, what := rng.Intn(len(srvs)), "member"
		if li := currentLeader(srvs); li >= 0 && rng.Intn(2) == 0 {
			victim, what = li, "leader"
		}
		from := clock.now()
		srvs[victim].Close()
		time.Sleep(time.Duration(100+rng.Intn(700)) * time.Millisecond)
		srvs[victim] = servertest.StartConfig(t, cfgs[victim])
		// Never two down at once: the restarted member must serve again
		// before the next fault.
		servertest.WaitServing(t, srvs...)
		notes = append(notes, porcupine.Annotation{Tag: "nemesis", Start: from, End: clock.now(),
			Description: fmt.Sprintf("restart %s %d", what, cfgs[victim].MyID)})
	}
	return notes
}

// currentLeader is leaderOf without failing: -1 while no member leads.
func currentLeader(srvs []*server.Server) int {
	for i, s := range srvs {
		if s.Mode() == "leader" {
			return i
		}
	}
	return -1
}

func TestLinearizableWritesUnderRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("porcupine check under restarts takes ~10 s")
	}
	began := time.Now()
	cfgs := servertest.EnsembleConfigs(t, 3)
	srvs := make([]*server.Server, len(cfgs))
	for i, c := range cfgs {
		srvs[i] = servertest.StartConfig(t, c)
	}
	servertest.WaitServing(t, srvs...)
	addrs := addrsOf(srvs)

	setup := linConnect(t, addrs)
	for k := 0; k < linKeys; k++ {
		if _, err := setup.Create(regPath(k), []byte("init"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	setup.Close()

	clock := linClock{start: time.Now()}
	workers := make([]*regWorker, linClients)
	for i := range workers {
		workers[i] = &regWorker{id: i, c: linConnect(t, addrs), clock: clock,
			rng: rand.New(rand.NewSource(*linSeed*100 + int64(i)))}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(stop) }()
	}
	notes := nemesis(t, rand.New(rand.NewSource(*linSeed)), clock, cfgs, srvs, *linTraffic)
	close(stop)
	waitWorkers(t, &wg, workers)

	servertest.WaitServing(t, srvs...)
	waitConverged(t, srvs...)
	history := collectHistory(t, workers, clock, addrs)
	checkHistory(t, history, notes)
	leaders := 0
	for _, n := range notes {
		if strings.Contains(n.Description, "leader") {
			leaders++
		}
	}
	t.Logf("restarts %d (%d of the leader), runtime %v", len(notes), leaders, time.Since(began).Round(time.Millisecond))
}

// waitWorkers waits for the clients' last operations; closing the
// connections fails any that still wait, so a wedged server cannot hang the
// test.
func waitWorkers(t *testing.T, wg *sync.WaitGroup, workers []*regWorker) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Errorf("clients still waiting 15 s after traffic stopped; closing them")
		for _, w := range workers {
			w.c.Close()
		}
		<-done
	}
	for _, w := range workers {
		w.c.Close()
		for _, err := range w.odd {
			t.Errorf("client %d: unexpected answer to setData: %v", w.id, err)
		}
	}
}

// collectHistory merges the clients' histories and adds a final read of
// each register. The read comes after every member applied the same txns,
// so it cannot be stale; an unknown write still in flight may land after it,
// which its open return time allows.
func collectHistory(t *testing.T, workers []*regWorker, clock linClock, addrs []string) []porcupine.Operation {
	var h []porcupine.Operation
	for _, w := range workers {
		h = append(h, w.history...)
	}
	r := linConnect(t, addrs)
	for k := 0; k < linKeys; k++ {
		call := clock.now()
		if _, err := r.Sync(regPath(k)); err != nil {
			t.Fatalf("final sync %s: %v", regPath(k), err)
		}
		data, st, err := r.Get(regPath(k))
		if err != nil {
			t.Fatalf("final read %s: %v", regPath(k), err)
		}
		h = append(h, porcupine.Operation{ClientId: linClients, Input: regInput{key: k, kind: opGet},
			Call: call, Output: regOutput{res: resOK, version: st.Version, value: string(data)}, Return: clock.now()})
	}
	return h
}

func checkHistory(t *testing.T, h []porcupine.Operation, notes []porcupine.Annotation) {
	var counts [3]int
	for _, op := range h {
		counts[op.Output.(regOutput).res]++
	}
	t.Logf("ops checked %d: ok %d, badversion %d, unknown %d", len(h), counts[resOK], counts[resBadVersion], counts[resUnknown])
	began := time.Now()
	res := porcupine.CheckOperationsTimeout(regModel, h, 30*time.Second)
	t.Logf("porcupine: %s in %v", res, time.Since(began).Round(time.Millisecond))
	switch res {
	case porcupine.Ok:
	case porcupine.Unknown:
		t.Skipf("porcupine timed out on %d ops (%d unknown outcomes); no verdict", len(h), counts[resUnknown])
	default:
		// Check again verbosely only now: the partial linearizations cost
		// time a passing run does not need.
		_, info := porcupine.CheckOperationsVerbose(regModel, h, 30*time.Second)
		info.AddAnnotations(notes)
		// ArtifactDir is a TempDir that `go test -artifacts` keeps.
		out := filepath.Join(t.ArtifactDir(), "linearizability.html")
		if err := porcupine.VisualizePath(regModel, info, out); err != nil {
			t.Logf("visualize: %v", err)
		}
		t.Errorf("history is not linearizable; see %s", out)
	}
}

// The model itself: it must reject what a broken ensemble would produce, and
// accept both fates of a write whose answer was lost.
func TestRegisterModel(t *testing.T) {
	op := func(client int, in regInput, call int64, out regOutput, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
	}
	set := func(v string) regInput { return regInput{kind: opSet, expect: -1, value: v} }
	cas := func(e int32, v string) regInput { return regInput{kind: opCAS, expect: e, value: v} }
	get := regInput{kind: opGet}
	ok := func(v int32) regOutput { return regOutput{res: resOK, version: v} }
	read := func(v int32, s string) regOutput { return regOutput{res: resOK, version: v, value: s} }
	bad, lost := regOutput{res: resBadVersion}, regOutput{res: resUnknown}
	const inf = math.MaxInt64
	for _, tc := range []struct {
		name string
		want porcupine.CheckResult
		h    []porcupine.Operation
	}{
		{"sequential", porcupine.Ok, []porcupine.Operation{
			op(0, set("a"), 0, ok(1), 1), op(1, cas(1, "b"), 2, ok(2), 3), op(0, cas(1, "c"), 4, bad, 5), op(2, get, 6, read(2, "b"), 7)}},
		{"acknowledged write lost", porcupine.Illegal, []porcupine.Operation{
			op(0, set("a"), 0, ok(1), 1), op(1, cas(0, "b"), 2, ok(1), 3)}},
		{"badversion though version matched", porcupine.Illegal, []porcupine.Operation{
			op(0, set("a"), 0, ok(1), 1), op(1, cas(1, "b"), 2, bad, 3)}},
		{"concurrent cas both succeed", porcupine.Illegal, []porcupine.Operation{
			op(0, cas(0, "a"), 0, ok(1), 3), op(1, cas(0, "b"), 1, ok(1), 4)}},
		{"stale final read", porcupine.Illegal, []porcupine.Operation{
			op(0, set("a"), 0, ok(1), 1), op(2, get, 2, read(0, "init"), 3)}},
		{"lost write that happened", porcupine.Ok, []porcupine.Operation{
			op(0, set("a"), 0, lost, inf), op(1, set("b"), 5, ok(2), 6), op(2, get, 7, read(2, "b"), 8)}},
		{"lost write that did not happen", porcupine.Ok, []porcupine.Operation{
			op(0, cas(0, "a"), 0, lost, inf), op(1, set("b"), 5, ok(1), 6), op(2, get, 7, read(1, "b"), 8)}},
		{"lost write cannot precede its call", porcupine.Illegal, []porcupine.Operation{
			op(1, set("b"), 0, ok(2), 1), op(0, set("a"), 5, lost, inf)}},
	} {
		if got := porcupine.CheckOperationsTimeout(regModel, tc.h, 5*time.Second); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
