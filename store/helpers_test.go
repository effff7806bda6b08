package store

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/vfs"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// memOpts are options for a store on an in-memory FS that drops unsynced data
// on ResetToSyncedState.
func memOpts(fs vfs.FS) Options {
	return Options{Dir: "/data", LogDir: "/wal", FS: fs, SnapRetain: 3}
}

func mustOpen(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// observed returns a logger whose entries the test can read.
func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

func ent(epoch, counter uint32, data string) Entry {
	return Entry{Zxid: zxid.New(epoch, counter), Data: []byte(data)}
}

func entries(epoch uint32, from, to uint32) []Entry {
	var out []Entry
	for c := from; c <= to; c++ {
		out = append(out, ent(epoch, c, fmt.Sprintf("txn-%d-%d", epoch, c)))
	}
	return out
}

func snapshot(t testing.TB, s *Store, z zxid.Zxid, body []byte) SnapshotInfo {
	t.Helper()
	w, err := s.CreateSnapshot(z)
	if err != nil {
		t.Fatalf("create snapshot %s: %v", z, err)
	}
	for off := 0; off < len(body); off += 1000 {
		if _, err := w.Write(body[off:min(off+1000, len(body))]); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.Commit()
	if err != nil {
		t.Fatalf("commit snapshot %s: %v", z, err)
	}
	return info
}

func readLatest(t testing.TB, s *Store) (zxid.Zxid, []byte) {
	t.Helper()
	z, rc, err := s.LatestSnapshot()
	if err != nil {
		t.Fatalf("latest snapshot: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read snapshot %s: %v", z, err)
	}
	return z, b
}

func allEntries(t testing.TB, s *Store) []Entry {
	t.Helper()
	es, err := s.Entries(0, zxid.Zxid(1<<63-1), 0)
	if err != nil {
		t.Fatalf("entries: %v", err)
	}
	return es
}

func sameEntries(t testing.TB, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i].Zxid != want[i].Zxid || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("entry %d: got %v %q, want %v %q", i, got[i].Zxid, got[i].Data, want[i].Zxid, want[i].Data)
		}
	}
}

// logged reports whether a log entry with msg in its message has a field
// whose text is want (a zxid, say).
func logged(logs *observer.ObservedLogs, msg, want string) bool {
	for _, e := range logs.All() {
		if !strings.Contains(e.Message, msg) {
			continue
		}
		for _, v := range e.ContextMap() {
			if fmt.Sprint(v) == want {
				return true
			}
		}
	}
	return false
}
