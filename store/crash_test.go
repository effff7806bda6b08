package store

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zabkeeper/zabkeeper/internal/crashfs"
	"github.com/zabkeeper/zabkeeper/zxid"
)

var crashRuns = flag.Int("store.crashruns", 200, "seeded runs of TestCrash")
var crashSeed = flag.Int64("store.crashseed", 0, "run only this seed of TestCrash")

// crashModel is what the test knows about the store, in the store's order.
type crashModel struct {
	mu        sync.Mutex
	last      zxid.Zxid            // last appended, as the store sees it
	lastData  string               // data of the last appended entry ("" after a cut)
	zxidOf    map[string]zxid.Zxid // every entry ever appended, by its unique data
	pred      map[string]string    // entry -> the entry before it when it was appended
	must      map[zxid.Zxid]string // acknowledged durable, not cut since
	snapBody  map[zxid.Zxid][][]byte
	snapMust  map[zxid.Zxid]bool // committed durably, not cut since
	accepted  [2]uint32          // durable, highest tried
	current   [2]uint32
	appendErr error
}

// crashStats show that the runs reach the interesting places.
var crashStats struct {
	lives, midLife, mustChecked, snapChecked, truncates, installs, snapshots atomic.Int64
}

type crashRun struct {
	t     *testing.T
	seed  int64
	rng   *rand.Rand
	fs    *crashfs.FS
	s     *Store
	m     *crashModel
	opts  Options
	nonce int
	seqMu sync.Mutex // orders Append calls with the model
}

func TestCrash(t *testing.T) {
	first, n := int64(1), int64(*crashRuns)
	if *crashSeed != 0 {
		first, n = *crashSeed, 1
	}
	if testing.Short() {
		n = min(n, 20)
	}
	for seed := first; seed < first+n; seed++ {
		runCrash(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d failed; rerun with -store.crashseed=%d", seed, seed)
		}
	}
	c := &crashStats
	t.Logf("%d runs, %d crashes (%d in mid-operation), %d acknowledged entries and %d snapshots checked "+
		"after a crash; %d truncates, %d installs, %d snapshots taken", n, c.lives.Load(), c.midLife.Load(),
		c.mustChecked.Load(), c.snapChecked.Load(), c.truncates.Load(), c.installs.Load(), c.snapshots.Load())
}

func runCrash(t *testing.T, seed int64) {
	r := &crashRun{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), fs: crashfs.New()}
	r.opts = Options{Dir: "/data", LogDir: "/wal", FS: r.fs, SnapRetain: 1 + r.rng.Intn(3),
		memTableSize: uint64(64<<10) << r.rng.Intn(3)}
	r.m = &crashModel{zxidOf: map[string]zxid.Zxid{}, pred: map[string]string{}, must: map[zxid.Zxid]string{},
		snapBody: map[zxid.Zxid][][]byte{}, snapMust: map[zxid.Zxid]bool{}}
	r.open()
	lives := 1 + r.rng.Intn(3)
	for life := 0; life < lives && !t.Failed(); life++ {
		r.fs.Arm(1 + r.rng.Int63n(250))
		rounds := 2 + r.rng.Intn(12)
		for i := 0; i < rounds && !t.Failed(); i++ {
			r.round()
		}
		r.crash()
		r.open()
		r.verify()
		r.resetModel()
	}
	_ = r.s.Close()
}

func (r *crashRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d: "+format, append([]any{r.seed}, args...)...)
}

func (r *crashRun) open() {
	s, err := Open(r.opts)
	if err != nil {
		r.fatalf("open after crash: %v", err)
	}
	r.s = s
}

func (r *crashRun) crash() {
	crashStats.lives.Add(1)
	if r.fs.Frozen() {
		crashStats.midLife.Add(1)
	}
	r.fs.Freeze()
	_ = r.s.Close()
	r.fs.Restart()
}

// durable reports whether an operation that just returned nil was durable:
// only if the crash point had not been passed when it returned.
func (r *crashRun) durable() bool { return !r.fs.Frozen() }

func (r *crashRun) round() {
	switch op := r.rng.Intn(10); {
	case op < 5:
		r.writeBurst(r.rng.Intn(3) == 0)
	case op == 5:
		r.truncate()
	case op == 6:
		r.setEpoch()
	case op == 7 || op == 8:
		r.snapshot()
	default:
		r.install()
	}
}

// nextEntries makes n entries after the model's last zxid, in the current
// epoch, with unique data. Caller holds seqMu.
func (r *crashRun) nextEntries(rng *rand.Rand, n int) []Entry {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	z := r.m.last
	out := make([]Entry, n)
	for i := range out {
		if ep := r.m.current[1]; ep > z.Epoch() {
			z = zxid.New(ep, 1)
		} else {
			z++
		}
		r.nonce++
		d := fmt.Sprintf("s%d-n%d-%s-", r.seed, r.nonce, z)
		pad := make([]byte, rng.Intn(300))
		rng.Read(pad)
		out[i] = Entry{Zxid: z, Data: append([]byte(d), pad...)}
	}
	return out
}

// appended records entries the store accepted. Caller holds seqMu.
func (r *crashRun) appended(es []Entry) {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	for _, e := range es {
		d := string(e.Data)
		r.m.zxidOf[d] = e.Zxid
		r.m.pred[d] = r.m.lastData
		r.m.lastData, r.m.last = d, e.Zxid
	}
}

func (r *crashRun) acked(es []Entry) {
	if !r.durable() {
		return
	}
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	for _, e := range es {
		if r.m.zxidOf[string(e.Data)] == e.Zxid && e.Zxid <= r.m.last {
			r.m.must[e.Zxid] = string(e.Data)
		}
	}
}

// writeBurst runs several writers at once; each appends in order under
// seqMu and waits for durability outside it, so their fsyncs are shared. With
// snap, a snapshot is written and committed meanwhile.
func (r *crashRun) writeBurst(snap bool) {
	var wg sync.WaitGroup
	writers := 1 + r.rng.Intn(6)
	for w := 0; w < writers; w++ {
		rng := rand.New(rand.NewSource(r.rng.Int63()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := rng.Intn(8); i >= 0; i-- {
				r.writeOnce(rng)
			}
		}()
	}
	if snap {
		r.snapshot()
	}
	wg.Wait()
	if r.m.appendErr != nil {
		r.fatalf("write: %v", r.m.appendErr)
	}
}

func (r *crashRun) writeOnce(rng *rand.Rand) {
	r.seqMu.Lock()
	es := r.nextEntries(rng, 1+rng.Intn(4))
	var err error
	if rng.Intn(3) == 0 {
		err = r.s.AppendSync(es)
		if err == nil {
			r.appended(es)
		}
		r.seqMu.Unlock()
	} else {
		err = r.s.Append(es)
		if err == nil {
			r.appended(es)
		}
		r.seqMu.Unlock()
		if err == nil {
			err = r.s.Sync()
		}
	}
	if err != nil {
		r.m.mu.Lock()
		r.m.appendErr = err
		r.m.mu.Unlock()
		return
	}
	r.acked(es)
}

func (r *crashRun) truncate() {
	r.s.mu.Lock()
	base, last := r.s.base, r.s.last
	r.s.mu.Unlock()
	if last <= base {
		return
	}
	z := base + zxid.Zxid(r.rng.Int63n(int64(last-base)+1))
	crashStats.truncates.Add(1)
	if err := r.s.TruncateAfter(z); err != nil {
		r.fatalf("truncate after %s: %v", z, err)
	}
	// Durable or not, entries after z are no longer required, only allowed.
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.m.last, r.m.lastData = r.s.LastZxid(), ""
	if e, ok, _ := r.s.Entry(r.m.last); ok {
		r.m.lastData = string(e.Data)
	}
	for k := range r.m.must {
		if k > z {
			delete(r.m.must, k)
		}
	}
	for k := range r.m.snapMust {
		if k > z {
			delete(r.m.snapMust, k)
		}
	}
}

func (r *crashRun) setEpoch() {
	r.m.mu.Lock()
	acc := r.m.accepted[1] + 1
	r.m.accepted[1] = acc
	r.m.mu.Unlock()
	if err := r.s.SetAcceptedEpoch(acc); err != nil {
		r.fatalf("set accepted epoch: %v", err)
	}
	if r.durable() {
		r.m.accepted[0] = acc
	}
	if r.rng.Intn(2) == 0 {
		return
	}
	r.seqMu.Lock() // new zxids switch epoch: keep it out of a running append
	r.m.mu.Lock()
	r.m.current[1] = acc
	r.m.mu.Unlock()
	err := r.s.SetCurrentEpoch(acc)
	r.seqMu.Unlock()
	if err != nil {
		r.fatalf("set current epoch: %v", err)
	}
	if r.durable() {
		r.m.current[0] = acc
	}
}

func (r *crashRun) snapBytes(z zxid.Zxid) []byte {
	r.m.mu.Lock()
	r.nonce++
	body := []byte(fmt.Sprintf("snap-s%d-n%d-%s|", r.seed, r.nonce, z))
	r.m.mu.Unlock()
	pad := make([]byte, r.rng.Intn(40<<10))
	r.rng.Read(pad)
	return append(body, pad...)
}

func (r *crashRun) snapshot() {
	last := r.s.LastZxid()
	r.s.mu.Lock()
	base := r.s.base
	r.s.mu.Unlock()
	if last <= base {
		return
	}
	z := base + zxid.Zxid(r.rng.Int63n(int64(last-base)+1))
	body := r.snapBytes(z)
	r.m.mu.Lock()
	r.m.snapBody[z] = append(r.m.snapBody[z], body)
	r.m.mu.Unlock()
	w, err := r.s.CreateSnapshot(z)
	if err != nil {
		r.fatalf("create snapshot %s: %v", z, err)
	}
	for off := 0; off < len(body); {
		n := min(len(body)-off, 1+r.rng.Intn(8<<10))
		if _, err := w.Write(body[off : off+n]); err != nil {
			r.fatalf("write snapshot: %v", err)
		}
		off += n
	}
	if r.rng.Intn(8) == 0 {
		w.Abort()
		return
	}
	crashStats.snapshots.Add(1)
	if _, err := w.Commit(); err != nil {
		r.fatalf("commit snapshot %s: %v", z, err)
	}
	if r.durable() {
		r.m.mu.Lock()
		r.m.snapMust[z] = true
		r.m.mu.Unlock()
	}
}

func (r *crashRun) install() {
	last := r.s.LastZxid()
	z := zxid.Zxid(r.rng.Int63n(int64(last)+20)) + 1
	body := r.snapBytes(z)
	r.m.mu.Lock()
	r.m.snapBody[z] = append(r.m.snapBody[z], body)
	r.m.mu.Unlock()
	crashStats.installs.Add(1)
	if err := r.s.InstallSnapshot(z, bytes.NewReader(body)); err != nil {
		r.fatalf("install snapshot %s: %v", z, err)
	}
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.m.last, r.m.lastData = z, ""
	r.m.must = map[zxid.Zxid]string{}
	for k := range r.m.snapMust {
		if k > z {
			delete(r.m.snapMust, k)
		}
	}
	if r.durable() {
		r.m.snapMust[z] = true
	}
}

// verify checks the reopened store against the model.
func (r *crashRun) verify() {
	s, m := r.s, r.m
	es := allEntries(r.t, s)
	present := map[zxid.Zxid]string{}
	for i, e := range es {
		d := string(e.Data)
		if z, ok := m.zxidOf[d]; !ok || z != e.Zxid {
			r.fatalf("entry %s holds data never appended there: %.40q", e.Zxid, d)
		}
		if i > 0 && e.Zxid <= es[i-1].Zxid {
			r.fatalf("zxids not increasing: %s after %s", e.Zxid, es[i-1].Zxid)
		}
		present[e.Zxid] = d
	}
	base := s.base
	if _, ok := m.snapBody[base]; base != 0 && !ok {
		r.fatalf("log base %s is no snapshot's zxid", base)
	}
	for _, e := range es {
		if e.Zxid <= base {
			continue
		}
		p := m.pred[string(e.Data)]
		if p != "" && m.zxidOf[p] > base && present[m.zxidOf[p]] != p {
			r.fatalf("hole: %s present but the entry before it, %s, is not", e.Zxid, m.zxidOf[p])
		}
	}
	for z, d := range m.must {
		if z > base {
			crashStats.mustChecked.Add(1)
		}
		if z > base && present[z] != d {
			r.fatalf("acknowledged entry %s lost (log %s..%s, base %s)", z, s.FirstZxid(), s.LastZxid(), base)
		}
	}
	wantLast := base
	if len(es) > 0 {
		wantLast = max(wantLast, es[len(es)-1].Zxid)
		if s.FirstZxid() != es[0].Zxid {
			r.fatalf("FirstZxid %s, log starts at %s", s.FirstZxid(), es[0].Zxid)
		}
	}
	if s.LastZxid() != wantLast || s.SyncedZxid() != wantLast {
		r.fatalf("LastZxid %s SyncedZxid %s, want %s", s.LastZxid(), s.SyncedZxid(), wantLast)
	}
	r.verifySnapshots(base)
	for _, ep := range []struct {
		name string
		got  uint32
		want [2]uint32
	}{{"accepted", s.AcceptedEpoch(), m.accepted}, {"current", s.CurrentEpoch(), m.current}} {
		if ep.got < ep.want[0] || ep.got > ep.want[1] {
			r.fatalf("%s epoch %d, durable %d, highest set %d", ep.name, ep.got, ep.want[0], ep.want[1])
		}
	}
}

func (r *crashRun) verifySnapshots(base zxid.Zxid) {
	var newestMust zxid.Zxid = -1
	for z := range r.m.snapMust {
		newestMust = max(newestMust, z)
	}
	z, rc, err := r.s.LatestSnapshot()
	if errors.Is(err, ErrNoSnapshot) {
		if newestMust >= 0 || base != 0 {
			r.fatalf("no snapshot, but %s was committed (base %s)", newestMust, base)
		}
		return
	}
	if err != nil {
		r.fatalf("latest snapshot: %v", err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		r.fatalf("read snapshot %s: %v", z, err)
	}
	if z < newestMust || z < base {
		r.fatalf("latest snapshot %s older than committed %s / base %s", z, newestMust, base)
	}
	crashStats.snapChecked.Add(1)
	found := false
	for _, b := range r.m.snapBody[z] {
		found = found || bytes.Equal(b, body)
	}
	if !found {
		r.fatalf("snapshot %s holds bytes never written for it (%d bytes)", z, len(body))
	}
	for _, info := range r.s.Snapshots() {
		if err := r.s.verifySnap(snapRecord{Zxid: uint64(info.Zxid), Name: info.Name, Size: info.Size}); err != nil {
			r.fatalf("indexed snapshot damaged after crash: %v", err)
		}
	}
	if files, _ := r.fs.List("/data/snapshots"); len(files) != len(r.s.Snapshots()) {
		r.fatalf("snapshot files %v, index %v", files, r.s.Snapshots())
	}
}

// resetModel makes the recovered state the new durable baseline.
func (r *crashRun) resetModel() {
	m, s := r.m, r.s
	m.must = map[zxid.Zxid]string{}
	for _, e := range allEntries(r.t, s) {
		m.must[e.Zxid] = string(e.Data)
	}
	m.last, m.lastData = s.LastZxid(), ""
	if e, ok, _ := s.Entry(m.last); ok {
		m.lastData = string(e.Data)
	}
	m.snapMust = map[zxid.Zxid]bool{}
	for _, info := range s.Snapshots() {
		m.snapMust[info.Zxid] = true
	}
	m.accepted = [2]uint32{s.AcceptedEpoch(), s.AcceptedEpoch()}
	m.current = [2]uint32{s.CurrentEpoch(), s.CurrentEpoch()}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}
