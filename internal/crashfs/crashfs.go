// Package crashfs is a pebble in-memory filesystem that loses power on cue,
// for crash tests of the store: every mutating operation (pebble's
// background work included) counts down, and once the count reaches zero
// syncs stop being honoured, so Restart is a power cut at exactly that
// operation: everything not synced before it is gone.
package crashfs

import (
	"sync/atomic"

	"github.com/cockroachdb/pebble/vfs"
)

// FS is the crashable filesystem. It is safe for concurrent use.
type FS struct {
	vfs.FS
	mem       *vfs.MemFS
	countdown atomic.Int64
	frozen    atomic.Bool
}

// New is an empty, disarmed filesystem.
func New() *FS {
	mem := vfs.NewStrictMem()
	f := &FS{FS: mem, mem: mem}
	f.countdown.Store(-1 << 40)
	return f
}

// Arm cuts the power after n more mutating operations.
func (f *FS) Arm(n int64) { f.countdown.Store(n) }

// Frozen reports whether the power is cut: nothing written since is durable.
func (f *FS) Frozen() bool { return f.frozen.Load() }

// Freeze cuts the power now (if the countdown has not already).
func (f *FS) Freeze() {
	if !f.frozen.Swap(true) {
		f.mem.SetIgnoreSyncs(true)
	}
}

// Restart throws away everything that was not synced before the power cut
// and powers the filesystem back on, disarmed. Close every user first.
func (f *FS) Restart() {
	f.Freeze()
	f.mem.ResetToSyncedState()
	f.mem.SetIgnoreSyncs(false)
	f.frozen.Store(false)
	f.countdown.Store(-1 << 40)
}

func (f *FS) tick() {
	if f.countdown.Add(-1) == 0 {
		f.Freeze()
	}
}

func (f *FS) wrap(file vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return crashFile{File: file, fs: f}, nil
}

// The mutating operations count down; reads pass through.

func (f *FS) Create(n string) (vfs.File, error) { f.tick(); return f.wrap(f.FS.Create(n)) }
func (f *FS) OpenReadWrite(n string, o ...vfs.OpenOption) (vfs.File, error) {
	f.tick()
	return f.wrap(f.FS.OpenReadWrite(n, o...))
}
func (f *FS) ReuseForWrite(o, n string) (vfs.File, error) {
	f.tick()
	return f.wrap(f.FS.ReuseForWrite(o, n))
}
func (f *FS) OpenDir(n string) (vfs.File, error) { return f.wrap(f.FS.OpenDir(n)) }
func (f *FS) Link(o, n string) error             { f.tick(); return f.FS.Link(o, n) }
func (f *FS) Remove(n string) error              { f.tick(); return f.FS.Remove(n) }
func (f *FS) RemoveAll(n string) error           { f.tick(); return f.FS.RemoveAll(n) }
func (f *FS) Rename(o, n string) error           { f.tick(); return f.FS.Rename(o, n) }

type crashFile struct {
	vfs.File
	fs *FS
}

func (c crashFile) Write(p []byte) (int, error) { c.fs.tick(); return c.File.Write(p) }
func (c crashFile) WriteAt(p []byte, o int64) (int, error) {
	c.fs.tick()
	return c.File.WriteAt(p, o)
}
func (c crashFile) Sync() error     { c.fs.tick(); return c.File.Sync() }
func (c crashFile) SyncData() error { c.fs.tick(); return c.File.SyncData() }
