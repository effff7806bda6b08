package jute

import (
	"errors"
	"reflect"
	"testing"
)

// freshLike is an empty record of r's type.
func freshLike(r Record) (Record, bool) {
	if r == nil {
		return nil, false
	}
	return reflect.New(reflect.TypeOf(r).Elem()).Interface().(Record), true
}

// FuzzDecodeRequest feeds arbitrary frame bodies to DecodeRequest: it must
// never panic, every failure must be a known code, and whatever decodes must
// re-encode to bytes that decode to the same value.
func FuzzDecodeRequest(f *testing.F) {
	for _, r := range samples() {
		for op := OpCode(-12); op < 110; op++ {
			if q, ok := RequestFor(op); ok && (q == nil || reflect.TypeOf(q) == reflect.TypeOf(r)) {
				f.Add(AppendFrame(nil, &RequestHeader{Xid: 1, Type: op}, r)[4:])
			}
		}
	}
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 14, 0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 8, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		h, rec, err := DecodeRequest(body, 4096)
		if err != nil {
			if !errors.Is(err, ErrMarshallingError) && !errors.Is(err, ErrUnimplemented) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again := Marshal(&h, rec)
		h2, rec2, err := DecodeRequest(again, 4096)
		if err != nil {
			t.Fatalf("re-encoded %v %v fails: %v", h, rec, err)
		}
		if h2 != h || !reflect.DeepEqual(rec2, rec) {
			t.Fatalf("re-decode differs:\n%#v\n%#v", rec, rec2)
		}
		if rec != nil {
			_ = rec.(interface{ String() string }).String()
		}
	})
}

// FuzzDecodeConnect feeds arbitrary handshake payloads to both connect
// records; they must never panic and must round-trip when they decode.
func FuzzDecodeConnect(f *testing.F) {
	f.Add(Marshal(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	f.Add(Marshal(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}))
	f.Add(Marshal(&ConnectResponse{TimeOut: 30000, SessionID: 5, Passwd: make([]byte, 16), HasReadOnly: true}))
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []Record{&ConnectRequest{}, &ConnectResponse{}} {
			d := NewDecoder(b, 4096)
			r.Decode(d)
			if d.Err() != nil {
				if !errors.Is(d.Err(), ErrMarshallingError) {
					t.Fatalf("unexpected error %v", d.Err())
				}
				continue
			}
			back, _ := freshLike(r)
			if err := Unmarshal(Marshal(r), 4096, back); err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("round trip of %#v: %#v %v", r, back, err)
			}
			_ = r.(interface{ String() string }).String()
		}
	})
}
