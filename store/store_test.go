package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/zabkeeper/zabkeeper/zxid"
)

func TestAppendSyncRead(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	if s.LastZxid() != 0 || s.FirstZxid() != 0 {
		t.Fatalf("fresh store: last %s first %s", s.LastZxid(), s.FirstZxid())
	}
	if err := s.AppendSync(entries(1, 1, 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(entries(1, 4, 6)); err != nil {
		t.Fatal(err)
	}
	if s.LastZxid() != zxid.New(1, 6) || s.SyncedZxid() != zxid.New(1, 3) {
		t.Fatalf("last %s synced %s, want 0x100000006 0x100000003", s.LastZxid(), s.SyncedZxid())
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if s.SyncedZxid() != zxid.New(1, 6) {
		t.Fatalf("synced %s after Sync", s.SyncedZxid())
	}
	sameEntries(t, allEntries(t, s), entries(1, 1, 6))
	got, err := s.Entries(zxid.New(1, 2), zxid.New(1, 4), 0)
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, got, entries(1, 2, 4))
	// maxBytes caps the size but never returns nothing.
	got, _ = s.Entries(zxid.New(1, 1), zxid.New(1, 6), 20)
	sameEntries(t, got, entries(1, 1, 2))
	got, _ = s.Entries(zxid.New(1, 1), zxid.New(1, 6), 1)
	sameEntries(t, got, entries(1, 1, 1))
	e, ok, err := s.Entry(zxid.New(1, 5))
	if err != nil || !ok || string(e.Data) != "txn-1-5" {
		t.Fatalf("Entry(0x100000005) = %v %v %v", e, ok, err)
	}
	if _, ok, _ := s.Entry(zxid.New(1, 9)); ok {
		t.Fatal("Entry of a missing zxid found something")
	}
	if s.FirstZxid() != zxid.New(1, 1) {
		t.Fatalf("first %s", s.FirstZxid())
	}
	// Durable across a crash that drops everything unsynced.
	if err := s.Append(entries(1, 7, 7)); err != nil {
		t.Fatal(err)
	}
	s = crashReopen(t, fs, s, memOpts(fs))
	sameEntries(t, allEntries(t, s), entries(1, 1, 6))
	if s.LastZxid() != zxid.New(1, 6) || s.SyncedZxid() != zxid.New(1, 6) {
		t.Fatalf("after crash: last %s synced %s", s.LastZxid(), s.SyncedZxid())
	}
	s.Close()
}

// crashReopen simulates a power loss: unsynced data is dropped.
func crashReopen(t testing.TB, fs *vfs.MemFS, s *Store, o Options) *Store {
	t.Helper()
	fs.SetIgnoreSyncs(true)
	_ = s.Close()
	fs.ResetToSyncedState()
	fs.SetIgnoreSyncs(false)
	return mustOpen(t, o)
}

func TestZxidOrder(t *testing.T) {
	s := mustOpen(t, memOpts(vfs.NewStrictMem()))
	defer s.Close()
	if err := s.AppendSync(entries(2, 5, 6)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]Entry{
		{ent(2, 6, "same")},
		{ent(2, 4, "older")},
		{ent(1, 9, "older epoch")},
		{ent(2, 8, "a"), ent(2, 7, "b")},
		{{Zxid: 0}},
		{{Zxid: -5}},
	} {
		if err := s.AppendSync(bad); !errors.Is(err, ErrZxidOrder) {
			t.Errorf("AppendSync(%v) = %v, want ErrZxidOrder", bad, err)
		}
		if err := s.Append(bad); !errors.Is(err, ErrZxidOrder) {
			t.Errorf("Append(%v) = %v, want ErrZxidOrder", bad, err)
		}
	}
	sameEntries(t, allEntries(t, s), entries(2, 5, 6))
	if err := s.AppendSync([]Entry{ent(3, 1, "new epoch")}); err != nil {
		t.Fatal(err)
	}
}

func TestTruncateAfter(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	if err := s.AppendSync(entries(1, 1, 10)); err != nil {
		t.Fatal(err)
	}
	snapshot(t, s, zxid.New(1, 4), []byte("at 4"))
	snapshot(t, s, zxid.New(1, 8), []byte("at 8"))
	if err := s.TruncateAfter(zxid.New(1, 6)); err != nil {
		t.Fatal(err)
	}
	if s.LastZxid() != zxid.New(1, 6) || s.SyncedZxid() != zxid.New(1, 6) {
		t.Fatalf("last %s synced %s", s.LastZxid(), s.SyncedZxid())
	}
	// The snapshot at 8 holds dropped txns: gone with them.
	if z, b := readLatest(t, s); z != zxid.New(1, 4) || string(b) != "at 4" {
		t.Fatalf("latest snapshot %s %q", z, b)
	}
	if len(s.Snapshots()) != 1 {
		t.Fatalf("snapshots %v", s.Snapshots())
	}
	// A new branch continues after the cut.
	if err := s.AppendSync([]Entry{ent(2, 1, "branch")}); err != nil {
		t.Fatal(err)
	}
	s = crashReopen(t, fs, s, memOpts(fs))
	defer s.Close()
	sameEntries(t, allEntries(t, s), append(entries(1, 4, 6), ent(2, 1, "branch")))
	if err := s.TruncateAfter(zxid.New(1, 3)); !errors.Is(err, ErrTruncateBelowSnapshot) {
		t.Fatalf("truncate below the snapshot: %v", err)
	}
	if err := s.TruncateAfter(zxid.New(1, 4)); err != nil {
		t.Fatal(err)
	}
	if s.LastZxid() != zxid.New(1, 4) || s.FirstZxid() != zxid.New(1, 4) {
		t.Fatalf("last %s first %s", s.LastZxid(), s.FirstZxid())
	}
}

func TestEpochsDurable(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	if s.AcceptedEpoch() != 0 || s.CurrentEpoch() != 0 {
		t.Fatal("fresh epochs not 0")
	}
	if err := s.SetAcceptedEpoch(7); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCurrentEpoch(6); err != nil {
		t.Fatal(err)
	}
	s = crashReopen(t, fs, s, memOpts(fs))
	defer s.Close()
	if s.AcceptedEpoch() != 7 || s.CurrentEpoch() != 6 {
		t.Fatalf("epochs after crash: accepted %d current %d", s.AcceptedEpoch(), s.CurrentEpoch())
	}
}

func TestRetention(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	for i := uint32(0); i < 5; i++ {
		if err := s.AppendSync(entries(1, i*10+1, i*10+10)); err != nil {
			t.Fatal(err)
		}
		snapshot(t, s, zxid.New(1, i*10+5), []byte{byte(i)})
	}
	infos := s.Snapshots()
	if len(infos) != 3 || infos[0].Zxid != zxid.New(1, 25) || infos[2].Zxid != zxid.New(1, 45) {
		t.Fatalf("snapshots %v, want 0x100000019 .. 0x10000002d", infos)
	}
	files, _ := fs.List("/data/snapshots")
	if len(files) != 3 {
		t.Fatalf("snapshot files %v", files)
	}
	if s.FirstZxid() != zxid.New(1, 25) {
		t.Fatalf("first %s, want 0x100000019", s.FirstZxid())
	}
	sameEntries(t, allEntries(t, s), entries(1, 25, 50))
	s = crashReopen(t, fs, s, memOpts(fs))
	defer s.Close()
	sameEntries(t, allEntries(t, s), entries(1, 25, 50))
	if len(s.Snapshots()) != 3 {
		t.Fatalf("after reopen: %v", s.Snapshots())
	}
}

func TestSnapshotAbortAndStale(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	defer s.Close()
	if _, _, err := s.LatestSnapshot(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("empty store: %v", err)
	}
	if err := s.AppendSync(entries(1, 1, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSnapshot(zxid.New(1, 6)); err == nil {
		t.Fatal("snapshot beyond the last zxid accepted")
	}
	w, _ := s.CreateSnapshot(zxid.New(1, 3))
	w.Write([]byte("discarded"))
	w.Abort()
	w, _ = s.CreateSnapshot(zxid.New(1, 5))
	w.Write([]byte("dead branch"))
	if err := s.TruncateAfter(zxid.New(1, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrSnapshotStale) {
		t.Fatalf("commit after truncate: %v", err)
	}
	if files, _ := fs.List("/data/snapshots"); len(files) != 0 || len(s.Snapshots()) != 0 {
		t.Fatalf("left behind: %v %v", files, s.Snapshots())
	}
}

func TestInstallSnapshot(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	if err := s.AppendSync(entries(1, 1, 10)); err != nil {
		t.Fatal(err)
	}
	snapshot(t, s, zxid.New(1, 9), []byte("mine at 9"))
	// The leader's history diverged at 1/5: its snapshot at 2/3 replaces all.
	if err := s.InstallSnapshot(zxid.New(1, 7), bytes.NewReader([]byte("leader at 7"))); err != nil {
		t.Fatal(err)
	}
	if s.LastZxid() != zxid.New(1, 7) || s.FirstZxid() != 0 || len(allEntries(t, s)) != 0 {
		t.Fatalf("after install: last %s first %s", s.LastZxid(), s.FirstZxid())
	}
	if err := s.Append([]Entry{ent(1, 7, "x")}); !errors.Is(err, ErrZxidOrder) {
		t.Fatalf("append at the snapshot zxid: %v", err)
	}
	if err := s.AppendSync(entries(2, 1, 2)); err != nil {
		t.Fatal(err)
	}
	s = crashReopen(t, fs, s, memOpts(fs))
	defer s.Close()
	if z, b := readLatest(t, s); z != zxid.New(1, 7) || string(b) != "leader at 7" {
		t.Fatalf("latest %s %q", z, b)
	}
	sameEntries(t, allEntries(t, s), entries(2, 1, 2))
	if s.LastZxid() != zxid.New(2, 2) {
		t.Fatalf("last %s", s.LastZxid())
	}
	if err := s.TruncateAfter(zxid.New(1, 7)); err != nil {
		t.Fatal(err)
	}
	if s.LastZxid() != zxid.New(1, 7) {
		t.Fatalf("truncate to the install point: last %s", s.LastZxid())
	}
}

func TestRestoreAndSnapshotFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.zks")
	var buf bytes.Buffer
	body := bytes.Repeat([]byte("znode data "), 50000)
	if _, err := WriteSnapshotFile(&buf, zxid.New(4, 9), bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if err := vfsWrite(file, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	z, rc, err := ReadSnapshotFile(file)
	if err != nil || z != zxid.New(4, 9) {
		t.Fatalf("ReadSnapshotFile: %s %v", z, err)
	}
	if err := RestoreSnapshot(filepath.Join(dir, "data"), filepath.Join(dir, "log"), z, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	s := mustOpen(t, Options{Dir: filepath.Join(dir, "data"), LogDir: filepath.Join(dir, "log")})
	gz, got := readLatest(t, s)
	if gz != zxid.New(4, 9) || !bytes.Equal(got, body) || s.LastZxid() != gz || s.CurrentEpoch() != 4 || s.AcceptedEpoch() != 4 {
		t.Fatalf("restored: %s %dB last %s epochs %d/%d", gz, len(got), s.LastZxid(), s.AcceptedEpoch(), s.CurrentEpoch())
	}
	// The file a store keeps is itself a valid snapshot file.
	if z2, rc2, err := ReadSnapshotFile(s.Snapshots()[0].Path); err != nil || z2 != gz {
		t.Fatalf("store's own file: %s %v", z2, err)
	} else {
		rc2.Close()
	}
	s.Close()
	err = RestoreSnapshot(filepath.Join(dir, "data"), filepath.Join(dir, "log"), z, bytes.NewReader(body))
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore over data: %v", err)
	}
	// A damaged file is refused.
	raw := buf.Bytes()
	raw[100] ^= 1
	vfsWrite(file, raw)
	if _, _, err := ReadSnapshotFile(file); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged file: %v", err)
	}
}

func vfsWrite(path string, b []byte) error {
	f, err := vfs.Default.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Close()
}

// Many goroutines race AppendSync with zxids from a shared counter: the
// losers of a race get ErrZxidOrder, every winner's entry is in the log.
func TestConcurrentAppendSync(t *testing.T) {
	s := mustOpen(t, memOpts(vfs.NewStrictMem()))
	defer s.Close()
	var next atomic.Uint32
	var mu sync.Mutex
	won := map[zxid.Zxid]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				z := zxid.New(1, next.Add(1))
				err := s.AppendSync([]Entry{{Zxid: z, Data: []byte(z.String())}})
				if err != nil && !errors.Is(err, ErrZxidOrder) {
					t.Error(err)
					return
				}
				if err == nil {
					mu.Lock()
					won[z] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	es := allEntries(t, s)
	if len(es) != len(won) || len(es) == 0 {
		t.Fatalf("%d entries in the log, %d appends succeeded", len(es), len(won))
	}
	for i, e := range es {
		if !won[e.Zxid] || string(e.Data) != e.Zxid.String() || (i > 0 && e.Zxid <= es[i-1].Zxid) {
			t.Fatalf("entry %d %v unexpected", i, e)
		}
	}
	if s.SyncedZxid() != es[len(es)-1].Zxid {
		t.Fatalf("synced %s, last entry %s", s.SyncedZxid(), es[len(es)-1].Zxid)
	}
}

func TestClosed(t *testing.T) {
	s := mustOpen(t, memOpts(vfs.NewStrictMem()))
	s.Close()
	if err := s.AppendSync(entries(1, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := s.Entries(0, 10, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

// A SNAP install replaces the log with the snapshot and the entries sent
// with it in one write: after a crash right after the install returns, the
// entries are there; the old log never survives without them.
func TestInstallSnapshotWithEntriesIsAtomic(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	if err := s.AppendSync(entries(1, 1, 10)); err != nil {
		t.Fatal(err)
	}
	after := entries(2, 1, 12)
	if err := s.InstallSnapshot(zxid.New(1, 3), bytes.NewReader([]byte("leader at 3")), after...); err != nil {
		t.Fatal(err)
	}
	if s.LastZxid() != zxid.New(2, 12) || s.SyncedZxid() != zxid.New(2, 12) || s.FirstZxid() != zxid.New(2, 1) {
		t.Fatalf("after install: last %s synced %s first %s", s.LastZxid(), s.SyncedZxid(), s.FirstZxid())
	}
	s = crashReopen(t, fs, s, memOpts(fs))
	defer s.Close()
	if z, b := readLatest(t, s); z != zxid.New(1, 3) || string(b) != "leader at 3" {
		t.Fatalf("latest %s %q", z, b)
	}
	sameEntries(t, allEntries(t, s), after)
	if err := s.InstallSnapshot(zxid.New(2, 20), bytes.NewReader(nil), entries(2, 5, 6)...); !errors.Is(err, ErrZxidOrder) {
		t.Fatalf("entries below the snapshot zxid: %v", err)
	}
}
