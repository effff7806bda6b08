package server

import "context"

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
	s.snap = &snapshotter{s: s, st: st}
	if !s.cfg.Standalone() {
		// Logged txns after the snapshot are applied once a leader says
		// they are committed.
		e, err := newEnsemble(s, st, snapZ)
		if err != nil {
			st.Close()
		}
		return e, err
	}
	if err := s.replay(st, snapZ, st.LastZxid()); err != nil {
		st.Close()
		return nil, err
	}
	s.resetTracker()
	return newStandalone(s, st)
}
