package server

import (
	"encoding/binary"
	"errors"

	"github.com/zabkeeper/zabkeeper/tree"
)

// A log entry is the leader's clock (8 bytes, ms) followed by the msgpack
// txn without its time. A follower forwards the encoded txn and the leader
// only puts its clock in front, so a forwarded write is never decoded and
// re-encoded on the leader.

// encodeRequest is a txn as a follower forwards it (no time yet).
func encodeRequest(t *tree.Txn) ([]byte, error) {
	saved := t.Time
	t.Time = 0
	body, err := tree.EncodeTxn(t)
	t.Time = saved
	return body, err
}

// stamp makes a log entry of a forwarded request and the leader's clock.
func stamp(ms int64, request []byte) []byte {
	out := make([]byte, 8+len(request))
	binary.BigEndian.PutUint64(out, uint64(ms))
	copy(out[8:], request)
	return out
}

// encodeEntry is the log entry of a txn whose Time is set.
func encodeEntry(t *tree.Txn) ([]byte, error) {
	body, err := encodeRequest(t)
	if err != nil {
		return nil, err
	}
	return stamp(t.Time, body), nil
}

var errShortEntry = errors.New("log entry shorter than its 8-byte clock")

// decodeEntry reads a log entry back into a txn.
func decodeEntry(data []byte) (*tree.Txn, error) {
	if len(data) < 8 {
		return nil, errShortEntry
	}
	t, err := tree.DecodeTxn(data[8:])
	if err != nil {
		return nil, err
	}
	t.Time = int64(binary.BigEndian.Uint64(data))
	return t, nil
}
