package jute

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var sampleStat = Stat{
	Czxid: 0x100000002, Mzxid: 0x100000005, Ctime: 1700000000000, Mtime: 1700000000500,
	Version: 2, Cversion: 3, Aversion: 1, EphemeralOwner: 0x1000abc, DataLength: 5,
	NumChildren: 3, Pzxid: 0x100000007,
}

var sampleACL = []ACL{
	{Perms: PermAll, ID: AnyoneID},
	{Perms: PermRead | PermAdmin, ID: Id{Scheme: "digest", ID: "bob:xyz="}},
}

// samples holds one filled-in value of every record the package defines.
func samples() []Record {
	return []Record{
		&Stat{}, func() *Stat { s := sampleStat; return &s }(),
		&Id{Scheme: "ip", ID: "10.0.0.1"},
		&ACL{Perms: PermWrite, ID: Id{Scheme: "world", ID: "anyone"}},
		&ClientInfo{AuthScheme: "ip", User: "127.0.0.1"},
		&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true, ReadOnly: true},
		&ConnectRequest{LastZxidSeen: 0x100000009, TimeOut: 4000, SessionID: 0x1000001, Passwd: []byte("0123456789abcdef")},
		&ConnectResponse{TimeOut: 30000, SessionID: 0x1000002, Passwd: []byte("pppppppppppppppp"), HasReadOnly: true},
		&ConnectResponse{TimeOut: 0, Passwd: make([]byte, 16)},
		&RequestHeader{Xid: 7, Type: OpCreate},
		&ReplyHeader{Xid: -1, Zxid: -1, Err: OK},
		&ReplyHeader{Xid: 3, Zxid: 0x100000002, Err: ErrNoNode},
		&MultiHeader{Type: OpDelete, Done: false, Err: -1},
		&AuthPacket{Scheme: "digest", Auth: []byte("bob:secret")},
		&SetWatches{RelativeZxid: 0x100000003, DataWatches: []string{"/a", "/b"}, ExistWatches: []string{"/c"}},
		&SetWatches2{RelativeZxid: 9, ChildWatches: []string{"/x"}, PersistentWatches: []string{"/p"},
			PersistentRecursiveWatches: []string{"/r", "/s"}},
		&CreateRequest{Path: "/a/b", Data: []byte("hello"), ACL: sampleACL, Flags: ModeEphemeralSequential},
		&CreateRequest{Path: "/nil-data", Data: nil, ACL: OpenACLUnsafe},
		&CreateRequest{Path: "/empty-data", Data: []byte{}, ACL: OpenACLUnsafe},
		&CreateTTLRequest{Path: "/t", Data: []byte("x"), ACL: OpenACLUnsafe, Flags: ModePersistentWithTTL, TTL: 60000},
		&CreateResponse{Path: "/a/b0000000001"},
		&Create2Response{Path: "/a/c", Stat: sampleStat},
		&DeleteRequest{Path: "/a", Version: -1},
		&DeleteContainerRequest{Path: "/container"},
		&ExistsRequest{Path: "/a", Watch: true},
		&ExistsResponse{Stat: sampleStat},
		&GetDataRequest{Path: "/zookeeper/config", Watch: false},
		&GetDataResponse{Data: []byte("server.1=127.0.0.1:2888:3888"), Stat: sampleStat},
		&SetDataRequest{Path: "/a", Data: []byte("world"), Version: 2},
		&SetDataResponse{Stat: sampleStat},
		&GetACLRequest{Path: "/a"},
		&GetACLResponse{ACL: sampleACL, Stat: sampleStat},
		&SetACLRequest{Path: "/a", ACL: CreatorAllACL, Version: 0},
		&SetACLResponse{Stat: sampleStat},
		&GetChildrenRequest{Path: "/", Watch: true},
		&GetChildrenResponse{Children: []string{"zookeeper", "a", "ünïcode"}},
		&GetChildren2Request{Path: "/a"},
		&GetChildren2Response{Children: []string{"b", "c"}, Stat: sampleStat},
		&GetAllChildrenNumberRequest{Path: "/a"},
		&GetAllChildrenNumberResponse{TotalNumber: 42},
		&CheckVersionRequest{Path: "/a", Version: 3},
		&SyncRequest{Path: "/a"},
		&SyncResponse{Path: "/a"},
		&ReconfigRequest{JoiningServers: "server.4=h:2888:3888;2181", NewMembers: "", CurConfigID: -1},
		&GetSASLRequest{Token: []byte{1, 2, 3}},
		&SetSASLResponse{Token: nil},
		&AddWatchRequest{Path: "/w", Mode: AddWatchPersistentRecursive},
		&CheckWatchesRequest{Path: "/w", Type: WatcherData},
		&RemoveWatchesRequest{Path: "/w", Type: WatcherAny},
		&GetEphemeralsRequest{PrefixPath: "/e"},
		&GetEphemeralsResponse{Ephemerals: []string{"/e/1", "/e/2"}},
		&WhoAmIResponse{ClientInfo: []ClientInfo{{"ip", "127.0.0.1"}, {"digest", "bob"}}},
		&WatcherEvent{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/a"},
		&ErrorResponse{Err: ErrNodeExists},
		&MultiRequest{Ops: []MultiOp{
			{OpCreate, &CreateRequest{Path: "/m", Data: []byte("1"), ACL: OpenACLUnsafe}},
			{OpCreate2, &CreateRequest{Path: "/m2", ACL: OpenACLUnsafe}},
			{OpCreateContainer, &CreateRequest{Path: "/c", ACL: OpenACLUnsafe, Flags: ModeContainer}},
			{OpCreateTTL, &CreateTTLRequest{Path: "/t", ACL: OpenACLUnsafe, Flags: ModePersistentWithTTL, TTL: 5}},
			{OpDelete, &DeleteRequest{Path: "/d", Version: -1}},
			{OpSetData, &SetDataRequest{Path: "/s", Data: []byte("v"), Version: 1}},
			{OpCheck, &CheckVersionRequest{Path: "/k", Version: 4}},
		}},
		&MultiRequest{Ops: []MultiOp{
			{OpGetData, &GetDataRequest{Path: "/a"}},
			{OpGetChildren, &GetChildrenRequest{Path: "/"}},
		}},
		&MultiResponse{Results: []MultiResult{
			{Type: OpCreate, Path: "/m"},
			{Type: OpCreate2, Path: "/m2", Stat: sampleStat},
			{Type: OpDelete},
			{Type: OpSetData, Stat: sampleStat},
			{Type: OpCheck},
			{Type: OpGetData, Data: []byte("d"), Stat: sampleStat},
			{Type: OpGetChildren, Children: []string{"x", "y"}},
			{Type: OpError, Err: ErrNoNode},
		}},
		&MultiRequest{},
		&MultiResponse{},
	}
}

func TestRoundTripEveryRecord(t *testing.T) {
	for _, r := range samples() {
		typ := reflect.TypeOf(r).Elem()
		t.Run(typ.Name(), func(t *testing.T) {
			b := Marshal(r)
			got := reflect.New(typ).Interface().(Record)
			d := NewDecoder(b, 0)
			got.Decode(d)
			if err := d.Err(); err != nil {
				t.Fatalf("decode %x: %v", b, err)
			}
			if d.Remaining() != 0 {
				t.Fatalf("%d bytes left over", d.Remaining())
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("round trip\n got %#v\nwant %#v", got, r)
			}
			if s, ok := r.(interface{ String() string }); !ok || s.String() == "" {
				t.Fatalf("%T has no String()", r)
			}
		})
	}
}

// Every record named in RequestFor/ResponseFor is in samples, so no record
// escapes the round-trip test.
func TestSamplesCoverEveryOpRecord(t *testing.T) {
	have := map[reflect.Type]bool{}
	for _, r := range samples() {
		have[reflect.TypeOf(r)] = true
	}
	for op := OpCode(-20); op < 120; op++ {
		for _, f := range []func(OpCode) (Record, bool){RequestFor, ResponseFor} {
			if r, ok := f(op); ok && r != nil && !have[reflect.TypeOf(r)] {
				t.Errorf("%T (for %s) has no round-trip sample", r, op)
			}
		}
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenHandshakeAndPing(t *testing.T) {
	zeros16 := strings.Repeat("00", 16)
	pw := "0102030405060708090a0b0c0d0e0f10"
	cases := []struct {
		name string
		rec  []Record
		want string
	}{
		{"connect request with readOnly", []Record{&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}},
			"0000002d 00000000 0000000000000000 00007530 0000000000000000 00000010" + zeros16 + "00"},
		{"connect request without readOnly", []Record{&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}},
			"0000002c 00000000 0000000000000000 00007530 0000000000000000 00000010" + zeros16},
		{"connect response with readOnly", []Record{&ConnectResponse{TimeOut: 30000, SessionID: 0x1000a00000001,
			Passwd: unhex(t, pw), HasReadOnly: true}},
			"00000025 00000000 00007530 0001000a00000001 00000010" + pw + "00"},
		{"connect response without readOnly", []Record{&ConnectResponse{TimeOut: 30000, SessionID: 0x1000a00000001,
			Passwd: unhex(t, pw)}},
			"00000024 00000000 00007530 0001000a00000001 00000010" + pw},
		{"ping", []Record{&RequestHeader{Xid: XidPing, Type: OpPing}, nil},
			"00000008 fffffffe 0000000b"},
		{"ping reply", []Record{&ReplyHeader{Xid: XidPing, Zxid: 0x100000005}},
			"00000010 fffffffe 0000000100000005 00000000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := unhex(t, c.want)
			got := AppendFrame(nil, c.rec...)
			if !bytes.Equal(got, want) {
				t.Fatalf("encode\n got %x\nwant %x", got, want)
			}
			if n := DecodeLength([4]byte(got)); int(n) != len(got)-4 {
				t.Fatalf("DecodeLength %d, payload %d", n, len(got)-4)
			}
			fresh := make([]Record, 0, len(c.rec))
			for _, r := range c.rec {
				if r != nil {
					fresh = append(fresh, reflect.New(reflect.TypeOf(r).Elem()).Interface().(Record))
				}
			}
			if err := Unmarshal(got[4:], 0, fresh...); err != nil {
				t.Fatal(err)
			}
			for i, r := range fresh {
				if !reflect.DeepEqual(r, c.rec[i]) {
					t.Fatalf("decode\n got %#v\nwant %#v", r, c.rec[i])
				}
			}
		})
	}
}

// A go-zookeeper style connect (no readOnly byte) decodes with HasReadOnly
// false; a Java one with the byte set gives true/true.
func TestConnectReadOnlyPresence(t *testing.T) {
	var r ConnectRequest
	b := Marshal(&ConnectRequest{TimeOut: 1, Passwd: make([]byte, 16)})
	if err := Unmarshal(b, 0, &r); err != nil || r.HasReadOnly || r.ReadOnly {
		t.Fatalf("no byte: %+v %v", r, err)
	}
	if err := Unmarshal(append(b, 7), 0, &r); err != nil || !r.HasReadOnly || !r.ReadOnly {
		t.Fatalf("byte 7: %+v %v", r, err)
	}
}

func TestGoldenMultiRequest(t *testing.T) {
	m := &MultiRequest{Ops: []MultiOp{
		{OpCreate, &CreateRequest{Path: "/a", Data: []byte("x"), ACL: OpenACLUnsafe, Flags: ModeEphemeral}},
		{OpDelete, &DeleteRequest{Path: "/b", Version: -1}},
		{OpCheck, &CheckVersionRequest{Path: "/c", Version: 2}},
	}}
	want := unhex(t, `
		00000001 00 ffffffff  00000002 2f61  00000001 78  00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65  00000001
		00000002 00 ffffffff  00000002 2f62  ffffffff
		0000000d 00 ffffffff  00000002 2f63  00000002
		ffffffff 01 ffffffff`)
	got := Marshal(m)
	if !bytes.Equal(got, want) {
		t.Fatalf("encode\n got %x\nwant %x", got, want)
	}
	hdr := Marshal(&RequestHeader{Xid: 5, Type: OpMulti})
	h, rec, err := DecodeRequest(append(hdr, got...), 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.Xid != 5 || h.Type != OpMulti || !reflect.DeepEqual(rec, m) {
		t.Fatalf("decoded %v %#v", h, rec)
	}
	const wantStr = "multi [create /a flags=1; delete /b v=-1; check /c v=2]"
	if s := m.String(); s != wantStr {
		t.Fatalf("String %q, want %q", s, wantStr)
	}
}

func TestGoldenMultiResponseErrorInMiddle(t *testing.T) {
	// The second op failed: earlier ops report 0, later ones -2.
	m := &MultiResponse{Results: []MultiResult{
		{Type: OpError, Err: OK},
		{Type: OpError, Err: ErrNodeExists},
		{Type: OpError, Err: ErrRuntimeInconsistency},
	}}
	want := unhex(t, `
		ffffffff 00 00000000  00000000
		ffffffff 00 ffffff92  ffffff92
		ffffffff 00 fffffffe  fffffffe
		ffffffff 01 ffffffff`)
	got := Marshal(m)
	if !bytes.Equal(got, want) {
		t.Fatalf("encode\n got %x\nwant %x", got, want)
	}
	var back MultiResponse
	if err := Unmarshal(got, 0, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Fatalf("decoded %#v", back)
	}
	if back.FirstError() != ErrNodeExists {
		t.Fatalf("FirstError %v", back.FirstError())
	}
	if s := back.String(); s != "multi-result [error OK; error NodeExists; error RuntimeInconsistency]" {
		t.Fatalf("String %q", s)
	}
}

func TestGoldenMultiResponseSuccess(t *testing.T) {
	m := &MultiResponse{Results: []MultiResult{{Type: OpCreate, Path: "/a"}, {Type: OpDelete}}}
	want := unhex(t, `00000001 00 00000000 00000002 2f61  00000002 00 00000000  ffffffff 01 ffffffff`)
	if got := Marshal(m); !bytes.Equal(got, want) {
		t.Fatalf("encode\n got %x\nwant %x", got, want)
	}
	if m.FirstError() != OK {
		t.Fatal("FirstError on success")
	}
}

func TestMultiRejectsUnknownOps(t *testing.T) {
	e := NewEncoder(nil)
	(&MultiHeader{Type: OpExists, Err: -1}).Encode(e)
	(&ExistsRequest{Path: "/a"}).Encode(e)
	multiEnd.Encode(e)
	var m MultiRequest
	err := Unmarshal(e.Bytes(), 0, &m)
	if !errors.Is(err, ErrMarshallingError) || m.Ops != nil {
		t.Fatalf("exists inside multi: %v %v", err, m.Ops)
	}

	e.Reset()
	(&MultiHeader{Type: OpExists}).Encode(e)
	var r MultiResponse
	if err := Unmarshal(e.Bytes(), 0, &r); !errors.Is(err, ErrMarshallingError) {
		t.Fatalf("exists result: %v", err)
	}

	// A multi without its terminator is truncated.
	b := Marshal(&MultiRequest{Ops: []MultiOp{{OpDelete, &DeleteRequest{Path: "/a"}}}})
	if err := Unmarshal(b[:len(b)-9], 0, &m); !errors.Is(err, ErrMarshallingError) {
		t.Fatalf("unterminated multi: %v", err)
	}
}

func TestMultiEncodePanicsOnBrokenInvariant(t *testing.T) {
	for name, r := range map[string]Record{
		"op without record": &MultiRequest{Ops: []MultiOp{{Type: OpCreate}}},
		"bad result type":   &MultiResponse{Results: []MultiResult{{Type: OpExists}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			Marshal(r)
		})
	}
}

func TestRequestFor(t *testing.T) {
	for _, op := range []OpCode{OpPing, OpCloseSession, OpWhoAmI} {
		if r, ok := RequestFor(op); !ok || r != nil {
			t.Errorf("%s: %T %v, want nil true", op, r, ok)
		}
	}
	for _, op := range []OpCode{OpNotification, OpCheck, 10, OpCreateSession, OpError, 23, 99, 108, 1 << 20} {
		if _, ok := RequestFor(op); ok {
			t.Errorf("%s accepted", op)
		}
	}
	want := map[OpCode]Record{
		OpCreate: &CreateRequest{}, OpCreate2: &CreateRequest{}, OpCreateContainer: &CreateRequest{},
		OpCreateTTL: &CreateTTLRequest{}, OpDelete: &DeleteRequest{}, OpExists: &ExistsRequest{},
		OpGetData: &GetDataRequest{}, OpSetData: &SetDataRequest{}, OpGetACL: &GetACLRequest{},
		OpSetACL: &SetACLRequest{}, OpGetChildren: &GetChildrenRequest{}, OpSync: &SyncRequest{},
		OpGetChildren2: &GetChildren2Request{}, OpMulti: &MultiRequest{}, OpMultiRead: &MultiRequest{},
		OpReconfig: &ReconfigRequest{}, OpCheckWatches: &CheckWatchesRequest{},
		OpRemoveWatches: &RemoveWatchesRequest{}, OpDeleteContainer: &DeleteContainerRequest{},
		OpAuth: &AuthPacket{}, OpSetWatches: &SetWatches{}, OpSasl: &GetSASLRequest{},
		OpGetEphemerals: &GetEphemeralsRequest{}, OpGetAllChildrenNumber: &GetAllChildrenNumberRequest{},
		OpSetWatches2: &SetWatches2{}, OpAddWatch: &AddWatchRequest{},
	}
	for op, w := range want {
		r, ok := RequestFor(op)
		if !ok || reflect.TypeOf(r) != reflect.TypeOf(w) {
			t.Errorf("%s: %T, want %T", op, r, w)
		}
	}
}

func TestDecodeRequest(t *testing.T) {
	body := AppendFrame(nil, &RequestHeader{Xid: 9, Type: OpSetData}, &SetDataRequest{Path: "/a", Data: []byte("hello"), Version: 2})[4:]
	h, rec, err := DecodeRequest(body, 0)
	if err != nil || h.Xid != 9 || rec.(*SetDataRequest).Path != "/a" {
		t.Fatalf("%v %v %v", h, rec, err)
	}
	if s := rec.(*SetDataRequest).String(); s != "setData /a v=2 len=5" {
		t.Fatalf("String %q", s)
	}

	h, rec, err = DecodeRequest(Marshal(&RequestHeader{Xid: 4, Type: OpCheck}), 0)
	if !errors.Is(err, ErrUnimplemented) || h.Xid != 4 || rec != nil {
		t.Fatalf("standalone check: %v %v %v", h, rec, err)
	}
	if CodeOf(err) != ErrUnimplemented {
		t.Fatalf("CodeOf %v", CodeOf(err))
	}

	_, _, err = DecodeRequest(body[:len(body)-1], 0)
	if !errors.Is(err, ErrMarshallingError) || CodeOf(err) != ErrMarshallingError {
		t.Fatalf("truncated: %v", err)
	}
	_, _, err = DecodeRequest([]byte{0, 0, 0}, 0)
	if !errors.Is(err, ErrMarshallingError) {
		t.Fatalf("short header: %v", err)
	}

	h, rec, err = DecodeRequest(Marshal(&RequestHeader{Xid: XidPing, Type: OpPing}), 0)
	if err != nil || rec != nil || h.Type != OpPing {
		t.Fatalf("ping: %v %v %v", h, rec, err)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct {
		v    interface{ String() string }
		want string
	}{
		{CreateRequest{Path: "/a/b", Flags: 3}, "create /a/b flags=3"},
		{SetDataRequest{Path: "/a", Version: 2, Data: []byte("hello")}, "setData /a v=2 len=5"},
		{ReplyHeader{Xid: 3, Zxid: 0x100000002, Err: ErrNoNode}, "reply xid=3 zxid=0x100000002 err=NoNode"},
		{ReplyHeader{Xid: -1, Zxid: -1}, "reply xid=-1 zxid=-1 err=OK"},
		{RequestHeader{Xid: 1, Type: OpGetChildren2}, "req xid=1 getChildren2"},
		{GetDataRequest{Path: "/a", Watch: true}, "getData /a watch"},
		{ExistsRequest{Path: "/a"}, "exists /a"},
		{DeleteRequest{Path: "/a", Version: -1}, "delete /a v=-1"},
		{WatcherEvent{Type: EventNodeCreated, State: StateSyncConnected, Path: "/x"}, "event NodeCreated /x SyncConnected"},
		{ConnectRequest{TimeOut: 30000, HasReadOnly: true}, "connect session=0x0 timeout=30000 lastZxid=0x0 ro=false"},
		{ConnectResponse{TimeOut: 4000, SessionID: 0x1001}, "connected session=0x1001 timeout=4000"},
		{AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, "auth digest len=3"},
		{MultiHeader{Type: OpError, Done: true, Err: -1}, "multiHeader error done=true err=SystemError"},
		{ErrorResponse{Err: ErrNoWatcher}, "error NoWatcher"},
		{KeeperState(42), "state(42)"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%T: %q, want %q", c.v, got, c.want)
		}
	}
}

func TestFourLetterWord(t *testing.T) {
	for _, w := range []string{"ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst", "wchs",
		"wchc", "wchp", "dump", "envi", "isro", "dirs", "gtmk", "stmk", "hash"} {
		if got, ok := FourLetterWord([]byte(w)); !ok || got != w {
			t.Errorf("%s: %q %v", w, got, ok)
		}
		// Read as a frame length, a 4lw is far above MaxBuffer.
		if n := DecodeLength([4]byte([]byte(w))); n >= 0 && n <= MaxBuffer {
			t.Errorf("%s collides with a valid length %d", w, n)
		}
	}
	for _, b := range [][]byte{nil, []byte("ruo"), []byte("RUOK"), []byte("abcd"), {0, 0, 0, 0x2d}} {
		if w, ok := FourLetterWord(b); ok {
			t.Errorf("%q recognised as %q", b, w)
		}
	}
	if w, ok := FourLetterWord([]byte("stmk\x00\x00\x00\x00\x00\x00\x00\x01")); !ok || w != "stmk" {
		t.Errorf("stmk with argument: %q %v", w, ok)
	}
}

func TestAppendFrameAppends(t *testing.T) {
	b := AppendFrame([]byte("prefix"), &RequestHeader{Xid: 1, Type: OpSync}, &SyncRequest{Path: "/"})
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatal("prefix lost")
	}
	frame := b[6:]
	if n := DecodeLength([4]byte(frame)); int(n) != len(frame)-4 || n != 8+5 {
		t.Fatalf("length %d for %d payload bytes", n, len(frame)-4)
	}
}

func TestDigestID(t *testing.T) {
	// base64(sha1("super:adminsecret")), computed independently with Python's hashlib.
	if got := DigestID("super", "adminsecret"); got != "super:GcMT0ijsx21yLyTWAWMqFV/azZE=" {
		t.Fatalf("DigestID = %q", got)
	}
	if DigestCredential("bob:pw:x") != DigestID("bob", "pw:x") {
		t.Fatal("a password may contain ':'")
	}
}
