package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/election"
	"github.com/zabkeeper/zabkeeper/server/peer"
	"github.com/zabkeeper/zabkeeper/store"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zab"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Election runs on a fast clock of its own: a vote that a quorum agrees on
// is final after electionFinalize of these ticks (ZooKeeper waits 200 ms).
const (
	electionTick     = 25 * time.Millisecond
	electionFinalize = 3
	electionResend   = 8
)

var errNotServing = errors.New("this member is not serving: no established leader")

// ensemble drives one member's election and ZAB cores. One goroutine (loop)
// owns both cores; a second (worker) does the durable work of each Ready in
// order, then applies its committed txns, so fsyncs never block the loop
// and one fsync covers every Ready that queued meanwhile (group commit).
type ensemble struct {
	s   *Server
	st  *store.Store
	log *zap.Logger

	node *zab.Node
	el   *election.Election
	zt   *peer.Transport[zab.Message]
	et   *peer.Transport[election.Message]

	calls     chan func()
	persisted chan zab.Persisted
	stop      chan struct{}
	wg        sync.WaitGroup

	workMu sync.Mutex
	work   []workItem
	kick   chan struct{}

	touchMu sync.Mutex
	touched map[int64]struct{}

	mu       sync.Mutex // guards the fields below (read by admin pages)
	role     string
	status   zab.Status
	serving  atomic.Bool
	electing bool
	syncs    map[uint64]func() // loop-owned
	nextSync uint64
	// seenRole and seenPhase are what noteStatus last acted on (loop-owned).
	seenRole  zab.Role
	seenPhase zab.Phase
}

// workItem is the part of a Ready the worker does, in order.
type workItem struct {
	rd    zab.Ready
	syncs []syncWait
}

type syncWait struct {
	zxid zxid.Zxid
	done func()
}

// storeLog lets zab read the local log.
type storeLog struct{ st *store.Store }

func (l storeLog) Entries(from, to zxid.Zxid) ([]zab.Entry, error) {
	if base := l.st.Base(); base > 0 && from <= base {
		return nil, zab.ErrCompacted
	}
	var out []zab.Entry
	for from <= to {
		ents, err := l.st.Entries(from, to, 64<<20)
		if err != nil {
			return nil, err
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			out = append(out, zab.Entry{Zxid: e.Zxid, Data: e.Data})
		}
		from = ents[len(ents)-1].Zxid + 1
	}
	return out, nil
}

func (l storeLog) LastZxid() zxid.Zxid { return l.st.LastZxid() }

// zapLogger adapts zap to the cores' small logger interface.
type zapLogger struct{ l *zap.SugaredLogger }

func (z zapLogger) Debugf(f string, a ...any) { z.l.Debugf(f, a...) }
func (z zapLogger) Infof(f string, a ...any)  { z.l.Infof(f, a...) }
func (z zapLogger) Warnf(f string, a ...any)  { z.l.Warnf(f, a...) }

func newEnsemble(s *Server, st *store.Store, applied zxid.Zxid) (*ensemble, error) {
	self, ok := s.cfg.Self()
	if !ok {
		return nil, fmt.Errorf("myid %d is not in the server list", s.cfg.MyID)
	}
	var voters []int64
	zabPeers, elPeers := map[int64]string{}, map[int64]string{}
	for _, m := range s.cfg.Servers {
		if m.Voting() {
			voters = append(voters, m.ID)
		}
		if m.ID != self.ID {
			zabPeers[m.ID] = net.JoinHostPort(m.Host, strconv.Itoa(m.PeerPort))
			elPeers[m.ID] = net.JoinHostPort(m.Host, strconv.Itoa(m.ElectionPort))
		}
	}
	log := s.log.Named("zab")
	e := &ensemble{
		s: s, st: st, log: log,
		calls:     make(chan func(), 1024),
		persisted: make(chan zab.Persisted, 64),
		stop:      make(chan struct{}),
		kick:      make(chan struct{}, 1),
		touched:   map[int64]struct{}{},
		syncs:     map[uint64]func(){},
		role:      "looking",
	}
	e.node = zab.New(zab.Config{
		ID: self.ID, Voters: voters,
		// zab ticks every half tickTime (ZooKeeper's leader pings followers
		// that often), so the limits count twice as many ticks.
		TickSyncLimit: 2 * max(s.cfg.SyncLimit, 1), TickInitLimit: 2 * max(s.cfg.InitLimit, 1),
		AcceptedEpoch: st.AcceptedEpoch(), CurrentEpoch: st.CurrentEpoch(),
		LastLogged: st.LastZxid(), Applied: applied,
		Log: storeLog{st}, Logger: zapLogger{log.Sugar()},
		DiffLimit: max(s.cfg.SnapCount, 1000),
	})
	e.el = election.New(election.Config{ID: self.ID, Voters: voters,
		FinalizeTicks: electionFinalize, ResendTicks: electionResend})
	popts := peer.Options{Logger: s.log.Named("peer")}
	var err error
	bind := func(port int) string { return net.JoinHostPort(self.Host, strconv.Itoa(port)) }
	if e.zt, err = peer.Listen[zab.Message](bind(self.PeerPort), self.ID, zabPeers, popts); err != nil {
		return nil, fmt.Errorf("peer port: %w", err)
	}
	if e.et, err = peer.Listen[election.Message](bind(self.ElectionPort), self.ID, elPeers, popts); err != nil {
		e.zt.Close()
		return nil, fmt.Errorf("election port: %w", err)
	}
	e.startElection()
	e.wg.Add(2)
	go e.loop()
	go e.worker()
	return e, nil
}

func (e *ensemble) mode() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.role
}

// submit orders a write: proposed here on the leader, forwarded by a
// follower. The leader's clock stamps the txn.
func (e *ensemble) submit(t *tree.Txn) error {
	if !e.serving.Load() {
		return errNotServing
	}
	errc := make(chan error, 1)
	select {
	case e.calls <- func() { errc <- e.propose(t) }:
	case <-e.stop:
		return errNotServing
	}
	select {
	case err := <-errc:
		return err
	case <-e.stop:
		return errNotServing
	}
}

func (e *ensemble) propose(t *tree.Txn) error {
	body, err := tree.EncodeRequest(t)
	if err != nil {
		return err
	}
	if e.node.Role() == zab.Leading {
		_, err = e.node.Propose(tree.StampRequest(e.s.now().UnixMilli(), body))
	} else {
		err = e.node.Forward(body)
	}
	return err
}

// proposeForwarded stamps a follower's write with the leader's clock.
func (e *ensemble) proposeForwarded(request []byte) {
	if _, err := e.node.Propose(tree.StampRequest(e.s.now().UnixMilli(), request)); err != nil {
		e.log.Info("forwarded write not proposed", zap.Error(err))
	}
}

func (e *ensemble) sync(done func()) {
	select {
	case e.calls <- func() {
		e.nextSync++
		id := e.nextSync
		e.syncs[id] = done
		if err := e.node.Sync(id); err != nil {
			delete(e.syncs, id) // the connection is closed when serving stops
		}
	}:
	case <-e.stop:
	}
}

// touch batches session liveness; the loop hands it to zab every tick.
func (e *ensemble) touch(ids []int64) {
	e.touchMu.Lock()
	for _, id := range ids {
		e.touched[id] = struct{}{}
	}
	e.touchMu.Unlock()
}

// passTouches hands the sessions clients pinged to the leader's expiry
// tracker: directly on the leader, with the next ping reply on a follower
// (at most half a tickTime later), so a session is never expired while its
// client pings another member.
func (e *ensemble) passTouches() {
	ids := e.takeTouched()
	if len(ids) == 0 {
		return
	}
	if e.node.Role() == zab.Leading {
		e.s.trackTouch(ids)
	} else {
		e.node.Touch(ids)
	}
}

func (e *ensemble) takeTouched() []int64 {
	e.touchMu.Lock()
	defer e.touchMu.Unlock()
	if len(e.touched) == 0 {
		return nil
	}
	out := make([]int64, 0, len(e.touched))
	for id := range e.touched {
		out = append(out, id)
	}
	clear(e.touched)
	return out
}

func (e *ensemble) close() error {
	close(e.stop)
	e.zt.Close()
	e.et.Close()
	e.wg.Wait()
	return e.st.Close()
}

// followerStats are mntr's leader-only figures.
func (e *ensemble) followerStats() (int, int, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.status.Role != zab.Leading {
		return 0, 0, 0
	}
	return len(e.s.cfg.Servers) - 1, len(e.status.Followers), 0
}

// loop owns the cores: every input is fed in, then every Ready carried out.
func (e *ensemble) loop() {
	defer e.wg.Done()
	zabTick := time.NewTicker(max(e.s.cfg.TickTime/2, time.Millisecond))
	defer zabTick.Stop()
	elTick := time.NewTicker(electionTick)
	defer elTick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case env, ok := <-e.zt.Recv():
			if ok {
				e.node.Step(env.Msg)
				e.stepQueued()
			}
		case id, ok := <-e.zt.Broken():
			if ok {
				e.node.Disconnected(id)
			}
		case env, ok := <-e.et.Recv():
			if ok {
				e.el.Step(env.Msg)
			}
		case <-e.et.Broken():
		case p := <-e.persisted:
			e.node.Persisted(p)
		case f := <-e.calls:
			f()
		case <-zabTick.C:
			e.passTouches()
			e.node.Tick()
			e.refreshStatus()
		case <-elTick.C:
			e.passTouches()
			e.el.Tick()
		}
		e.stepElection()
		e.drainReady()
	}
}

// stepQueued feeds the peer messages already waiting, so that one Ready
// (one round of sends, one durable write) covers all of them.
func (e *ensemble) stepQueued() {
	for i := 0; i < 256; i++ {
		select {
		case env, ok := <-e.zt.Recv():
			if !ok {
				return
			}
			e.node.Step(env.Msg)
		default:
			return
		}
	}
}

func (e *ensemble) startElection() {
	st := e.node.Status()
	e.mu.Lock()
	e.electing = true
	e.mu.Unlock()
	// Syncs sent to the old leader will never be answered; their clients
	// are dropped with the rest when serving stops.
	clear(e.syncs)
	e.setServing(false, "looking")
	e.el.Start(st.LastLogged, st.CurrentEpoch)
	e.log.Info("looking for a leader", zap.Stringer("lastZxid", st.LastLogged), zap.Uint32("epoch", st.CurrentEpoch))
}

// stepElection sends votes and hands a decision to zab.
func (e *ensemble) stepElection() {
	for _, m := range e.el.Messages() {
		e.et.Send(m.To, m)
	}
	e.mu.Lock()
	electing := e.electing
	e.mu.Unlock()
	if !electing {
		return
	}
	leader, st, ok := e.el.Decided()
	if !ok {
		return
	}
	e.mu.Lock()
	e.electing = false
	e.mu.Unlock()
	e.log.Info("elected", zap.Int64("leader", leader), zap.Stringer("state", st))
	if st == election.Leading {
		e.node.Lead()
	} else {
		e.node.Follow(leader)
	}
}

func (e *ensemble) drainReady() {
	for e.node.HasReady() {
		rd := e.node.Ready()
		for _, m := range rd.Messages {
			e.zt.Send(m.To, m)
		}
		var waits []syncWait
		for _, sd := range rd.Synced {
			if f, ok := e.syncs[sd.ID]; ok {
				delete(e.syncs, sd.ID)
				waits = append(waits, syncWait{zxid: sd.Zxid, done: f})
			}
		}
		if rd.Durable.Seq != 0 || len(rd.Commit) > 0 || len(waits) > 0 || rd.InstallSnapshot != nil ||
			rd.TruncateAfter != nil || len(rd.Append) > 0 {
			e.queueWork(workItem{rd: rd, syncs: waits})
		}
		for _, req := range rd.Requests {
			e.proposeForwarded(req)
		}
		if len(rd.Touched) > 0 {
			e.s.trackTouch(rd.Touched)
		}
		for _, id := range rd.NeedSnapshot {
			e.sendSnapshot(id)
		}
		if rd.Lost {
			e.startElection()
		}
		e.noteStatus()
	}
}

// noteStatus publishes the role and starts or stops serving clients when
// this member enters or leaves broadcast. It is called after every Ready,
// so it looks at the full Status only when the role or phase changed.
func (e *ensemble) noteStatus() {
	role, phase := e.node.Role(), e.node.Phase()
	if role == e.seenRole && phase == e.seenPhase {
		return
	}
	e.seenRole, e.seenPhase = role, phase
	st := e.refreshStatus()
	serving := st.Phase == zab.PhaseBroadcast && (st.Role == zab.Leading || st.Role == zab.Following)
	switch {
	case serving && st.Role == zab.Leading:
		e.s.resetTracker()
		e.el.SetDecided(st.ID, election.Leading, st.Epoch)
		e.setServing(true, "leader")
	case serving:
		e.el.SetDecided(st.Leader, election.Following, st.Epoch)
		e.setServing(true, "follower")
	default:
		e.setServing(false, "looking")
	}
	e.log.Info("zab status", zap.Stringer("status", st))
}

// refreshStatus copies the node's status for admin pages (mntr's followers).
func (e *ensemble) refreshStatus() zab.Status {
	st := e.node.Status()
	e.mu.Lock()
	e.status = st
	e.mu.Unlock()
	return st
}

func (e *ensemble) setServing(on bool, role string) {
	e.mu.Lock()
	e.role = role
	e.mu.Unlock()
	if e.serving.Swap(on) && !on {
		// ZooKeeper drops every client when a member leaves broadcast: the
		// clients reconnect to a member that has a leader.
		e.s.dropClients("this member lost its leader")
	}
}

// sendSnapshot streams the tree to a follower that is too far behind for a
// DIFF (SNAP sync). The snapshot is taken off the loop goroutine.
func (e *ensemble) sendSnapshot(to int64) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		var buf bytes.Buffer
		z, err := e.s.writeSnapshotTo(&buf)
		if err != nil {
			e.log.Warn("snapshot for follower failed", zap.Int64("follower", to), zap.Error(err))
			return
		}
		select {
		case e.calls <- func() {
			if err := e.node.SendSnapshot(to, zab.Snapshot{Zxid: z, Data: buf.Bytes()}); err != nil {
				e.log.Info("snapshot not sent", zap.Int64("follower", to), zap.Error(err))
			}
		}:
		case <-e.stop:
		}
	}()
}

func (e *ensemble) queueWork(w workItem) {
	e.workMu.Lock()
	e.work = append(e.work, w)
	e.workMu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// worker does the durable work of Readys in order, fsyncs once for all it
// took, reports Persisted, then applies the committed txns.
func (e *ensemble) worker() {
	defer e.wg.Done()
	var waiting []syncWait
	for {
		select {
		case <-e.stop:
			return
		case <-e.kick:
		}
		e.workMu.Lock()
		items := e.work
		e.work = nil
		e.workMu.Unlock()
		if err := e.persist(items); err != nil {
			e.log.Error("cannot write the log; stopping", zap.Error(err))
			go e.s.Close()
			return
		}
		for _, it := range items {
			if err := e.apply(it.rd.Commit); err != nil {
				e.log.Error("cannot apply a committed txn; stopping", zap.Error(err))
				go e.s.Close()
				return
			}
			waiting = append(waiting, it.syncs...)
		}
		waiting = e.finishSyncs(waiting)
	}
}

func (e *ensemble) persist(items []workItem) error {
	var dur zab.Persisted
	var pending []store.Entry // appends of consecutive Readys, written together
	dirty := false
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := e.st.Append(pending)
		pending, dirty = pending[:0], true
		return err
	}
	for _, it := range items {
		rd := &it.rd
		if rd.InstallSnapshot != nil || rd.TruncateAfter != nil {
			if err := flush(); err != nil {
				return err
			}
		}
		switch {
		case rd.InstallSnapshot != nil:
			// The entries that came with the snapshot are installed with it.
			if err := e.installSnapshot(rd.InstallSnapshot, rd.Append); err != nil {
				return err
			}
		case rd.TruncateAfter != nil:
			if err := e.st.TruncateAfter(*rd.TruncateAfter); err != nil {
				return err
			}
			fallthrough
		default:
			pending = append(pending, storeEntries(rd.Append)...)
		}
		if rd.AcceptedEpoch != 0 || rd.CurrentEpoch != 0 {
			// Epochs only after the log writes before them are durable.
			if err := flush(); err != nil {
				return err
			}
			if dirty {
				if err := e.st.Sync(); err != nil {
					return err
				}
				dirty = false
			}
			if err := e.persistEpochs(rd.AcceptedEpoch, rd.CurrentEpoch); err != nil {
				return err
			}
		}
		if rd.Durable.Seq != 0 {
			dur = rd.Durable
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if dirty {
		if err := e.st.Sync(); err != nil {
			return err
		}
	}
	if dur.Seq != 0 {
		select {
		case e.persisted <- dur:
		case <-e.stop:
		}
	}
	return nil
}

// persistEpochs writes the epochs a Ready asked for (0 = unchanged).
func (e *ensemble) persistEpochs(accepted, current uint32) error {
	if accepted != 0 {
		if err := e.st.SetAcceptedEpoch(accepted); err != nil {
			return err
		}
	}
	if current != 0 {
		return e.st.SetCurrentEpoch(current)
	}
	return nil
}

func storeEntries(es []zab.Entry) []store.Entry {
	out := make([]store.Entry, len(es))
	for i, a := range es {
		out[i] = store.Entry{Zxid: a.Zxid, Data: a.Data}
	}
	return out
}

// installSnapshot replaces the log and the tree with the leader's snapshot
// and the entries after it, atomically on disk.
func (e *ensemble) installSnapshot(snap *zab.Snapshot, after []zab.Entry) error {
	if err := e.st.InstallSnapshot(snap.Zxid, bytes.NewReader(snap.Data), storeEntries(after)...); err != nil {
		return err
	}
	t, err := tree.Restore(bytes.NewReader(snap.Data))
	if err != nil {
		return fmt.Errorf("snapshot %s from the leader: %w", snap.Zxid, err)
	}
	e.s.mu.Lock()
	e.s.tree = t
	e.s.mu.Unlock()
	e.log.Info("installed the leader's snapshot", zap.Stringer("zxid", snap.Zxid), zap.Int("znodes", t.NodeCount()))
	return nil
}

func (e *ensemble) apply(ents []zab.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	batch := make([]committed, 0, len(ents))
	for _, en := range ents {
		t, err := tree.DecodeEntry(en.Data)
		if err != nil {
			return fmt.Errorf("txn %s: %w", en.Zxid, err)
		}
		batch = append(batch, committed{zxid: en.Zxid, txn: t})
	}
	e.s.applyCommitted(batch)
	return nil
}

// finishSyncs answers the syncs whose zxid is applied; the rest wait.
func (e *ensemble) finishSyncs(waiting []syncWait) []syncWait {
	if len(waiting) == 0 {
		return waiting
	}
	applied := e.s.lastZxid()
	rest := waiting[:0]
	for _, w := range waiting {
		if w.zxid <= applied {
			w.done()
		} else {
			rest = append(rest, w)
		}
	}
	return rest
}
