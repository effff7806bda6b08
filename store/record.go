package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// Key space inside pebble. One byte of prefix keeps the three kinds apart and
// lets a range deletion cover exactly the log.
const (
	prefixLog  = 'l' // 'l' + big-endian zxid -> logRecord
	prefixMeta = 'm' // 'm' + name -> metaRecord
	prefixSnap = 's' // 's' + big-endian zxid -> snapRecord
)

var (
	keyAcceptedEpoch = []byte("macceptedEpoch")
	keyCurrentEpoch  = []byte("mcurrentEpoch")
	// keyBase holds the zxid after which the log is complete: every txn with a
	// larger zxid that this server has is in the log. 0 = the whole history.
	keyBase = []byte("mbase")

	logStart = []byte{prefixLog}
	logEnd   = []byte{prefixLog + 1} // exclusive upper bound of every log key
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadRecord marks a stored value whose checksum or shape is wrong.
var errBadRecord = errors.New("store: bad record")

var mh = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.WriteExt = true // []byte as msgpack bin, so nil and empty survive
	return h
}()

// logRecord is one log entry as stored; the zxid is repeated inside the value
// so a value found under the wrong key is detected.
type logRecord struct {
	Zxid uint64 `codec:"z"`
	Data []byte `codec:"d"`
}

// metaRecord is a single number (an epoch, the log base).
type metaRecord struct {
	Value uint64 `codec:"v"`
}

// snapRecord is the index entry of one committed snapshot file.
type snapRecord struct {
	Zxid uint64 `codec:"z"`
	Name string `codec:"n"`
	Size int64  `codec:"s"`
}

func (r logRecord) String() string {
	return fmt.Sprintf("log{%s %dB}", zxid.Zxid(r.Zxid), len(r.Data))
}
func (r metaRecord) String() string { return fmt.Sprintf("meta{%d}", r.Value) }
func (r snapRecord) String() string {
	return fmt.Sprintf("snap{%s %s %dB}", zxid.Zxid(r.Zxid), r.Name, r.Size)
}

func zxidKey(prefix byte, z zxid.Zxid) []byte {
	k := make([]byte, 9)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], uint64(z))
	return k
}

func logKey(z zxid.Zxid) []byte  { return zxidKey(prefixLog, z) }
func snapKey(z zxid.Zxid) []byte { return zxidKey(prefixSnap, z) }

// keyZxid is the zxid of a log or snapshot-index key.
func keyZxid(k []byte) zxid.Zxid {
	if len(k) != 9 {
		panic(fmt.Sprintf("store: key %q is not a zxid key", k))
	}
	return zxid.Zxid(binary.BigEndian.Uint64(k[1:]))
}

// seal encodes v as msgpack and puts a CRC32C of the encoding in front.
func seal(v any) []byte {
	var enc []byte
	if err := codec.NewEncoderBytes(&enc, mh).Encode(v); err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", v, err)) // our own records always encode
	}
	out := make([]byte, 4+len(enc))
	binary.BigEndian.PutUint32(out, crc32.Checksum(enc, castagnoli))
	copy(out[4:], enc)
	return out
}

// unseal checks the checksum of a sealed value and decodes it into v.
func unseal(b []byte, v any) error {
	if len(b) < 4 {
		return fmt.Errorf("%w: %d bytes", errBadRecord, len(b))
	}
	if binary.BigEndian.Uint32(b) != crc32.Checksum(b[4:], castagnoli) {
		return fmt.Errorf("%w: checksum mismatch", errBadRecord)
	}
	if err := codec.NewDecoderBytes(b[4:], mh).Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadRecord, err)
	}
	return nil
}

// decodeEntry turns a stored log key/value into an Entry, checking both.
func decodeEntry(k, v []byte) (Entry, error) {
	z := keyZxid(k)
	var r logRecord
	if err := unseal(v, &r); err != nil {
		return Entry{}, fmt.Errorf("log entry %s: %w", z, err)
	}
	if zxid.Zxid(r.Zxid) != z {
		return Entry{}, fmt.Errorf("log entry %s: %w: holds zxid %s", z, errBadRecord, zxid.Zxid(r.Zxid))
	}
	if r.Data == nil {
		r.Data = []byte{}
	}
	return Entry{Zxid: z, Data: r.Data}, nil
}
