package tree

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/zabkeeper/zabkeeper/jute"
)

// The txn is msgpack, written and read by hand: every member decodes every
// txn it applies, and go-msgpack's reflection made that about 8% of a
// member's CPU under write load. The layout is positional:
//
//	Txn: array(6) [session int, cxid int, origin uint, time int, auth array of array(2) [scheme, id], op]
//	Op:  array(9) [type int, path str, data bin|nil, acl array of array(3) [perms, scheme, id],
//	               flags int, ttl int, version int, ops array of op, timeout int]
//
// nil data stays nil (0xc0) and empty data stays empty (bin8 of length 0).

// maxOpDepth bounds multi nesting when decoding (a multi holds plain ops).
const maxOpDepth = 2

var errTxnFormat = errors.New("tree: malformed txn")

func appendTxn(b []byte, t *Txn) []byte {
	b = append(b, 0x96)
	b = appendInt(b, t.Session)
	b = appendInt(b, int64(t.Cxid))
	b = appendUint(b, t.Origin)
	b = appendInt(b, t.Time)
	b = appendArrayHeader(b, len(t.Auth))
	for _, id := range t.Auth {
		b = append(b, 0x92)
		b = appendStr(b, id.Scheme)
		b = appendStr(b, id.ID)
	}
	return appendOp(b, &t.Op)
}

func appendOp(b []byte, o *Op) []byte {
	b = append(b, 0x99)
	b = appendInt(b, int64(o.Type))
	b = appendStr(b, o.Path)
	b = appendBin(b, o.Data)
	b = appendArrayHeader(b, len(o.ACL))
	for _, a := range o.ACL {
		b = append(b, 0x93)
		b = appendInt(b, int64(a.Perms))
		b = appendStr(b, a.ID.Scheme)
		b = appendStr(b, a.ID.ID)
	}
	b = appendInt(b, int64(o.Flags))
	b = appendInt(b, o.TTL)
	b = appendInt(b, int64(o.Version))
	b = appendArrayHeader(b, len(o.Ops))
	for i := range o.Ops {
		b = appendOp(b, &o.Ops[i])
	}
	return appendInt(b, int64(o.Timeout))
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 127:
		return append(b, byte(v))
	case v >= -32 && v < 0:
		return append(b, byte(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func appendUint(b []byte, v uint64) []byte {
	if v <= 127 {
		return append(b, byte(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendBin(b []byte, d []byte) []byte {
	switch n := len(d); {
	case d == nil:
		return append(b, 0xc0)
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, d...)
}

// txnReader reads the layout above with a sticky error; it never panics
// and never allocates more than the input could hold.
type txnReader struct {
	b   []byte
	err error
}

func (r *txnReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errTxnFormat, what)
	}
}

func (r *txnReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *txnReader) byte1() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *txnReader) int() int64 {
	c := r.byte1()
	switch {
	case c <= 0x7f:
		return int64(c)
	case c >= 0xe0:
		return int64(int8(c))
	case c == 0xd3:
		if p := r.take(8); p != nil {
			return int64(binary.BigEndian.Uint64(p))
		}
	case c == 0xcf:
		if p := r.take(8); p != nil {
			return int64(binary.BigEndian.Uint64(p))
		}
	default:
		r.fail("not an int")
	}
	return 0
}

func (r *txnReader) int32() int32 {
	v := r.int()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("int out of range")
	}
	return int32(v)
}

// length reads a header of the given family: fixed (mask, top bits) or 8,
// 16, 32-bit lengths with the given codes (0 = not in this family).
func (r *txnReader) length(c byte, fixMask, fixBase byte, c8, c16, c32 byte) int {
	switch {
	case fixMask != 0 && c&^fixMask == fixBase:
		return int(c & fixMask)
	case c8 != 0 && c == c8:
		return int(r.byte1())
	case c == c16:
		if p := r.take(2); p != nil {
			return int(binary.BigEndian.Uint16(p))
		}
	case c == c32:
		if p := r.take(4); p != nil {
			return int(binary.BigEndian.Uint32(p))
		}
	default:
		r.fail(fmt.Sprintf("unexpected type byte 0x%x", c))
	}
	return 0
}

func (r *txnReader) array(minElem int) int {
	n := r.length(r.byte1(), 0x0f, 0x90, 0, 0xdc, 0xdd)
	if n*minElem > len(r.b) {
		r.fail("array longer than the input")
		return 0
	}
	return n
}

func (r *txnReader) str() string {
	return string(r.take(r.length(r.byte1(), 0x1f, 0xa0, 0xd9, 0xda, 0xdb)))
}

func (r *txnReader) bin() []byte {
	c := r.byte1()
	if c == 0xc0 {
		return nil
	}
	p := r.take(r.length(c, 0, 0, 0xc4, 0xc5, 0xc6))
	if p == nil {
		return nil
	}
	return append(make([]byte, 0, len(p)), p...)
}

func (r *txnReader) want(n, got int) {
	if got != n {
		r.fail(fmt.Sprintf("array of %d fields, want %d", got, n))
	}
}

func (r *txnReader) txn() *Txn {
	t := new(Txn)
	r.want(6, r.array(1))
	t.Session, t.Cxid, t.Origin, t.Time = r.int(), r.int32(), uint64(r.int()), r.int()
	if n := r.array(3); n > 0 {
		t.Auth = make([]jute.Id, n)
		for i := range t.Auth {
			r.want(2, r.array(1))
			t.Auth[i] = jute.Id{Scheme: r.str(), ID: r.str()}
		}
	}
	r.op(&t.Op, 0)
	return t
}

func (r *txnReader) op(o *Op, depth int) {
	r.want(9, r.array(1))
	o.Type, o.Path, o.Data = jute.OpCode(r.int32()), r.str(), r.bin()
	if n := r.array(4); n > 0 {
		o.ACL = make([]jute.ACL, n)
		for i := range o.ACL {
			r.want(3, r.array(1))
			o.ACL[i] = jute.ACL{Perms: r.int32(), ID: jute.Id{Scheme: r.str(), ID: r.str()}}
		}
	}
	o.Flags, o.TTL, o.Version = r.int32(), r.int(), r.int32()
	if n := r.array(10); n > 0 {
		if depth+1 >= maxOpDepth {
			r.fail("ops nested too deep")
			return
		}
		o.Ops = make([]Op, n)
		for i := range o.Ops {
			r.op(&o.Ops[i], depth+1)
		}
	}
	o.Timeout = r.int32()
}
