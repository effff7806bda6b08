package sim

import (
	"encoding/binary"

	"github.com/zabkeeper/zabkeeper/zab"
)

// fold is the state machine: a hash chain over the applied txns (FNV-1a).
func fold(d uint64, e zab.Entry) uint64 {
	const prime = 1099511628211
	if d == 0 {
		d = 14695981039346656037
	}
	var z [8]byte
	binary.BigEndian.PutUint64(z[:], uint64(e.Zxid))
	for _, b := range append(z[:], e.Data...) {
		d ^= uint64(b)
		d *= prime
	}
	return d
}

func encodeDigest(d uint64) []byte { return binary.BigEndian.AppendUint64(nil, d) }

func decodeDigest(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
