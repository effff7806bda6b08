package server

import (
	"sync"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/store"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// standalone orders writes for a member with no peers: a quorum of one.
// Writes queue while the previous batch is being fsynced, so one fsync
// covers everything that arrived meanwhile (group commit); a batch is
// applied and answered only after it is durable.
type standalone struct {
	s  *Server
	st *store.Store

	mu    sync.Mutex
	next  zxid.Zxid
	queue []pendingTxn
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

type pendingTxn struct {
	c    committed
	sync func() // a sync marker instead of a txn
}

func newStandalone(s *Server, st *store.Store) (*standalone, error) {
	// Each start is a new epoch, as a new ZAB leader would begin one.
	epoch := max(st.CurrentEpoch(), st.LastZxid().Epoch()) + 1
	if err := st.SetAcceptedEpoch(epoch); err != nil {
		return nil, err
	}
	if err := st.SetCurrentEpoch(epoch); err != nil {
		return nil, err
	}
	l := &standalone{
		s: s, st: st,
		next: zxid.New(epoch, 1),
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go l.loop()
	return l, nil
}

func (l *standalone) mode() string { return "standalone" }

func (l *standalone) submit(t *tree.Txn) error {
	l.mu.Lock()
	t.Time = l.s.now().UnixMilli()
	l.queue = append(l.queue, pendingTxn{c: committed{zxid: l.next, txn: t}})
	l.next++
	l.mu.Unlock()
	l.wake()
	return nil
}

func (l *standalone) sync(done func()) {
	l.mu.Lock()
	l.queue = append(l.queue, pendingTxn{sync: done})
	l.mu.Unlock()
	l.wake()
}

func (l *standalone) touch(ids []int64) { l.s.trackTouch(ids) }

func (l *standalone) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *standalone) close() error {
	close(l.stop)
	<-l.done
	return l.st.Close()
}

func (l *standalone) loop() {
	defer close(l.done)
	var batch []pendingTxn
	for {
		select {
		case <-l.kick:
		case <-l.stop:
			return
		}
		l.mu.Lock()
		batch, l.queue = l.queue, batch[:0]
		l.mu.Unlock()
		if err := l.commit(batch); err != nil {
			l.s.log.Error("cannot write the transaction log; stopping", zap.Error(err))
			go l.s.Close()
			return
		}
		clear(batch)
	}
}

// commit makes a batch durable, applies it and answers its syncs.
func (l *standalone) commit(batch []pendingTxn) error {
	entries := make([]store.Entry, 0, len(batch))
	txns := make([]committed, 0, len(batch))
	for _, p := range batch {
		if p.sync != nil {
			continue
		}
		data, err := tree.EncodeEntry(p.c.txn)
		if err != nil {
			return err
		}
		entries = append(entries, store.Entry{Zxid: p.c.zxid, Data: data})
		txns = append(txns, p.c)
	}
	if len(entries) > 0 {
		if err := l.st.AppendSync(entries); err != nil {
			return err
		}
		l.s.applyCommitted(txns)
	}
	for _, p := range batch {
		if p.sync != nil {
			p.sync()
		}
	}
	return nil
}
