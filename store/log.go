package store

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// Append adds entries to the log without waiting for the disk: they are
// readable at once and durable after the next Sync. Zxids must be positive
// and increase, within entries and after LastZxid; otherwise nothing is
// written and the error wraps ErrZxidOrder.
func (s *Store) Append(entries []Entry) error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	_, err = s.append(entries)
	return err
}

// Sync makes every entry appended so far durable. Concurrent calls share
// fsyncs (see groupSync).
func (s *Store) Sync() error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	s.mu.Lock()
	target, gen := s.last, s.gen
	s.mu.Unlock()
	return s.groupSync(target, gen)
}

// AppendSync is Append followed by a wait until the entries are durable.
// Callers on many goroutines share fsyncs (group commit). The zxid order
// rule of Append applies across them: callers whose zxids come from a shared
// counter must order their appends themselves (or use Append under their own
// lock followed by Sync); a caller that loses the race gets ErrZxidOrder.
func (s *Store) AppendSync(entries []Entry) error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	t, err := s.append(entries)
	if err != nil || len(entries) == 0 {
		return err
	}
	return s.groupSync(t.z, t.gen)
}

type syncTarget struct {
	z   zxid.Zxid
	gen uint64
}

// groupSync returns once everything up to target is durable. One caller at a
// time leads a round: it notes the last appended zxid, fsyncs the WAL (an
// empty pebble LogData record with Sync), and publishes the result; callers
// arriving meanwhile wait and are covered by that round or the next one. So
// N concurrent callers cost about two fsyncs, not N. A cut of the log (gen
// changed) ends the wait: the cut was itself synced, which made every entry
// it kept durable. Caller is inside enter.
func (s *Store) groupSync(target zxid.Zxid, gen uint64) error {
	if s.opts.NoSync {
		return nil
	}
	s.mu.Lock()
	for s.syncing && target > s.synced && gen == s.gen {
		s.syncDone.Wait()
	}
	if target <= s.synced || gen != s.gen {
		s.mu.Unlock()
		return nil
	}
	s.syncing = true
	s.rounds++
	round, roundGen := s.last, s.gen
	s.mu.Unlock()
	err := s.db.LogData(nil, pebble.Sync)
	s.mu.Lock()
	s.syncing = false
	if err == nil && roundGen == s.gen && round > s.synced {
		s.synced = round
	}
	s.syncDone.Broadcast()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("store: sync: %w", err)
	}
	return nil
}

// append validates and applies entries to pebble without an fsync. Caller is
// inside enter.
func (s *Store) append(entries []Entry) (syncTarget, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkOrder(s.last, entries); err != nil {
		return syncTarget{}, err
	}
	if len(entries) == 0 {
		return syncTarget{}, nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, e := range entries {
		if err := b.Set(logKey(e.Zxid), seal(logRecord{Zxid: uint64(e.Zxid), Data: e.Data}), nil); err != nil {
			panic(fmt.Sprintf("store: batch set: %v", err)) // an in-memory batch cannot fail
		}
	}
	if err := s.db.Apply(b, pebble.NoSync); err != nil {
		return syncTarget{}, fmt.Errorf("store: append: %w", err)
	}
	if s.first == 0 {
		s.first = entries[0].Zxid
	}
	s.last = entries[len(entries)-1].Zxid
	if s.opts.NoSync {
		s.synced = s.last
	}
	return syncTarget{z: s.last, gen: s.gen}, nil
}

func checkOrder(last zxid.Zxid, entries []Entry) error {
	prev := last
	for _, e := range entries {
		if e.Zxid <= 0 || e.Zxid <= prev {
			return fmt.Errorf("%w: %s after %s", ErrZxidOrder, e.Zxid, prev)
		}
		prev = e.Zxid
	}
	return nil
}

// LastZxid is the newest zxid the store holds: the last appended entry
// (buffered included) or, after a snapshot install, the snapshot's zxid.
func (s *Store) LastZxid() zxid.Zxid {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// SyncedZxid is the newest zxid known durable.
func (s *Store) SyncedZxid() zxid.Zxid {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

// FirstZxid is the oldest entry left in the log after retention, 0 if the
// log is empty.
func (s *Store) FirstZxid() zxid.Zxid {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// Entries returns the entries with from <= zxid <= to, ascending. maxBytes > 0
// caps the total data size, but at least one entry is returned if any exists.
func (s *Store) Entries(from, to zxid.Zxid, maxBytes int) ([]Entry, error) {
	if from < 0 || to < from {
		return nil, nil
	}
	leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	upper := logEnd
	if to < zxid.Zxid(1<<63-1) {
		upper = logKey(to + 1)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logKey(from), UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Entry
	size := 0
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return out, fmt.Errorf("store: read log: %w", err)
		}
		e, err := decodeEntry(it.Key(), v)
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if maxBytes > 0 && len(out) > 0 && size+len(e.Data) > maxBytes {
			break
		}
		e.Data = append([]byte{}, e.Data...)
		size += len(e.Data)
		out = append(out, e)
	}
	return out, it.Error()
}

// Entry returns one entry; ok is false if the log does not hold z.
func (s *Store) Entry(z zxid.Zxid) (Entry, bool, error) {
	leave, err := s.enter()
	if err != nil {
		return Entry{}, false, err
	}
	defer leave()
	k := logKey(z)
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("store: read %s: %w", z, err)
	}
	defer closer.Close()
	e, err := decodeEntry(k, v)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	e.Data = append([]byte{}, e.Data...)
	return e, true, nil
}

// TruncateAfter durably drops every entry after z (ZAB TRUNC), and every
// snapshot after z, since those contain the dropped txns. z below the log
// base is refused with ErrTruncateBelowSnapshot: the state there is gone.
func (s *Store) TruncateAfter(z zxid.Zxid) error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	if z < s.base {
		return fmt.Errorf("%w: %s < base %s", ErrTruncateBelowSnapshot, z, s.base)
	}
	if z >= s.last {
		return nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.DeleteRange(logKey(z+1), logEnd, nil)
	kept, dropped := splitSnaps(s.snaps, func(r snapRecord) bool { return zxid.Zxid(r.Zxid) <= z })
	for _, r := range dropped {
		_ = b.Delete(snapKey(zxid.Zxid(r.Zxid)), nil)
	}
	if err := b.Commit(s.writeOpts()); err != nil {
		return fmt.Errorf("store: truncate after %s: %w", z, err)
	}
	s.gen++
	s.snaps = kept
	last, err := s.lastLogZxid()
	if err != nil {
		return err
	}
	s.last = max(last, s.base)
	s.synced = min(s.synced, s.last)
	if last == 0 {
		s.first = 0
	}
	s.log.Info("log truncated", zap.Stringer("after", z), zap.Stringer("last", s.last),
		zap.Int("snapshotsDropped", len(dropped)))
	s.removeSnapFiles(dropped)
	return nil
}

// lastLogZxid is the newest key in the log, 0 if empty. Caller holds mu.
func (s *Store) lastLogZxid() (zxid.Zxid, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logStart, UpperBound: logEnd})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	return keyZxid(it.Key()), nil
}

// firstLogZxid is the oldest key in the log, 0 if empty. Caller holds mu.
func (s *Store) firstLogZxid() (zxid.Zxid, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logStart, UpperBound: logEnd})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.First() {
		return 0, it.Error()
	}
	return keyZxid(it.Key()), nil
}

// splitSnaps partitions snapshot records, keeping order.
func splitSnaps(rs []snapRecord, keep func(snapRecord) bool) (kept, dropped []snapRecord) {
	for _, r := range rs {
		if keep(r) {
			kept = append(kept, r)
		} else {
			dropped = append(dropped, r)
		}
	}
	return kept, dropped
}
