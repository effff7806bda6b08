package server

import (
	"io"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// TakeSnapshot runs one snapshot through the periodic snapshotter's path
// (into the store, retention on commit), for benchmarks in server_test.
func (s *Server) TakeSnapshot() error { return s.snap.take() }

// WriteSnapshotTo exposes writeSnapshotTo (the `snapshot save` path).
func (s *Server) WriteSnapshotTo(w io.Writer) (zxid.Zxid, error) { return s.writeSnapshotTo(w) }
