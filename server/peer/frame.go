package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// A frame is a 4-byte big-endian body length followed by the msgpack body.
// A connection starts with a handshake frame of fixed size: the magic and
// the dialling member's id, so the acceptor knows which peer it talks to.

var handle = &codec.MsgpackHandle{}

const magic = "ZKP1"

const handshakeLen = len(magic) + 8

var errHandshake = errors.New("peer: bad handshake")

func handshake(id int64) []byte {
	b := make([]byte, handshakeLen)
	copy(b, magic)
	binary.BigEndian.PutUint64(b[len(magic):], uint64(id))
	return b
}

func readHandshake(r io.Reader) (int64, error) {
	b := make([]byte, handshakeLen)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, err
	}
	if string(b[:len(magic)]) != magic {
		return 0, errHandshake
	}
	return int64(binary.BigEndian.Uint64(b[len(magic):])), nil
}

// encoder encodes message bodies into a reusable buffer; one per writing
// goroutine.
type encoder struct {
	buf []byte
	enc *codec.Encoder
}

func newEncoder() *encoder {
	e := &encoder{}
	e.enc = codec.NewEncoderBytes(&e.buf, handle)
	return e
}

// writeFrame writes m as one frame to w.
func (e *encoder) writeFrame(w io.Writer, m any, maxFrame int) error {
	e.buf = e.buf[:0]
	e.enc.ResetBytes(&e.buf)
	if err := e.enc.Encode(m); err != nil {
		return fmt.Errorf("peer: encode: %w", err)
	}
	if len(e.buf) > maxFrame {
		return fmt.Errorf("peer: frame of %d bytes exceeds the limit of %d", len(e.buf), maxFrame)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(e.buf)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(e.buf)
	return err
}

// decoder reads frames and decodes their bodies; one per reading goroutine.
type decoder struct {
	r        io.Reader
	maxFrame int
	hdr      [4]byte
	body     []byte
	dec      *codec.Decoder
}

func newDecoder(r io.Reader, maxFrame int) *decoder {
	return &decoder{r: r, maxFrame: maxFrame, dec: codec.NewDecoderBytes(nil, handle)}
}

// next decodes the next frame into m. A frame over the limit or a body that
// does not decode is an error: the stream can no longer be trusted.
func (d *decoder) next(m any) (err error) {
	if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(d.hdr[:]))
	if n > d.maxFrame {
		return fmt.Errorf("peer: frame of %d bytes exceeds the limit of %d", n, d.maxFrame)
	}
	if cap(d.body) < n {
		d.body = make([]byte, n)
	}
	d.body = d.body[:n]
	if _, err := io.ReadFull(d.r, d.body); err != nil {
		return err
	}
	defer func() {
		// The codec turns most bad input into errors; be sure a hostile
		// frame costs a connection, never the process.
		if r := recover(); r != nil {
			err = fmt.Errorf("peer: malformed frame: %v", r)
		}
	}()
	d.dec.ResetBytes(d.body)
	if err := d.dec.Decode(m); err != nil {
		return fmt.Errorf("peer: malformed frame: %w", err)
	}
	return nil
}
