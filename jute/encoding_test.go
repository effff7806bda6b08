package jute

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncoderPrimitives(t *testing.T) {
	e := NewEncoder(nil)
	e.Int(-2)
	e.Long(0x0102030405060708)
	e.Bool(true)
	e.Bool(false)
	e.Byte(0xab)
	e.String("hi")
	e.Buffer(nil)
	e.Buffer([]byte{})
	e.Strings(nil)
	e.Strings([]string{"a"})
	want := []byte{
		0xff, 0xff, 0xff, 0xfe,
		1, 2, 3, 4, 5, 6, 7, 8,
		1, 0, 0xab,
		0, 0, 0, 2, 'h', 'i',
		0xff, 0xff, 0xff, 0xff, // nil buffer is null
		0, 0, 0, 0, // empty buffer
		0, 0, 0, 0, // nil vector is written empty, never -1
		0, 0, 0, 1, 0, 0, 0, 1, 'a',
	}
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("got  %x\nwant %x", e.Bytes(), want)
	}
	if e.Len() != len(want) {
		t.Fatalf("Len %d", e.Len())
	}

	d := NewDecoder(e.Bytes(), 0)
	if d.Int() != -2 || d.Long() != 0x0102030405060708 || !d.Bool() || d.Bool() || d.Byte() != 0xab ||
		d.String() != "hi" {
		t.Fatal("primitives did not round-trip")
	}
	if b := d.Buffer(); b != nil {
		t.Fatalf("null buffer gave %v", b)
	}
	if b := d.Buffer(); b == nil || len(b) != 0 {
		t.Fatalf("empty buffer gave %#v", b)
	}
	if s := d.Strings(); s != nil {
		t.Fatalf("empty vector gave %#v", s)
	}
	if s := d.Strings(); len(s) != 1 || s[0] != "a" {
		t.Fatalf("vector gave %#v", s)
	}
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("err %v remaining %d", d.Err(), d.Remaining())
	}

	e.Reset()
	if e.Len() != 0 {
		t.Fatal("Reset kept bytes")
	}
}

func TestDecoderNullsAndLenientBool(t *testing.T) {
	d := NewDecoder([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}, 0)
	if s := d.String(); s != "" {
		t.Fatalf("null string %q", s)
	}
	if v := d.Strings(); v != nil {
		t.Fatalf("null vector %v", v)
	}
	if !d.Bool() || d.Err() != nil {
		t.Fatalf("0x80 should read as true, err %v", d.Err())
	}
}

func TestDecoderBufferIsACopy(t *testing.T) {
	in := []byte{0, 0, 0, 2, 'o', 'k'}
	b := NewDecoder(in, 0).Buffer()
	in[4] = 'X'
	if string(b) != "ok" {
		t.Fatalf("buffer aliases input: %q", b)
	}
}

func TestDecoderErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		read func(d *Decoder)
	}{
		{"truncated int", []byte{0, 0, 1}, func(d *Decoder) { d.Int() }},
		{"truncated long", []byte{0, 0, 0, 0, 0, 0, 1}, func(d *Decoder) { d.Long() }},
		{"empty bool", nil, func(d *Decoder) { d.Bool() }},
		{"string length -2", []byte{0xff, 0xff, 0xff, 0xfe}, func(d *Decoder) { _ = d.String() }},
		{"buffer length -5", []byte{0xff, 0xff, 0xff, 0xfb}, func(d *Decoder) { d.Buffer() }},
		{"string past end", []byte{0, 0, 0, 5, 'a', 'b'}, func(d *Decoder) { _ = d.String() }},
		{"buffer past end", []byte{0, 0, 0, 3, 'a'}, func(d *Decoder) { d.Buffer() }},
		{"string over maxLen", []byte{0, 0, 0x10, 0, 'a'}, func(d *Decoder) { _ = d.String() }},
		{"buffer length max int", []byte{0x7f, 0xff, 0xff, 0xff}, func(d *Decoder) { d.Buffer() }},
		{"vector count -2", []byte{0xff, 0xff, 0xff, 0xfe}, func(d *Decoder) { d.Strings() }},
		{"vector count 1e9, 10 bytes left", append([]byte{0x3b, 0x9a, 0xca, 0x00}, make([]byte, 10)...),
			func(d *Decoder) { d.Strings() }},
		{"ACL count 1e9", append([]byte{0x3b, 0x9a, 0xca, 0x00}, make([]byte, 10)...),
			func(d *Decoder) { decodeACLs(d) }},
		{"vector element truncated", []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}, func(d *Decoder) { d.Strings() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(c.in, 1024)
			c.read(d)
			err := d.Err()
			if !errors.Is(err, ErrMarshallingError) {
				t.Fatalf("err %v, want MarshallingError", err)
			}
			if CodeOf(err) != ErrMarshallingError {
				t.Fatalf("CodeOf %v", CodeOf(err))
			}
			// The error sticks: later reads give zero values and keep it.
			if d.Int() != 0 || d.Long() != 0 || d.String() != "" || d.Buffer() != nil || d.Strings() != nil ||
				d.Err() != err {
				t.Fatal("error did not stick")
			}
		})
	}
}

func TestHugeVectorCountDoesNotAllocate(t *testing.T) {
	in := append([]byte{0x3b, 0x9a, 0xca, 0x00}, make([]byte, 10)...)
	allocs := testing.AllocsPerRun(100, func() {
		var r GetChildrenResponse
		d := NewDecoder(in, 0)
		r.Decode(d)
	})
	// Only the error value itself may allocate, never the vector.
	if allocs > 8 {
		t.Fatalf("%.0f allocations for a forged count", allocs)
	}
}

func TestRecordDecodeOnTruncatedInput(t *testing.T) {
	// Every prefix of every sample record must fail cleanly, never panic.
	for _, r := range samples() {
		b := Marshal(r)
		for n := 0; n < len(b); n++ {
			fresh, _ := freshLike(r)
			d := NewDecoder(b[:n], 0)
			fresh.Decode(d)
			_, optional := r.(*ConnectRequest)
			_, optional2 := r.(*ConnectResponse)
			if d.Err() == nil && !(optional || optional2) && n < len(b) {
				t.Fatalf("%T: prefix %d/%d decoded without error", r, n, len(b))
			}
		}
	}
}
