package store

import (
	"fmt"

	"go.uber.org/zap"
)

// AcceptedEpoch is the last epoch this server accepted from a prospective
// leader (ZAB discovery); 0 if none.
func (s *Store) AcceptedEpoch() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// CurrentEpoch is the epoch of the leader this server last synced with; 0 if none.
func (s *Store) CurrentEpoch() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// SetAcceptedEpoch durably records the accepted epoch.
func (s *Store) SetAcceptedEpoch(e uint32) error {
	return s.setEpoch(keyAcceptedEpoch, &s.accepted, e)
}

// SetCurrentEpoch durably records the current epoch.
func (s *Store) SetCurrentEpoch(e uint32) error {
	return s.setEpoch(keyCurrentEpoch, &s.current, e)
}

func (s *Store) setEpoch(key []byte, field *uint32, e uint32) error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Set(key, seal(metaRecord{Value: uint64(e)}), s.writeOpts()); err != nil {
		return fmt.Errorf("store: set %s: %w", key[1:], err)
	}
	*field = e
	s.log.Debug("epoch set", zap.ByteString("name", key[1:]), zap.Uint32("epoch", e))
	return nil
}
