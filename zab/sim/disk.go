package sim

import (
	"fmt"

	"github.com/zabkeeper/zabkeeper/zab"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// state is what a member's disk holds: a snapshot, the log after it and the
// two epochs.
type state struct {
	snapZxid zxid.Zxid
	snapData []byte // a tree snapshot stream (tree.Restore reads it)
	log      []zab.Entry
	accepted uint32
	current  uint32
}

func (s state) clone() state {
	s.log = append([]zab.Entry(nil), s.log...)
	return s
}

func (s *state) last() zxid.Zxid {
	if len(s.log) > 0 {
		return s.log[len(s.log)-1].Zxid
	}
	return s.snapZxid
}

// op is one write of a Ready; done marks the last write of a Ready.
type op struct {
	snap     *zab.Snapshot
	trunc    *zxid.Zxid
	entry    *zab.Entry
	accepted uint32
	current  uint32
	done     *zab.Persisted
}

// apply performs one write; a write that breaks the log's order is a bug.
func (s *state) apply(o op) error {
	switch {
	case o.snap != nil:
		s.snapZxid, s.snapData, s.log = o.snap.Zxid, o.snap.Data, nil
	case o.trunc != nil:
		if *o.trunc < s.snapZxid {
			return fmt.Errorf("truncate to %s below snapshot %s", *o.trunc, s.snapZxid)
		}
		i := len(s.log)
		for i > 0 && s.log[i-1].Zxid > *o.trunc {
			i--
		}
		s.log = s.log[:i]
	case o.entry != nil:
		if o.entry.Zxid <= s.last() {
			return fmt.Errorf("log zxids must increase: %s after %s", o.entry.Zxid, s.last())
		}
		s.log = append(s.log, *o.entry)
	case o.accepted != 0:
		s.accepted = o.accepted
	case o.current != 0:
		s.current = o.current
	}
	return nil
}

// Disk models a member's storage: dur survives a crash; ops were written
// (page cache) but not yet synced, and a crash keeps a prefix of them, as a
// driver that syncs the log before the epoch files guarantees.
type Disk struct {
	dur state
	cur state // dur + ops: what the running member reads
	ops []op
	// atomicInstall: a crash keeps a SNAP install only with every other
	// write of its Ready (see Options.AtomicInstall).
	atomicInstall bool
}

// write records the durable part of a Ready.
func (d *Disk) write(rd zab.Ready) error {
	if rd.Durable.Seq == 0 {
		return nil
	}
	var ops []op
	if rd.InstallSnapshot != nil {
		ops = append(ops, op{snap: rd.InstallSnapshot})
	}
	if rd.TruncateAfter != nil {
		ops = append(ops, op{trunc: rd.TruncateAfter})
	}
	for i := range rd.Append {
		ops = append(ops, op{entry: &rd.Append[i]})
	}
	if rd.AcceptedEpoch != 0 {
		ops = append(ops, op{accepted: rd.AcceptedEpoch})
	}
	if rd.CurrentEpoch != 0 {
		ops = append(ops, op{current: rd.CurrentEpoch})
	}
	p := rd.Durable
	ops[len(ops)-1].done = &p
	for _, o := range ops {
		if err := d.cur.apply(o); err != nil {
			return err
		}
	}
	d.ops = append(d.ops, ops...)
	return nil
}

// fsync makes every written op durable and returns what to report.
func (d *Disk) fsync() (zab.Persisted, bool) {
	if len(d.ops) == 0 {
		return zab.Persisted{}, false
	}
	p := *d.ops[len(d.ops)-1].done
	d.dur, d.ops = d.cur.clone(), nil
	return p, true
}

// crash keeps the first keep unsynced ops.
func (d *Disk) crash(keep int) {
	if d.atomicInstall {
		keep = d.wholeInstall(keep)
	}
	for _, o := range d.ops[:keep] {
		if err := d.dur.apply(o); err != nil {
			panic(err) // they applied to cur in the same order
		}
	}
	d.cur, d.ops = d.dur.clone(), nil
}

// wholeInstall moves a crash point that falls inside a Ready carrying a
// snapshot install back to before that Ready's first write.
func (d *Disk) wholeInstall(keep int) int {
	for i := keep - 1; i >= 0 && d.ops[i].done == nil; i-- {
		if d.ops[i].snap != nil {
			return i
		}
	}
	return keep
}

// compact replaces the log up to z with a snapshot of the state machine at
// z; only when synced.
func (d *Disk) compact(z zxid.Zxid, snap []byte) bool {
	if len(d.ops) != 0 || z <= d.dur.snapZxid || z > d.dur.last() {
		return false
	}
	i := 0
	for i < len(d.dur.log) && d.dur.log[i].Zxid <= z {
		i++
	}
	d.dur.snapZxid, d.dur.snapData = z, snap
	d.dur.log = append([]zab.Entry(nil), d.dur.log[i:]...)
	d.cur = d.dur.clone()
	return true
}

// view is the zab.Log over what the running member wrote.
type view struct{ d *Disk }

func (v view) Entries(from, to zxid.Zxid) ([]zab.Entry, error) {
	s := &v.d.cur
	if from <= s.snapZxid && s.snapZxid > 0 {
		return nil, zab.ErrCompacted
	}
	var out []zab.Entry
	for _, e := range s.log {
		if e.Zxid >= from && e.Zxid <= to {
			out = append(out, e)
		}
	}
	return out, nil
}

func (v view) LastZxid() zxid.Zxid { return v.d.cur.last() }
