package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/store"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// StoreDirs is where a member keeps its store under dataDir and dataLogDir
// (also for `zabkeeper snapshot restore`).
func StoreDirs(dataDir, dataLogDir string) (dir, logDir string) {
	if dataLogDir == "" {
		dataLogDir = dataDir
	}
	return filepath.Join(dataDir, "zabkeeper"), filepath.Join(dataLogDir, "zabkeeper-log")
}

// openStore opens the durable state under dataDir and dataLogDir.
func (s *Server) openStore() (*store.Store, error) {
	dir, logDir := StoreDirs(s.cfg.DataDir, s.cfg.DataLogDir)
	st, err := store.Open(store.Options{
		Dir:        dir,
		LogDir:     logDir,
		NoSync:     !s.cfg.ForceSync,
		SnapRetain: s.cfg.SnapRetainCount,
		Logger:     s.log.Named("store"),
	})
	if err != nil {
		return nil, fmt.Errorf("open data directory %s: %w", s.cfg.DataDir, err)
	}
	return st, nil
}

// recoverTree loads the newest valid snapshot into the tree and returns its
// zxid (0 for a fresh data directory: the tree starts empty).
func (s *Server) recoverTree(st *store.Store) (zxid.Zxid, error) {
	z, rc, err := st.LatestSnapshot()
	if errors.Is(err, store.ErrNoSnapshot) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	t, err := tree.Restore(rc)
	if err != nil {
		return 0, fmt.Errorf("snapshot %s: %w", z, err)
	}
	s.mu.Lock()
	s.tree = t
	s.mu.Unlock()
	s.log.Info("loaded snapshot", zap.Stringer("zxid", z), zap.Int("znodes", t.NodeCount()))
	return z, nil
}

// replay applies logged entries (from, to] to the tree, in chunks.
func (s *Server) replay(st *store.Store, from, to zxid.Zxid) error {
	n := 0
	for from < to {
		ents, err := st.Entries(from+1, to, 16<<20)
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			return fmt.Errorf("log has no entries after %s (expected up to %s)", from, to)
		}
		batch := make([]committed, 0, len(ents))
		for _, e := range ents {
			t, err := tree.DecodeEntry(e.Data)
			if err != nil {
				return fmt.Errorf("txn %s: %w", e.Zxid, err)
			}
			batch = append(batch, committed{zxid: e.Zxid, txn: t})
		}
		s.applyCommitted(batch)
		from = ents[len(ents)-1].Zxid
		n += len(ents)
	}
	if n > 0 {
		s.log.Info("replayed the log", zap.Int("txns", n), zap.Stringer("zxid", to))
	}
	return nil
}

// snapshotter takes a snapshot every snapCount applied txns, while writes
// go on: the tree keeps copy-on-write pre-images so the snapshot is exactly
// the state at one zxid, written in small chunks under the tree lock.
type snapshotter struct {
	s       *Server
	st      *store.Store
	since   atomic.Int64
	running atomic.Bool
}

// applied counts txns and starts a snapshot when due. Called with s.mu held
// for writing (from applyCommitted), so the snapshot begins on its own
// goroutine.
func (p *snapshotter) applied(n int) {
	if p == nil || p.st == nil {
		return
	}
	if p.since.Add(int64(n)) < int64(p.s.cfg.SnapCount) || !p.running.CompareAndSwap(false, true) {
		return
	}
	p.since.Store(0)
	p.s.wg.Add(1)
	go func() {
		defer p.s.wg.Done()
		defer p.running.Store(false)
		if err := p.take(); err != nil {
			p.s.log.Warn("snapshot failed", zap.Error(err))
		}
	}()
}

// take writes one snapshot into the store; retention runs on commit.
func (p *snapshotter) take() error {
	return p.s.withSnapshot(func(snap *tree.Snapshot) error {
		w, err := p.st.CreateSnapshot(snap.Zxid())
		if err != nil {
			return err
		}
		if err := p.s.streamSnapshot(snap, w); err != nil {
			w.Abort()
			return err
		}
		info, err := w.Commit()
		if err != nil {
			return err
		}
		p.s.log.Info("snapshot taken", zap.Stringer("snapshot", info))
		return nil
	})
}

// withSnapshot begins a point-in-time snapshot of the tree and hands it to
// f. The tree keeps one snapshot at a time, so callers (periodic snapshots,
// SNAP sync of followers, `zabkeeper snapshot save`) take turns.
func (s *Server) withSnapshot(f func(*tree.Snapshot) error) error {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.Lock()
	snap := s.tree.BeginSnapshot()
	s.mu.Unlock()
	err := f(snap)
	if err != nil {
		s.mu.Lock()
		snap.Abort()
		s.mu.Unlock()
	}
	return err
}

// streamSnapshot writes the snapshot's nodes to w in chunks: each chunk is
// encoded into memory under the tree lock and written out after it is
// released, so neither the disk nor a slow reader (a `snapshot save` over
// HTTP) ever stalls writes.
func (s *Server) streamSnapshot(snap *tree.Snapshot, w io.Writer) error {
	var buf bytes.Buffer
	for {
		buf.Reset()
		s.mu.Lock()
		done, err := snap.WriteChunk(&buf, 2000)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// writeSnapshotTo streams a point-in-time snapshot of the tree to w and
// returns its zxid.
func (s *Server) writeSnapshotTo(w io.Writer) (zxid.Zxid, error) {
	var z zxid.Zxid
	err := s.withSnapshot(func(snap *tree.Snapshot) error {
		z = snap.Zxid()
		return s.streamSnapshot(snap, w)
	})
	return z, err
}
