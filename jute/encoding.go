package jute

import (
	"encoding/binary"
	"fmt"
)

// MaxBuffer is ZooKeeper's default jute.maxbuffer (0xfffff bytes): the
// largest frame payload, string or buffer a default-configured peer accepts.
const MaxBuffer = 0xfffff

// Encoder appends jute primitives to a byte slice. It never fails: the caller
// owns the sizes it writes.
type Encoder struct {
	buf []byte
}

// NewEncoder appends to buf (which may be nil), so a caller can reuse memory.
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes is everything encoded so far; it aliases the encoder's buffer.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len is the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder but keeps its memory.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Byte writes one raw byte.
func (e *Encoder) Byte(b byte) { e.buf = append(e.buf, b) }

// Bool writes 1 or 0.
func (e *Encoder) Bool(b bool) {
	if b {
		e.buf = append(e.buf, 1)
		return
	}
	e.buf = append(e.buf, 0)
}

// Int writes a 4-byte big-endian int.
func (e *Encoder) Int(v int32) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v)) }

// Long writes an 8-byte big-endian long.
func (e *Encoder) Long(v int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) }

// String writes a ustring. Go has no null string, so it is never -1: clients
// such as go-zookeeper read string lengths as unsigned.
func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.buf = append(e.buf, s...)
}

// Buffer writes a buffer; nil becomes the null buffer (length -1), an empty
// non-nil slice an empty one.
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.buf = append(e.buf, b...)
}

// Strings writes a vector<ustring>. A nil slice is written as an empty vector,
// never as -1, because go-zookeeper cannot read a null vector.
func (e *Encoder) Strings(ss []string) {
	e.Int(int32(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

// Decoder reads jute primitives from a byte slice. The first problem sticks:
// later reads return zero values and Err reports the problem, so a record's
// Decode can read every field and check once.
type Decoder struct {
	buf    []byte
	off    int
	maxLen int
	err    error
}

// NewDecoder reads b. maxLen bounds every string and buffer length (jute's
// "unreasonable length" check); maxLen <= 0 means MaxBuffer.
func NewDecoder(b []byte, maxLen int) *Decoder {
	if maxLen <= 0 {
		maxLen = MaxBuffer
	}
	return &Decoder{buf: b, maxLen: maxLen}
}

// Err is the first decoding problem, wrapping ErrMarshallingError, or nil.
func (d *Decoder) Err() error { return d.err }

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// fail records the first problem only.
func (d *Decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("jute: "+format+": %w", append(args, ErrMarshallingError)...)
	}
}

// take returns the next n bytes, or nil after setting the error.
func (d *Decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > d.Remaining() {
		d.fail("%s needs %d bytes at offset %d, %d left", what, n, d.off, d.Remaining())
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// Byte reads one raw byte.
func (d *Decoder) Byte() byte {
	b := d.take(1, "byte")
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads a boolean; like Java's reader, any non-zero byte is true.
func (d *Decoder) Bool() bool { return d.Byte() != 0 }

// Int reads a 4-byte big-endian int.
func (d *Decoder) Int() int32 {
	b := d.take(4, "int")
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Long reads an 8-byte big-endian long.
func (d *Decoder) Long() int64 {
	b := d.take(8, "long")
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// length reads a string/buffer length: -1 is null (returned as -1), other
// negatives and lengths above maxLen are errors.
func (d *Decoder) length(what string) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n < -1 || int(n) > d.maxLen {
		d.fail("unreasonable %s length %d", what, n)
		return 0
	}
	return int(n)
}

// String reads a ustring; the null string reads as "".
func (d *Decoder) String() string {
	n := d.length("string")
	if n <= 0 {
		return ""
	}
	return string(d.take(n, "string"))
}

// Buffer reads a buffer: null (-1) gives nil, length 0 an empty non-nil
// slice. The bytes are copied so the caller may reuse its frame buffer.
func (d *Decoder) Buffer() []byte {
	n := d.length("buffer")
	if d.err != nil || n < 0 {
		return nil
	}
	b := d.take(n, "buffer")
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, n), b...)
}

// Count reads a vector element count and checks that the remaining input can
// hold that many elements of at least minSize bytes each, so a forged count
// never makes the caller allocate. Null (-1) and errors give 0.
func (d *Decoder) Count(minSize int) int {
	n := d.Int()
	if d.err != nil || n == -1 {
		return 0
	}
	if n < -1 {
		d.fail("negative vector count %d", n)
		return 0
	}
	if minSize < 1 {
		minSize = 1
	}
	if int(n) > d.Remaining()/minSize {
		d.fail("vector count %d does not fit in %d bytes", n, d.Remaining())
		return 0
	}
	return int(n)
}

// Strings reads a vector<ustring>. Null and empty vectors both read as nil.
func (d *Decoder) Strings() []string {
	n := d.Count(4)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.String())
	}
	if d.err != nil {
		return nil
	}
	return out
}
