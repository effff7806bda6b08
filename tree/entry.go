package tree

import (
	"encoding/binary"
	"errors"
)

// A log entry is the leader's clock (8 bytes big-endian, ms) followed by the
// msgpack txn without its time. A follower forwards the encoded request and
// the leader only puts its clock in front, so a forwarded write is never
// decoded and re-encoded on the leader.

// EncodeRequest is a txn as a follower forwards it: without its time.
func EncodeRequest(t *Txn) ([]byte, error) {
	saved := t.Time
	t.Time = 0
	body, err := EncodeTxn(t)
	t.Time = saved
	return body, err
}

// StampRequest makes the log entry of a forwarded request at the leader's
// clock ms.
func StampRequest(ms int64, request []byte) []byte {
	out := make([]byte, 8+len(request))
	binary.BigEndian.PutUint64(out, uint64(ms))
	copy(out[8:], request)
	return out
}

// EncodeEntry is the log entry of a txn whose Time is set.
func EncodeEntry(t *Txn) ([]byte, error) {
	body, err := EncodeRequest(t)
	if err != nil {
		return nil, err
	}
	return StampRequest(t.Time, body), nil
}

var errShortEntry = errors.New("tree: log entry shorter than its 8-byte clock")

// DecodeEntry reads a log entry back into a txn.
func DecodeEntry(data []byte) (*Txn, error) {
	if len(data) < 8 {
		return nil, errShortEntry
	}
	t, err := DecodeTxn(data[8:])
	if err != nil {
		return nil, err
	}
	t.Time = int64(binary.BigEndian.Uint64(data))
	return t, nil
}
