package tree

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
)

func roundTrip(t *testing.T, in *Txn) {
	t.Helper()
	b, err := EncodeTxn(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeTxn(b)
	if err != nil {
		t.Fatalf("decode %v: %v", in, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the txn:\n in %#v\nout %#v", in, out)
	}
}

func TestTxnCodecRoundTrips(t *testing.T) {
	g := &gen{r: rand.New(rand.NewSource(3)), time: 1_700_000_000_000}
	for _, tx := range g.txns(2000) {
		roundTrip(t, tx)
	}
	// The edges: nil vs empty data, big numbers, long strings, many ACLs,
	// a multi, the full uint64 origin.
	long := strings.Repeat("x", 70000)
	roundTrip(t, &Txn{Session: math.MinInt64, Cxid: math.MaxInt32, Origin: math.MaxUint64, Time: -1,
		Auth: []jute.Id{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: long}},
		Op: Op{Type: jute.OpMulti, Ops: []Op{
			{Type: jute.OpCreate, Path: "/a", Data: []byte{}, ACL: jute.OpenACLUnsafe, Flags: 3, TTL: -1},
			{Type: jute.OpSetData, Path: "/" + long[:300], Data: bytes.Repeat([]byte{7}, 70000), Version: -1},
			{Type: jute.OpCheck, Path: "/c", Version: math.MinInt32},
		}}})
	acl := make([]jute.ACL, 20)
	for i := range acl {
		acl[i] = jute.ACL{Perms: int32(i), ID: jute.Id{Scheme: "world", ID: "anyone"}}
	}
	roundTrip(t, &Txn{Op: Op{Type: jute.OpSetACL, Path: "/acl", ACL: acl, Data: nil}})
	roundTrip(t, &Txn{Session: 5, Op: Op{Type: jute.OpCreateSession, Timeout: 30000, Data: []byte("d")}})
}

func TestTxnCodecRejectsMalformedInput(t *testing.T) {
	good, _ := EncodeTxn(&Txn{Session: 1, Op: Op{Type: jute.OpCreate, Path: "/a", Data: []byte("x"),
		ACL: jute.OpenACLUnsafe}})
	for i := 0; i < len(good); i++ {
		if _, err := DecodeTxn(good[:i]); !errors.Is(err, errTxnFormat) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"trailing bytes": append(append([]byte{}, good...), 0),
		"not an array":   {0xa1, 'x'},
		"huge array":     {0xdd, 0xff, 0xff, 0xff, 0xff},
		"deep multi": func() []byte {
			b, _ := EncodeTxn(&Txn{Op: Op{Type: jute.OpMulti, Ops: []Op{{Type: jute.OpMulti, Ops: []Op{{}}}}}})
			return b
		}(),
	} {
		if _, err := DecodeTxn(b); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

func FuzzDecodeTxn(f *testing.F) {
	g := &gen{r: rand.New(rand.NewSource(1)), time: 1}
	for _, tx := range g.txns(20) {
		b, _ := EncodeTxn(tx)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTxn(b)
		if err != nil {
			return
		}
		again, err := EncodeTxn(tx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeTxn(again); err != nil {
			t.Fatalf("re-encoded txn does not decode: %v", err)
		}
	})
}

func BenchmarkTxnDecode(b *testing.B) {
	tx := &Txn{Session: 0x1a2b3c4d5e6f, Cxid: 42, Origin: 1<<48 | 9, Time: 1_700_000_000_000,
		Auth: []jute.Id{{Scheme: "ip", ID: "127.0.0.1"}},
		Op:   Op{Type: jute.OpSetData, Path: "/zkbench/k0042", Data: bytes.Repeat([]byte("v"), 100), Version: -1}}
	data, _ := EncodeTxn(tx)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTxn(data); err != nil {
			b.Fatal(err)
		}
	}
}
