package tree

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/zabkeeper/zabkeeper/jute"
)

// Txn is one logged write: the request's parameters plus who sent it and
// the leader's clock. Every server applies the same txns in the same order,
// and Apply does all validation, so the log holds commands, not outcomes.
type Txn struct {
	Session int64     `codec:"s,omitempty"` // requesting session; 0 for server-internal txns
	Cxid    int32     `codec:"x,omitempty"` // the client's xid, for matching the reply
	Origin  uint64    `codec:"o,omitempty"` // opaque to tree: the server connection that sent it
	Time    int64     `codec:"t,omitempty"` // leader wall clock, ms since epoch
	Auth    []jute.Id `codec:"a,omitempty"` // requester's identities at request time
	Op      Op        `codec:"p"`
}

// Op is one operation; a multi nests its ops in Ops.
type Op struct {
	Type jute.OpCode `codec:"y"`
	Path string      `codec:"p,omitempty"`
	// Data has no omitempty: nil (a null create) and empty must stay apart.
	Data    []byte     `codec:"d"`
	ACL     []jute.ACL `codec:"l,omitempty"`
	Flags   int32      `codec:"f,omitempty"`
	TTL     int64      `codec:"t,omitempty"`
	Version int32      `codec:"v,omitempty"`
	Ops     []Op       `codec:"m,omitempty"`
	Timeout int32      `codec:"o,omitempty"` // createSession: negotiated timeout ms
}

// msgpackHandle writes []byte as msgpack bin so nil and empty survive.
func msgpackHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.WriteExt = true
	return h
}

var mh = msgpackHandle()

// EncodeTxn is the log and peer-wire form of a txn (msgpack; txncodec.go).
func EncodeTxn(t *Txn) ([]byte, error) {
	return appendTxn(make([]byte, 0, 64+len(t.Op.Path)+len(t.Op.Data)), t), nil
}

// DecodeTxn is the inverse of EncodeTxn; malformed input is an error,
// never a panic.
func DecodeTxn(b []byte) (*Txn, error) {
	r := txnReader{b: b}
	t := r.txn()
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d bytes after the txn", len(r.b)))
	}
	if r.err != nil {
		return nil, fmt.Errorf("tree: decode txn: %w", r.err)
	}
	return t, nil
}

// String is e.g. "s:0x1000001 cxid=7 create /a/b flags=3".
func (t *Txn) String() string {
	return fmt.Sprintf("s:0x%x cxid=%d %s", t.Session, t.Cxid, t.Op.String())
}

// String names the op and the parameters that matter for it.
func (o Op) String() string {
	var b strings.Builder
	b.WriteString(o.Type.String())
	switch o.Type {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		fmt.Fprintf(&b, " %s flags=%d", o.Path, o.Flags)
		if o.Type == jute.OpCreateTTL {
			fmt.Fprintf(&b, " ttl=%d", o.TTL)
		}
	case jute.OpDelete, jute.OpSetData, jute.OpSetACL, jute.OpCheck:
		fmt.Fprintf(&b, " %s v=%d", o.Path, o.Version)
	case jute.OpDeleteContainer:
		fmt.Fprintf(&b, " %s", o.Path)
	case jute.OpCreateSession:
		fmt.Fprintf(&b, " timeout=%d", o.Timeout)
	case jute.OpMulti:
		b.WriteString(" [")
		for i, op := range o.Ops {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(op.String())
		}
		b.WriteString("]")
	}
	return b.String()
}
