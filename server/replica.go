package server

import (
	"context"
	"errors"
)

// openReplicator recovers the durable state and starts ordering writes:
// alone for a standalone member, through ZAB for an ensemble member.
func (s *Server) openReplicator(ctx context.Context) (replicator, error) {
	st, err := s.openStore()
	if err != nil {
		return nil, err
	}
	snapZ, err := s.recoverTree(st)
	if err != nil {
		st.Close()
		return nil, err
	}
	if !s.cfg.Standalone() {
		st.Close()
		return nil, errors.New("ensemble mode is not available in this build yet")
	}
	if err := s.replay(st, snapZ, st.LastZxid()); err != nil {
		st.Close()
		return nil, err
	}
	s.snap = &snapshotter{s: s, st: st}
	s.resetTracker()
	return newStandalone(s, st)
}
