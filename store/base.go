package store

import "github.com/zabkeeper/zabkeeper/zxid"

// Base is the zxid after which the log is complete: entries at or below it
// may have been removed by retention or replaced by an installed snapshot.
func (s *Store) Base() zxid.Zxid {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}
