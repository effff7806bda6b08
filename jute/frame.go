package jute

import (
	"encoding/binary"
	"fmt"
)

// RequestFor is a fresh, empty request record for op. Ops that carry no body
// (ping, closeSession, whoAmI) give a nil record and true; opcodes a client
// may not send (unknown, 0, standalone check 13, createSession) give false,
// which the server answers with Unimplemented.
func RequestFor(op OpCode) (Record, bool) {
	switch op {
	case OpPing, OpCloseSession, OpWhoAmI:
		return nil, true
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}, true
	case OpCreateTTL:
		return &CreateTTLRequest{}, true
	case OpDelete:
		return &DeleteRequest{}, true
	case OpExists:
		return &ExistsRequest{}, true
	case OpGetData:
		return &GetDataRequest{}, true
	case OpSetData:
		return &SetDataRequest{}, true
	case OpGetACL:
		return &GetACLRequest{}, true
	case OpSetACL:
		return &SetACLRequest{}, true
	case OpGetChildren:
		return &GetChildrenRequest{}, true
	case OpGetChildren2:
		return &GetChildren2Request{}, true
	case OpSync:
		return &SyncRequest{}, true
	case OpMulti, OpMultiRead:
		return &MultiRequest{}, true
	case OpReconfig:
		return &ReconfigRequest{}, true
	case OpCheckWatches:
		return &CheckWatchesRequest{}, true
	case OpRemoveWatches:
		return &RemoveWatchesRequest{}, true
	case OpDeleteContainer:
		return &DeleteContainerRequest{}, true
	case OpAuth:
		return &AuthPacket{}, true
	case OpSetWatches:
		return &SetWatches{}, true
	case OpSasl:
		return &GetSASLRequest{}, true
	case OpGetEphemerals:
		return &GetEphemeralsRequest{}, true
	case OpGetAllChildrenNumber:
		return &GetAllChildrenNumberRequest{}, true
	case OpSetWatches2:
		return &SetWatches2{}, true
	case OpAddWatch:
		return &AddWatchRequest{}, true
	}
	return nil, false
}

// ResponseFor is a fresh, empty record for the success body of op's reply;
// nil and true for ops whose reply is the bare header, false for unknown ops.
func ResponseFor(op OpCode) (Record, bool) {
	switch op {
	case OpPing, OpCloseSession, OpDelete, OpCheckWatches, OpRemoveWatches,
		OpAuth, OpSetWatches, OpSetWatches2, OpDeleteContainer:
		return nil, true
	case OpCreate:
		return &CreateResponse{}, true
	case OpCreate2, OpCreateContainer, OpCreateTTL:
		return &Create2Response{}, true
	case OpExists:
		return &ExistsResponse{}, true
	case OpGetData, OpReconfig:
		return &GetDataResponse{}, true
	case OpSetData:
		return &SetDataResponse{}, true
	case OpGetACL:
		return &GetACLResponse{}, true
	case OpSetACL:
		return &SetACLResponse{}, true
	case OpGetChildren:
		return &GetChildrenResponse{}, true
	case OpGetChildren2:
		return &GetChildren2Response{}, true
	case OpSync:
		return &SyncResponse{}, true
	case OpMulti, OpMultiRead:
		return &MultiResponse{}, true
	case OpSasl:
		return &SetSASLResponse{}, true
	case OpGetEphemerals:
		return &GetEphemeralsResponse{}, true
	case OpGetAllChildrenNumber:
		return &GetAllChildrenNumberResponse{}, true
	case OpAddWatch:
		return &ErrorResponse{}, true
	case OpWhoAmI:
		return &WhoAmIResponse{}, true
	}
	return nil, false
}

// DecodeRequest parses a client frame body (after the length prefix): the
// header, then the op's record (nil for bodiless ops). An opcode RequestFor
// rejects gives the header and ErrUnimplemented, so the server can still
// reply to the xid; a malformed body gives an error wrapping
// ErrMarshallingError. Trailing bytes are ignored, as ZooKeeper does.
func DecodeRequest(body []byte, maxLen int) (RequestHeader, Record, error) {
	d := NewDecoder(body, maxLen)
	var h RequestHeader
	h.Decode(d)
	if err := d.Err(); err != nil {
		return h, nil, err
	}
	rec, ok := RequestFor(h.Type)
	if !ok {
		return h, nil, fmt.Errorf("jute: opcode %d: %w", int32(h.Type), ErrUnimplemented)
	}
	if rec != nil {
		rec.Decode(d)
	}
	if err := d.Err(); err != nil {
		return h, nil, fmt.Errorf("%s: %w", h.Type, err)
	}
	return h, rec, nil
}

// Unmarshal decodes records from b in order, with lengths bounded by
// maxLen (<= 0: MaxBuffer). Trailing bytes are ignored.
func Unmarshal(b []byte, maxLen int, rs ...Record) error {
	d := NewDecoder(b, maxLen)
	for _, r := range rs {
		r.Decode(d)
	}
	return d.Err()
}

// Marshal encodes records back to back, skipping nil ones.
func Marshal(rs ...Record) []byte {
	e := NewEncoder(nil)
	for _, r := range rs {
		if r != nil {
			r.Encode(e)
		}
	}
	return e.Bytes()
}

// AppendFrame appends one frame to dst: a 4-byte big-endian payload length,
// then the records back to back. Nil records are skipped, so a bodiless op
// can pass RequestFor's nil straight through.
func AppendFrame(dst []byte, rs ...Record) []byte {
	start := len(dst)
	e := NewEncoder(append(dst, 0, 0, 0, 0))
	for _, r := range rs {
		if r != nil {
			r.Encode(e)
		}
	}
	out := e.Bytes()
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out
}

// DecodeLength reads a frame's length prefix. The caller rejects values
// below 0 or above its jute.maxbuffer (ZooKeeper closes the connection).
func DecodeLength(b [4]byte) int32 { return int32(binary.BigEndian.Uint32(b[:])) }

// fourLetterWords are the 4lw commands recognised on a fresh connection.
var fourLetterWords = map[string]bool{
	"ruok": true, "srvr": true, "stat": true, "mntr": true, "conf": true, "cons": true,
	"crst": true, "srst": true, "wchs": true, "wchc": true, "wchp": true, "dump": true,
	"envi": true, "isro": true, "dirs": true, "gtmk": true, "stmk": true, "hash": true,
}

// FourLetterWord tells whether the first 4 bytes of a fresh connection are a
// 4lw command instead of a frame length, and which one. Every command read
// as a length is far above MaxBuffer, so the two never collide.
func FourLetterWord(first4 []byte) (string, bool) {
	if len(first4) < 4 {
		return "", false
	}
	w := string(first4[:4])
	if !fourLetterWords[w] {
		return "", false
	}
	return w, true
}
