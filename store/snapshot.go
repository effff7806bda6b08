package store

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// SnapshotInfo describes one committed snapshot.
type SnapshotInfo struct {
	Zxid zxid.Zxid
	Size int64  // file size, header and footer included
	Name string // file name inside Path's directory
	Path string // full path on the store's FS
}

func (i SnapshotInfo) String() string {
	return fmt.Sprintf("snapshot{%s %dB %s}", i.Zxid, i.Size, i.Name)
}

const tmpSuffix = ".tmp"

func snapName(z zxid.Zxid, seq uint64) string {
	return fmt.Sprintf("snapshot-%016x-%06d.zks", uint64(z), seq)
}

// parseSnapName is the inverse of snapName.
func parseSnapName(name string) (z uint64, seq uint64, ok bool) {
	n, err := fmt.Sscanf(name, "snapshot-%016x-%06d.zks", &z, &seq)
	return z, seq, err == nil && n == 2 && snapName(zxid.Zxid(z), seq) == name
}

// SnapshotWriter receives a snapshot's bytes while the store keeps taking
// appends. Nothing is visible until Commit; Abort discards.
type SnapshotWriter struct {
	s       *Store
	z       zxid.Zxid
	name    string
	tmp     string
	f       vfs.File
	w       *snapFileWriter
	gen     uint64
	install bool
	after   []Entry // install: log entries that follow the snapshot
	done    bool
}

// CreateSnapshot starts a snapshot of the state at z (z <= LastZxid).
func (s *Store) CreateSnapshot(z zxid.Zxid) (*SnapshotWriter, error) {
	leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	if z < 0 || z > last {
		return nil, fmt.Errorf("store: snapshot at %s beyond the last zxid %s", z, last)
	}
	return s.newSnapshotWriter(z, false)
}

func (s *Store) newSnapshotWriter(z zxid.Zxid, install bool) (*SnapshotWriter, error) {
	s.mu.Lock()
	s.snapSeq++
	name, gen := snapName(z, s.snapSeq), s.gen
	s.mu.Unlock()
	w := &SnapshotWriter{s: s, z: z, name: name, tmp: s.fs.PathJoin(s.snapDir, name+tmpSuffix), gen: gen, install: install}
	f, err := s.fs.Create(w.tmp)
	if err != nil {
		return nil, fmt.Errorf("store: create snapshot: %w", err)
	}
	w.f = f
	if w.w, err = newSnapFileWriter(f, z); err != nil {
		w.Abort()
		return nil, fmt.Errorf("store: write snapshot: %w", err)
	}
	return w, nil
}

// Zxid is the zxid the snapshot is taken at.
func (w *SnapshotWriter) Zxid() zxid.Zxid { return w.z }

func (w *SnapshotWriter) String() string { return fmt.Sprintf("snapshotWriter{%s %s}", w.z, w.name) }

// Write appends snapshot bytes.
func (w *SnapshotWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("store: snapshot writer already finished")
	}
	return w.w.Write(p)
}

// Abort discards the snapshot. It is safe after Commit (then a no-op).
func (w *SnapshotWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	if w.f != nil {
		_ = w.f.Close()
	}
	_ = w.s.fs.Remove(w.tmp)
}

// Commit makes the snapshot durable and visible atomically (file fsync,
// rename, directory fsync, then the index entry in one synced pebble batch),
// then applies retention: the newest SnapRetain snapshots are kept and the log
// before the oldest kept one is deleted.
func (w *SnapshotWriter) Commit() (SnapshotInfo, error) {
	if w.done {
		return SnapshotInfo{}, errors.New("store: snapshot writer already finished")
	}
	size, err := w.finishFile()
	if err != nil {
		w.Abort()
		return SnapshotInfo{}, err
	}
	w.done = true
	rec := snapRecord{Zxid: uint64(w.z), Name: w.name, Size: size}
	if err := w.s.commitSnapshot(rec, w.gen, w.install, w.after); err != nil {
		_ = w.s.fs.Remove(w.s.fs.PathJoin(w.s.snapDir, w.name))
		return SnapshotInfo{}, err
	}
	return w.s.info(rec), nil
}

// finishFile writes the footer and moves the file into place durably.
func (w *SnapshotWriter) finishFile() (int64, error) {
	size, err := w.w.finish()
	if err == nil && !w.s.opts.NoSync {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err == nil {
		err = w.s.fs.Rename(w.tmp, w.s.fs.PathJoin(w.s.snapDir, w.name))
	}
	if err == nil {
		err = w.s.syncSnapDir()
	}
	if err != nil {
		return 0, fmt.Errorf("store: write snapshot %s: %w", w.z, err)
	}
	return size, nil
}

func (s *Store) syncSnapDir() error {
	if s.opts.NoSync {
		return nil
	}
	return syncDir(s.fs, s.snapDir)
}

// commitSnapshot indexes rec and applies retention in one pebble batch. An
// install also empties the log and drops snapshots after rec.
func (s *Store) commitSnapshot(rec snapRecord, gen uint64, install bool, after []Entry) error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !install && gen != s.gen {
		return fmt.Errorf("%w: snapshot at %s", ErrSnapshotStale, zxid.Zxid(rec.Zxid))
	}
	z := zxid.Zxid(rec.Zxid)
	kept, dropped := splitSnaps(s.snaps, func(r snapRecord) bool {
		return r.Zxid != rec.Zxid && (!install || zxid.Zxid(r.Zxid) < z)
	})
	kept = append(kept, rec)
	sortSnapRecords(kept)
	if n := len(kept) - s.opts.SnapRetain; n > 0 {
		dropped = append(dropped, kept[:n]...)
		kept = append([]snapRecord(nil), kept[n:]...)
	}
	newBase := max(s.base, zxid.Zxid(kept[0].Zxid))
	if install {
		newBase = z
	}
	b := s.db.NewBatch()
	defer b.Close()
	// An old snapshot committed late may fall out by retention at once.
	recKept := false
	for _, r := range kept {
		recKept = recKept || r.Name == rec.Name
	}
	if recKept {
		_ = b.Set(snapKey(z), seal(rec), nil)
	}
	for _, r := range dropped {
		if !recKept || r.Zxid != rec.Zxid {
			_ = b.Delete(snapKey(zxid.Zxid(r.Zxid)), nil)
		}
	}
	if install {
		_ = b.DeleteRange(logStart, logEnd, nil)
		for _, e := range after {
			_ = b.Set(logKey(e.Zxid), seal(logRecord{Zxid: uint64(e.Zxid), Data: e.Data}), nil)
		}
	} else if newBase > 0 {
		_ = b.DeleteRange(logStart, logKey(newBase), nil)
	}
	_ = b.Set(keyBase, seal(metaRecord{Value: uint64(newBase)}), nil)
	if err := b.Commit(s.writeOpts()); err != nil {
		return fmt.Errorf("store: commit snapshot %s: %w", z, err)
	}
	s.snaps, s.base = kept, newBase
	if install {
		s.gen++
		s.last, s.synced, s.first = z, z, 0
		if len(after) > 0 {
			s.first, s.last, s.synced = after[0].Zxid, after[len(after)-1].Zxid, after[len(after)-1].Zxid
		}
	} else if s.first, err = s.firstLogZxid(); err != nil {
		return err
	}
	s.log.Info("snapshot committed", zap.Stringer("zxid", z), zap.String("name", rec.Name),
		zap.Int64("bytes", rec.Size), zap.Bool("install", install), zap.Stringer("logBase", s.base),
		zap.Int("removed", len(dropped)))
	s.removeSnapFiles(dropped)
	return nil
}

// InstallSnapshot stores a snapshot received from the leader (ZAB SNAP sync)
// and replaces the whole log with the entries that follow it (after, in
// zxid order above z). The old log, the snapshot's index entry and the new
// entries change in one synced batch: a crash leaves either the old state
// or the new one, never the snapshot without its entries — dropping the old
// log first could lose txns this member had acknowledged (found by zab/sim).
func (s *Store) InstallSnapshot(z zxid.Zxid, r io.Reader, after ...Entry) error {
	if z < 0 {
		return fmt.Errorf("store: install snapshot at negative zxid %s", z)
	}
	if err := checkOrder(z, after); err != nil {
		return err
	}
	leave, err := s.enter()
	if err != nil {
		return err
	}
	w, err := s.newSnapshotWriter(z, true)
	leave()
	if err != nil {
		return err
	}
	w.after = after
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return fmt.Errorf("store: install snapshot %s: %w", z, err)
	}
	_, err = w.Commit()
	return err
}

// LatestSnapshot returns the newest valid snapshot: its zxid and a reader of
// its body. A damaged snapshot is logged and skipped in favour of the one
// before it; ErrNoSnapshot if none is valid.
func (s *Store) LatestSnapshot() (zxid.Zxid, io.ReadCloser, error) {
	leave, err := s.enter()
	if err != nil {
		return 0, nil, err
	}
	defer leave()
	s.mu.Lock()
	snaps := append([]snapRecord(nil), s.snaps...)
	s.mu.Unlock()
	for i := len(snaps) - 1; i >= 0; i-- {
		r := snaps[i]
		if err := s.verifySnap(r); err != nil {
			continue
		}
		rc, err := openSnapBody(s.fs, s.fs.PathJoin(s.snapDir, r.Name), r.Size)
		if err != nil {
			s.log.Warn("snapshot unreadable, falling back to the previous one",
				zap.Stringer("zxid", zxid.Zxid(r.Zxid)), zap.Error(err))
			continue
		}
		return zxid.Zxid(r.Zxid), rc, nil
	}
	return 0, nil, ErrNoSnapshot
}

// verifySnap checks a snapshot file against its index entry, logging damage.
func (s *Store) verifySnap(r snapRecord) error {
	z, size, err := verifySnapFile(s.fs, s.fs.PathJoin(s.snapDir, r.Name))
	if err == nil && (z != zxid.Zxid(r.Zxid) || size != r.Size) {
		err = fmt.Errorf("%w: snapshot %s: file holds %s, %d bytes; index says %s, %d bytes",
			ErrCorrupt, r.Name, z, size, zxid.Zxid(r.Zxid), r.Size)
	}
	if err != nil {
		s.log.Warn("snapshot damaged, falling back to the previous one",
			zap.Stringer("zxid", zxid.Zxid(r.Zxid)), zap.String("name", r.Name), zap.Error(err))
	}
	return err
}

// Snapshots lists the committed snapshots, oldest first (files are not
// verified here; LatestSnapshot does that).
func (s *Store) Snapshots() []SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SnapshotInfo, len(s.snaps))
	for i, r := range s.snaps {
		out[i] = s.info(r)
	}
	return out
}

func (s *Store) info(r snapRecord) SnapshotInfo {
	return SnapshotInfo{Zxid: zxid.Zxid(r.Zxid), Size: r.Size, Name: r.Name, Path: s.fs.PathJoin(s.snapDir, r.Name)}
}

// loadSnapIndex reads the snapshot index from pebble.
func (s *Store) loadSnapIndex() error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSnap}, UpperBound: []byte{prefixSnap + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var r snapRecord
		v, err := it.ValueAndErr()
		if err == nil {
			err = unseal(v, &r)
		}
		if err != nil || zxid.Zxid(r.Zxid) != keyZxid(it.Key()) {
			s.log.Warn("snapshot index entry damaged, ignored", zap.Stringer("zxid", keyZxid(it.Key())), zap.Error(err))
			continue
		}
		s.snaps = append(s.snaps, r)
		if _, seq, ok := parseSnapName(r.Name); ok && seq > s.snapSeq {
			s.snapSeq = seq
		}
	}
	sortSnapRecords(s.snaps)
	return it.Error()
}

// cleanSnapDir removes temp files and files that no index entry names
// (left by a crash between a rename and its index commit, or between a
// retention commit and the file removal). In a store that holds nothing at
// all such files are left alone: someone may have wiped the database.
func (s *Store) cleanSnapDir() {
	names, err := s.fs.List(s.snapDir)
	if err != nil {
		s.log.Warn("cannot list snapshot dir", zap.String("dir", s.snapDir), zap.Error(err))
		return
	}
	indexed := make(map[string]bool, len(s.snaps))
	for _, r := range s.snaps {
		indexed[r.Name] = true
	}
	empty := len(s.snaps) == 0 && s.base == 0 && s.last == 0
	for _, n := range names {
		if indexed[n] {
			continue
		}
		_, _, isSnap := parseSnapName(n)
		tmp := strings.HasSuffix(n, tmpSuffix)
		if tmp || (isSnap && !empty) {
			s.log.Info("removing unindexed snapshot file", zap.String("name", n))
			_ = s.fs.Remove(s.fs.PathJoin(s.snapDir, n))
		} else if isSnap {
			s.log.Warn("snapshot file not in the index of an empty store, left alone", zap.String("name", n))
		}
	}
}

func (s *Store) removeSnapFiles(rs []snapRecord) {
	for _, r := range rs {
		if err := s.fs.Remove(s.fs.PathJoin(s.snapDir, r.Name)); err != nil {
			s.log.Warn("cannot remove snapshot file", zap.String("name", r.Name), zap.Error(err))
		}
	}
}

// RestoreSnapshot creates a store in dataDir/logDir (real disk) holding only
// the snapshot z read from r, with both epochs set to z's epoch (for
// `zabkeeper snapshot restore --data-dir`). It refuses a store that already
// holds data (ErrNotEmpty).
func RestoreSnapshot(dataDir, logDir string, z zxid.Zxid, r io.Reader) error {
	return restore(Options{Dir: dataDir, LogDir: logDir}, z, r)
}

func restore(o Options, z zxid.Zxid, r io.Reader) (err error) {
	s, err := Open(o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	if s.LastZxid() != 0 || len(s.Snapshots()) > 0 || s.AcceptedEpoch() != 0 || s.CurrentEpoch() != 0 {
		return fmt.Errorf("%w: %s holds zxid %s and %d snapshots", ErrNotEmpty, o.Dir, s.LastZxid(), len(s.Snapshots()))
	}
	if err := s.InstallSnapshot(z, r); err != nil {
		return err
	}
	if err := s.SetAcceptedEpoch(z.Epoch()); err != nil {
		return err
	}
	return s.SetCurrentEpoch(z.Epoch())
}
