package jute

import "testing"

func benchData() (*GetDataResponse, *CreateRequest) {
	data := make([]byte, 100)
	for i := range data {
		data[i] = byte(i)
	}
	return &GetDataResponse{Data: data, Stat: sampleStat},
		&CreateRequest{Path: "/app/locks/lock-0000000042", Data: []byte("owner=host-1"), ACL: OpenACLUnsafe,
			Flags: ModeEphemeralSequential}
}

func BenchmarkEncodeGetDataResponse(b *testing.B) {
	r, _ := benchData()
	e := NewEncoder(make([]byte, 0, 256))
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		r.Encode(e)
	}
	b.SetBytes(int64(e.Len()))
}

func BenchmarkDecodeGetDataResponse(b *testing.B) {
	r, _ := benchData()
	buf := Marshal(r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var out GetDataResponse
		if err := Unmarshal(buf, 0, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeCreateRequest(b *testing.B) {
	_, r := benchData()
	e := NewEncoder(make([]byte, 0, 256))
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		r.Encode(e)
	}
	b.SetBytes(int64(e.Len()))
}

func BenchmarkDecodeCreateRequest(b *testing.B) {
	_, r := benchData()
	buf := Marshal(r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var out CreateRequest
		if err := Unmarshal(buf, 0, &out); err != nil {
			b.Fatal(err)
		}
	}
}
