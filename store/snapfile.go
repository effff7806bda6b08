package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// A snapshot file is
//
//	header  "ZKSNAP\x00\x01" | zxid (8 bytes, big-endian)
//	body    the opaque bytes from tree/
//	footer  body length (8) | CRC32C of header+body (4) | "ZKSE"
//
// The footer is written last, so a file cut short never validates.
const (
	snapHeaderLen = 16
	snapFooterLen = 16
)

var (
	snapMagic    = []byte("ZKSNAP\x00\x01")
	snapEndMagic = []byte("ZKSE")
)

// snapFileWriter writes the file format around a stream of body bytes.
type snapFileWriter struct {
	bw  *bufio.Writer
	crc hash.Hash32
	n   int64 // body bytes so far
}

func newSnapFileWriter(w io.Writer, z zxid.Zxid) (*snapFileWriter, error) {
	sw := &snapFileWriter{bw: bufio.NewWriterSize(w, 256<<10), crc: crc32.New(castagnoli)}
	var h [snapHeaderLen]byte
	copy(h[:], snapMagic)
	binary.BigEndian.PutUint64(h[8:], uint64(z))
	sw.crc.Write(h[:])
	_, err := sw.bw.Write(h[:])
	return sw, err
}

func (sw *snapFileWriter) Write(p []byte) (int, error) {
	n, err := sw.bw.Write(p)
	sw.crc.Write(p[:n])
	sw.n += int64(n)
	return n, err
}

// finish writes the footer and flushes; it returns the file size.
func (sw *snapFileWriter) finish() (int64, error) {
	var f [snapFooterLen]byte
	binary.BigEndian.PutUint64(f[:], uint64(sw.n))
	binary.BigEndian.PutUint32(f[8:], sw.crc.Sum32())
	copy(f[12:], snapEndMagic)
	if _, err := sw.bw.Write(f[:]); err != nil {
		return 0, err
	}
	return snapHeaderLen + sw.n + snapFooterLen, sw.bw.Flush()
}

// WriteSnapshotFile writes body as a snapshot file of zxid z to w (for
// `zabkeeper snapshot save`); it returns the bytes written.
func WriteSnapshotFile(w io.Writer, z zxid.Zxid, body io.Reader) (int64, error) {
	sw, err := newSnapFileWriter(w, z)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(sw, body); err != nil {
		return 0, err
	}
	return sw.finish()
}

// verifySnapFile checks a whole snapshot file and returns its zxid and size.
func verifySnapFile(fs vfs.FS, path string) (zxid.Zxid, int64, error) {
	f, err := fs.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size := st.Size()
	if size < snapHeaderLen+snapFooterLen {
		return 0, size, fmt.Errorf("%w: snapshot %s: %d bytes, too short", ErrCorrupt, path, size)
	}
	br := bufio.NewReaderSize(f, 256<<10)
	var h [snapHeaderLen]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, size, err
	}
	if !bytes.Equal(h[:8], snapMagic) {
		return 0, size, fmt.Errorf("%w: snapshot %s: not a zabkeeper snapshot", ErrCorrupt, path)
	}
	z := zxid.Zxid(binary.BigEndian.Uint64(h[8:]))
	crc := crc32.New(castagnoli)
	crc.Write(h[:])
	if _, err := io.CopyN(crc, br, size-snapHeaderLen-snapFooterLen); err != nil {
		return z, size, err
	}
	var ft [snapFooterLen]byte
	if _, err := io.ReadFull(br, ft[:]); err != nil {
		return z, size, err
	}
	switch {
	case !bytes.Equal(ft[12:], snapEndMagic):
		return z, size, fmt.Errorf("%w: snapshot %s: no end marker (cut short?)", ErrCorrupt, path)
	case binary.BigEndian.Uint64(ft[:]) != uint64(size-snapHeaderLen-snapFooterLen):
		return z, size, fmt.Errorf("%w: snapshot %s: length mismatch", ErrCorrupt, path)
	case binary.BigEndian.Uint32(ft[8:]) != crc.Sum32():
		return z, size, fmt.Errorf("%w: snapshot %s: checksum mismatch", ErrCorrupt, path)
	}
	return z, size, nil
}

// openSnapBody opens a verified snapshot file and returns a reader of its
// body that checks the checksum again as it streams, so a file changed after
// verification still cannot pass unnoticed.
func openSnapBody(fs vfs.FS, path string, size int64) (io.ReadCloser, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	var h [snapHeaderLen]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		f.Close()
		return nil, err
	}
	var ft [snapFooterLen]byte
	if _, err := f.ReadAt(ft[:], size-snapFooterLen); err != nil && err != io.EOF {
		f.Close()
		return nil, err
	}
	r := &bodyReader{f: f, r: bufio.NewReaderSize(f, 256<<10), left: size - snapHeaderLen - snapFooterLen,
		crc: crc32.New(castagnoli), want: binary.BigEndian.Uint32(ft[8:])}
	r.crc.Write(h[:])
	return r, nil
}

type bodyReader struct {
	f    vfs.File
	r    *bufio.Reader
	left int64
	crc  hash.Hash32
	want uint32
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.left == 0 {
		if b.crc.Sum32() != b.want {
			return 0, fmt.Errorf("%w: snapshot changed while read: checksum mismatch", ErrCorrupt)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.crc.Write(p[:n])
	b.left -= int64(n)
	if err == io.EOF && b.left > 0 {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.f.Close() }

// ReadSnapshotFile verifies a snapshot file on the real disk and returns its
// zxid and a reader of its body (for `zabkeeper snapshot inspect/restore`).
func ReadSnapshotFile(path string) (zxid.Zxid, io.ReadCloser, error) {
	z, size, err := verifySnapFile(vfs.Default, path)
	if err != nil {
		return 0, nil, err
	}
	rc, err := openSnapBody(vfs.Default, path, size)
	return z, rc, err
}
