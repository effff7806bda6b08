// Package store keeps a server's durable state on pebble: the txn log keyed by
// zxid, the accepted and current epochs, and snapshot files with their index.
//
// Durability rules: Append is buffered; Sync and AppendSync return only after
// an fsync covering the data (concurrent callers share fsyncs, see
// groupSync); epochs, truncation and snapshot commits are durable when they
// return. Every stored record carries a CRC32C; Open cuts a
// damaged log tail and skips damaged snapshots, and refuses to start when no
// consistent state is left.
package store

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// Options configure Open.
type Options struct {
	Dir    string // snapshots and pebble's tables
	LogDir string // pebble's write-ahead log; "" = inside Dir
	FS     vfs.FS // nil = the real disk (vfs.Default)
	// NoSync skips every fsync (ZooKeeper's forceSync=no), for tests only. It
	// is the inverse of forceSync so that the zero Options are the safe ones.
	NoSync     bool
	SnapRetain int         // snapshots kept; <= 0 = 3
	Logger     *zap.Logger // nil = zap.NewNop()

	memTableSize uint64 // tests shrink it to force WAL rotations and flushes
}

// Entry is one txn of the log: its zxid and its opaque bytes.
type Entry struct {
	Zxid zxid.Zxid
	Data []byte
}

func (e Entry) String() string { return fmt.Sprintf("entry{%s %dB}", e.Zxid, len(e.Data)) }

// Errors a caller is expected to handle.
var (
	ErrClosed                = errors.New("store: closed")
	ErrZxidOrder             = errors.New("store: zxids must increase")
	ErrTruncateBelowSnapshot = errors.New("store: truncate below the log base (needs a snapshot install)")
	ErrNoSnapshot            = errors.New("store: no valid snapshot")
	ErrSnapshotStale         = errors.New("store: log truncated while the snapshot was written")
	ErrCorrupt               = errors.New("store: corrupt data")
	ErrUnusable              = errors.New("store: no consistent state on disk")
	ErrNotEmpty              = errors.New("store: data directory is not empty")
)

// Store is the durable state of one server. All methods are safe for
// concurrent use.
type Store struct {
	opts    Options
	fs      vfs.FS
	log     *zap.Logger
	db      *pebble.DB
	snapDir string

	// life keeps Close from pulling pebble away under a running call: every
	// call holds it shared, Close holds it exclusively.
	life   sync.RWMutex
	closed bool

	mu       sync.Mutex // guards everything below
	syncDone sync.Cond  // on mu: a group sync round ended
	syncing  bool       // a group sync round is running
	rounds   int64      // group sync rounds (fsyncs) so far, for benchmarks
	last     zxid.Zxid  // last appended (buffered included), or the base
	synced   zxid.Zxid  // last durable
	first    zxid.Zxid  // oldest log entry, 0 if the log is empty
	base     zxid.Zxid  // the log is complete after this zxid
	gen      uint64     // bumped by every cut of the log (truncate, install)
	accepted uint32
	current  uint32
	snaps    []snapRecord // committed snapshots, ascending zxid
	snapSeq  uint64       // makes snapshot file names unique
}

func (o *Options) fill() {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.SnapRetain <= 0 {
		o.SnapRetain = 3
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.LogDir == "" {
		o.LogDir = o.Dir
	}
}

// Open opens or creates the store and recovers it: a damaged log tail is cut,
// the snapshot index is checked against the files, and an error is returned
// if what remains cannot rebuild the state (see ErrUnusable).
func Open(o Options) (*Store, error) {
	o.fill()
	if o.Dir == "" {
		return nil, errors.New("store: Options.Dir is empty")
	}
	s := &Store{opts: o, fs: o.FS, log: o.Logger.Named("store"), snapDir: o.FS.PathJoin(o.Dir, "snapshots")}
	s.syncDone.L = &s.mu
	dbDir := o.FS.PathJoin(o.Dir, "db")
	walDir := o.FS.PathJoin(o.LogDir, "wal")
	for _, d := range []string{dbDir, walDir, s.snapDir} {
		if err := o.FS.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", d, err)
		}
	}
	if !o.NoSync {
		// A new directory is durable only once its parent is synced, up the chain.
		syncDirChains(o.FS, s.log, dbDir, walDir, s.snapDir)
	}
	po := &pebble.Options{FS: o.FS, WALDir: walDir, Logger: pebbleLogger{s.log.Named("pebble").Sugar()},
		MemTableSize: o.memTableSize}
	db, err := pebble.Open(dbDir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open pebble in %s (wal %s): %w", dbDir, walDir, err)
	}
	s.db = db
	if err := s.recover(); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.log.Info("store opened", zap.String("dir", o.Dir), zap.String("logDir", o.LogDir),
		zap.Stringer("first", s.first), zap.Stringer("last", s.last), zap.Stringer("base", s.base),
		zap.Int("snapshots", len(s.snaps)), zap.Uint32("acceptedEpoch", s.accepted),
		zap.Uint32("currentEpoch", s.current))
	return s, nil
}

// recover loads the metadata, checks the log and the snapshots.
func (s *Store) recover() error {
	var err error
	if s.accepted, err = s.getEpoch(keyAcceptedEpoch); err != nil {
		return err
	}
	if s.current, err = s.getEpoch(keyCurrentEpoch); err != nil {
		return err
	}
	b, err := s.getMeta(keyBase)
	if err != nil {
		return err
	}
	s.base = zxid.Zxid(b)
	if err := s.scanLog(); err != nil {
		return err
	}
	if err := s.loadSnapIndex(); err != nil {
		return err
	}
	if err := s.checkUsable(); err != nil {
		return err
	}
	s.cleanSnapDir()
	s.last = max(s.last, s.base)
	s.synced = s.last
	return nil
}

// scanLog verifies every log record; from the first bad one on, the log is
// cut (a torn or corrupt tail), since later entries cannot be applied
// without it.
func (s *Store) scanLog() error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logStart, UpperBound: logEnd})
	if err != nil {
		return err
	}
	defer it.Close()
	var bad zxid.Zxid
	var badErr error
	for ok := it.First(); ok; ok = it.Next() {
		z := keyZxid(it.Key())
		v, verr := it.ValueAndErr()
		if verr == nil {
			_, verr = decodeEntry(it.Key(), v)
		}
		if verr != nil {
			bad, badErr = z, verr
			break
		}
		if s.first == 0 {
			s.first = z
		}
		s.last = z
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: read log: %w", err)
	}
	if badErr == nil {
		return nil
	}
	s.log.Warn("cutting damaged log tail", zap.Stringer("zxid", bad), zap.Stringer("keptUpTo", s.last),
		zap.Error(badErr))
	return s.db.DeleteRange(logKey(bad), logEnd, pebble.Sync)
}

// checkUsable refuses a store whose log does not reach back to a valid
// snapshot: serving from it would silently drop history.
func (s *Store) checkUsable() error {
	if s.base == 0 {
		return nil
	}
	for i := len(s.snaps) - 1; i >= 0; i-- {
		r := s.snaps[i]
		if zxid.Zxid(r.Zxid) < s.base {
			break
		}
		if err := s.verifySnap(r); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w in %s: the log only holds txns after %s and no valid snapshot at or after it "+
		"remains (%d indexed); restore a snapshot or resync this server from the ensemble",
		ErrUnusable, s.opts.Dir, s.base, len(s.snaps))
}

// Close flushes nothing extra (durable data is already synced) and releases
// pebble. Buffered appends that were never synced may be lost, as on a crash.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	return s.db.Close()
}

// enter starts a call that needs pebble; the returned func ends it.
func (s *Store) enter() (func(), error) {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return nil, ErrClosed
	}
	return s.life.RUnlock, nil
}

func (s *Store) writeOpts() *pebble.WriteOptions {
	if !s.opts.NoSync {
		return pebble.Sync
	}
	return pebble.NoSync
}

func (s *Store) getMeta(key []byte) (uint64, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read %s: %w", key[1:], err)
	}
	defer closer.Close()
	var r metaRecord
	if err := unseal(v, &r); err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, key[1:], err)
	}
	return r.Value, nil
}

func (s *Store) getEpoch(key []byte) (uint32, error) {
	v, err := s.getMeta(key)
	return uint32(v), err
}

// sortSnapRecords orders snapshot records ascending by zxid.
func sortSnapRecords(rs []snapRecord) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Zxid < rs[j].Zxid })
}

// pebbleLogger sends pebble's messages to zap. pebble calls Fatalf on errors
// it cannot survive; we log and panic so the process stops visibly.
type pebbleLogger struct{ l *zap.SugaredLogger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debugf(format, args...) }
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Errorf(format, args...)
	panic(fmt.Sprintf(format, args...))
}

// syncDirChains fsyncs each directory and all its ancestors, so directories
// MkdirAll just created survive a power loss. Failures are logged only: an
// ancestor we may not open (e.g. "/") is no reason to refuse to start.
func syncDirChains(fs vfs.FS, log *zap.Logger, dirs ...string) {
	seen := map[string]bool{}
	for _, d := range dirs {
		for !seen[d] {
			seen[d] = true
			if err := syncDir(fs, d); err != nil {
				log.Debug("cannot sync directory", zap.String("dir", d), zap.Error(err))
			}
			parent := fs.PathDir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("store{%s first=%s last=%s synced=%s base=%s snaps=%d}",
		s.opts.Dir, s.first, s.last, s.synced, s.base, len(s.snaps))
}
