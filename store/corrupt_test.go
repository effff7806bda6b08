package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// A record whose checksum fails is cut with everything after it, and the log
// line names its zxid.
func TestDamagedLogRecordIsCut(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	if err := s.AppendSync(entries(1, 1, 8)); err != nil {
		t.Fatal(err)
	}
	// Flip a byte of the stored value of 0x100000007 behind the store's back.
	k := logKey(zxid.New(1, 7))
	v, closer, err := s.db.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, v...)
	closer.Close()
	bad[len(bad)-2] ^= 0x40
	if err := s.db.Set(k, bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.Close()
	o := memOpts(fs)
	var logs *observer.ObservedLogs
	o.Logger, logs = observed()
	s = mustOpen(t, o)
	defer s.Close()
	sameEntries(t, allEntries(t, s), entries(1, 1, 6))
	if s.LastZxid() != zxid.New(1, 6) {
		t.Fatalf("last %s", s.LastZxid())
	}
	if !logged(logs, "cutting damaged log tail", "0x100000007") {
		t.Fatalf("no log line naming 0x100000007: %v", logs.All())
	}
	if err := s.AppendSync([]Entry{ent(1, 7, "again")}); err != nil {
		t.Fatal(err)
	}
}

// A torn write at the end of pebble's WAL (a byte flipped inside the last
// record) loses that record only; the store opens with the rest.
func TestTornWALTail(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	es := entries(1, 1, 20)
	if err := s.AppendSync(es[:19]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendSync(es[19:]); err != nil {
		t.Fatal(err)
	}
	s.Close()
	flipped := 0
	names, _ := fs.List("/wal/wal")
	for _, n := range names {
		if !strings.HasSuffix(n, ".log") {
			continue
		}
		p := "/wal/wal/" + n
		b := readMem(t, fs, p)
		if i := bytes.LastIndex(b, es[19].Data); i >= 0 {
			b[i+2] ^= 0xff
			writeMem(t, fs, p, b)
			flipped++
		}
	}
	if flipped != 1 {
		t.Fatalf("found the last record in %d WAL files", flipped)
	}
	s = mustOpen(t, memOpts(fs))
	defer s.Close()
	sameEntries(t, allEntries(t, s), es[:19])
	if s.LastZxid() != es[18].Zxid {
		t.Fatalf("last %s", s.LastZxid())
	}
}

func TestDamagedSnapshotFallsBack(t *testing.T) {
	fs := vfs.NewStrictMem()
	o := memOpts(fs)
	var logs *observer.ObservedLogs
	o.Logger, logs = observed()
	s := mustOpen(t, o)
	if err := s.AppendSync(entries(1, 1, 10)); err != nil {
		t.Fatal(err)
	}
	snapshot(t, s, zxid.New(1, 3), []byte("older snapshot"))
	newest := snapshot(t, s, zxid.New(1, 8), bytes.Repeat([]byte("newer "), 1000))
	s.Close()
	b := readMem(t, fs, newest.Path)
	b[len(b)/2] ^= 1
	writeMem(t, fs, newest.Path, b)

	s = mustOpen(t, o)
	defer s.Close()
	if z, body := readLatest(t, s); z != zxid.New(1, 3) || string(body) != "older snapshot" {
		t.Fatalf("latest %s %q, want the older one", z, body)
	}
	if !logged(logs, "snapshot damaged", "0x100000008") {
		t.Fatalf("no log line naming 0x100000008: %v", logs.All())
	}
	// The log after the older snapshot is still all there to replay.
	sameEntries(t, allEntries(t, s), entries(1, 3, 10))
}

// When the log was trimmed after a snapshot and that snapshot is damaged,
// nothing can rebuild the state: Open refuses instead of serving less.
func TestNoValidStateRefusesOpen(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := mustOpen(t, memOpts(fs))
	if err := s.AppendSync(entries(1, 1, 10)); err != nil {
		t.Fatal(err)
	}
	info := snapshot(t, s, zxid.New(1, 5), []byte("the only snapshot"))
	s.Close()
	b := readMem(t, fs, info.Path)
	b[3] ^= 1
	writeMem(t, fs, info.Path, b)
	_, err := Open(memOpts(fs))
	if !errors.Is(err, ErrUnusable) || !strings.Contains(err.Error(), "0x100000005") {
		t.Fatalf("open = %v, want ErrUnusable naming 0x100000005", err)
	}
	// A missing file is the same.
	fs.Remove(info.Path)
	if _, err := Open(memOpts(fs)); !errors.Is(err, ErrUnusable) {
		t.Fatalf("open without the file = %v", err)
	}
}

func readMem(t *testing.T, fs vfs.FS, p string) []byte {
	t.Helper()
	f, err := fs.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeMem(t *testing.T, fs *vfs.MemFS, p string, b []byte) {
	t.Helper()
	f, err := fs.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}
