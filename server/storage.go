package server

import (
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

// openStore opens the durable state under dataDir and dataLogDir.
func (s *Server) openStore() (*store.Store, error) {
	st, err := store.Open(store.Options{
		Dir:        filepath.Join(s.cfg.DataDir, "zabkeeper"),
		LogDir:     filepath.Join(s.cfg.DataLogDir, "zabkeeper-log"),
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
			t, err := tree.DecodeTxn(e.Data)
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
// for writing (from applyCommitted).
func (p *snapshotter) applied(n int) {
	if p == nil || p.st == nil {
		return
	}
	if p.since.Add(int64(n)) < int64(p.s.cfg.SnapCount) || !p.running.CompareAndSwap(false, true) {
		return
	}
	p.since.Store(0)
	snap := p.s.tree.BeginSnapshot()
	p.s.wg.Add(1)
	go func() {
		defer p.s.wg.Done()
		defer p.running.Store(false)
		if err := p.write(snap); err != nil {
			p.s.log.Warn("snapshot failed", zap.Stringer("zxid", snap.Zxid()), zap.Error(err))
		}
	}()
}

func (p *snapshotter) write(snap *tree.Snapshot) error {
	w, err := p.st.CreateSnapshot(snap.Zxid())
	if err != nil {
		p.s.mu.Lock()
		snap.Abort()
		p.s.mu.Unlock()
		return err
	}
	for {
		p.s.mu.Lock()
		done, err := snap.WriteChunk(w, 2000)
		if err != nil {
			snap.Abort()
		}
		p.s.mu.Unlock()
		if err != nil {
			w.Abort()
			return err
		}
		if done {
			break
		}
	}
	info, err := w.Commit()
	if err != nil {
		return err
	}
	p.s.log.Info("snapshot taken", zap.Stringer("snapshot", info))
	return nil
}

// writeSnapshotTo streams a point-in-time snapshot of the tree to w (for
// `zabkeeper snapshot save` and for SNAP sync of followers).
func (s *Server) writeSnapshotTo(w io.Writer) (zxid.Zxid, error) {
	s.mu.Lock()
	snap := s.tree.BeginSnapshot()
	s.mu.Unlock()
	for {
		s.mu.Lock()
		done, err := snap.WriteChunk(w, 2000)
		if err != nil {
			snap.Abort()
		}
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if done {
			return snap.Zxid(), nil
		}
	}
}
