package server_test

import (
	"bufio"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/jute"
)

const smallMax = 4096

// badServer runs a server with a small jute.maxbuffer and a node to check
// for damage afterwards.
func badServer(t *testing.T) string {
	t.Helper()
	_, addr := start(t, func(c *conf.Config) { c.JuteMaxBuffer = smallMax })
	c := newRaw(t, addr)
	create(c, "/keep", "precious", 0)
	c.mustCall(jute.OK, jute.OpCloseSession, nil, nil)
	return addr
}

func lengthPrefix(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

// replyThenClose reads what the server sends until it closes and returns
// the reply headers in it.
func replyThenClose(t *testing.T, c *raw) []jute.ReplyHeader {
	t.Helper()
	rest := expectClosed(t, c.nc, c.r)
	var hs []jute.ReplyHeader
	for len(rest) >= 4 {
		n := int(binary.BigEndian.Uint32(rest))
		if len(rest) < 4+n {
			t.Fatalf("truncated frame in %x", rest)
		}
		var h jute.ReplyHeader
		if err := jute.Unmarshal(rest[4:4+n], 0, &h); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		rest = rest[4+n:]
	}
	return hs
}

func TestBadInputFrames(t *testing.T) {
	addr := badServer(t)
	cases := []struct {
		name  string
		bytes func(xid int32) []byte
		want  []jute.Code // error replies expected before the close
	}{
		{"length over jute.maxbuffer", func(int32) []byte { return lengthPrefix(smallMax + 1) }, nil},
		{"negative length", func(int32) []byte { return lengthPrefix(-5) }, nil},
		{"unknown opcode", func(x int32) []byte {
			return jute.AppendFrame(nil, &jute.RequestHeader{Xid: x, Type: 999})
		}, []jute.Code{jute.ErrUnimplemented}},
		{"standalone check", func(x int32) []byte {
			return jute.AppendFrame(nil, &jute.RequestHeader{Xid: x, Type: jute.OpCheck}, &jute.CheckVersionRequest{Path: "/keep", Version: 0})
		}, []jute.Code{jute.ErrUnimplemented}},
		{"malformed body", func(x int32) []byte {
			// getData whose path claims 100 bytes but carries 3.
			body := jute.Marshal(&jute.RequestHeader{Xid: x, Type: jute.OpGetData})
			body = append(binary.BigEndian.AppendUint32(body, 100), "/ke"...)
			return append(lengthPrefix(int32(len(body))), body...)
		}, []jute.Code{jute.ErrMarshallingError}},
		{"read op inside multi", func(x int32) []byte {
			return jute.AppendFrame(nil, &jute.RequestHeader{Xid: x, Type: jute.OpMulti}, &jute.MultiRequest{Ops: []jute.MultiOp{
				{Type: jute.OpGetData, Rec: &jute.GetDataRequest{Path: "/keep"}}}})
		}, []jute.Code{jute.ErrMarshallingError}},
		{"write op inside multiRead", func(x int32) []byte {
			return jute.AppendFrame(nil, &jute.RequestHeader{Xid: x, Type: jute.OpMultiRead}, &jute.MultiRequest{Ops: []jute.MultiOp{
				{Type: jute.OpDelete, Rec: &jute.DeleteRequest{Path: "/keep", Version: -1}}}})
		}, []jute.Code{jute.ErrMarshallingError}},
		{"oversized create data", func(x int32) []byte {
			return jute.AppendFrame(nil, &jute.RequestHeader{Xid: x, Type: jute.OpCreate},
				&jute.CreateRequest{Path: "/big", Data: make([]byte, smallMax), ACL: openACL()})
		}, nil},
		{"vanishing mid-frame", func(x int32) []byte {
			f := jute.AppendFrame(nil, &jute.RequestHeader{Xid: x, Type: jute.OpSetData},
				&jute.SetDataRequest{Path: "/keep", Data: []byte("half-written"), Version: -1})
			return f[:len(f)-6]
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newRaw(t, addr)
			// A pipelined good request before the bad one is still answered.
			good := c.send(jute.OpExists, &jute.ExistsRequest{Path: "/keep"})
			c.xid++
			c.write(tc.bytes(c.xid))
			if tc.name == "vanishing mid-frame" {
				if h := c.reply(&jute.ExistsResponse{}); h.Xid != good || h.Err != jute.OK {
					t.Fatalf("good reply %v", h)
				}
				c.nc.Close()
			} else {
				hs := replyThenClose(t, c)
				if len(hs) != 1+len(tc.want) || hs[0].Xid != good || hs[0].Err != jute.OK {
					t.Fatalf("replies before close: %v", hs)
				}
				for i, code := range tc.want {
					if h := hs[1+i]; h.Xid != c.xid || h.Err != code {
						t.Fatalf("error reply %v, want xid %d err %v", h, c.xid, code)
					}
				}
			}
			healthy(t, addr, "/keep", []byte("precious"))
		})
	}
	// Nothing half-done was applied.
	c := newRaw(t, addr)
	c.mustCall(jute.ErrNoNode, jute.OpExists, &jute.ExistsRequest{Path: "/big"}, nil)
}

func TestBadInputBeforeConnect(t *testing.T) {
	addr := badServer(t)
	for name, b := range map[string][]byte{
		"text":                 []byte("hello, is this http?\r\n\r\n"),
		"short frame":          append(lengthPrefix(3), 1, 2, 3),
		"zero length":          lengthPrefix(0),
		"huge length":          lengthPrefix(1 << 30),
		"zxid from the future": jute.AppendFrame(nil, &jute.ConnectRequest{LastZxidSeen: 1 << 40, TimeOut: 1000, Passwd: make([]byte, 16)}),
		"truncated connect":    jute.AppendFrame(nil, &jute.ConnectRequest{Passwd: make([]byte, 16)})[:20],
		"lying passwd len": func() []byte {
			body := jute.Marshal(&jute.ConnectRequest{TimeOut: 1000})
			body = body[:len(body)-4]
			body = binary.BigEndian.AppendUint32(body, 1<<20)
			return append(lengthPrefix(int32(len(body))), body...)
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			nc := dial(t, addr)
			nc.Write(b)
			if strings.HasPrefix(name, "truncated") {
				nc.Close()
			} else if out := expectClosed(t, nc, bufio.NewReader(nc)); len(out) != 0 {
				t.Fatalf("server answered garbage with %q", out)
			}
			healthy(t, addr, "/keep", []byte("precious"))
		})
	}
}

func TestBadInputInvalidPaths(t *testing.T) {
	addr := badServer(t)
	c := newRaw(t, addr)
	// Paths whose parent exists: the final path check answers (for a
	// missing parent ZooKeeper answers NoNode first, §8.7).
	for _, p := range []string{"", "a", "//a", "/keep/", "/keep/.", "/keep/..", "/.", "/a\x00b", "/keep/a\x01b", "/keep/\u007f"} {
		c.mustCall(jute.ErrBadArguments, jute.OpCreate, &jute.CreateRequest{Path: p, ACL: openACL()}, nil)
		c.mustCall(jute.ErrBadArguments, jute.OpCreate2, &jute.CreateRequest{Path: p, ACL: openACL()}, nil)
		c.mustCall(jute.ErrBadArguments, jute.OpSetData, &jute.SetDataRequest{Path: p, Version: -1}, nil)
	}
	for _, p := range []string{"", "a", "/a\x00b"} {
		c.mustCall(jute.ErrBadArguments, jute.OpDelete, &jute.DeleteRequest{Path: p, Version: -1}, nil)
	}
	for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
		c.mustCall(jute.ErrBadArguments, jute.OpDelete, &jute.DeleteRequest{Path: p, Version: -1}, nil)
	}
	// A bad create flag is BadArguments, TTL out of range too.
	c.mustCall(jute.ErrBadArguments, jute.OpCreate, &jute.CreateRequest{Path: "/f", ACL: openACL(), Flags: 9}, nil)
	c.mustCall(jute.ErrBadArguments, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/f", ACL: openACL(), Flags: jute.ModePersistentWithTTL, TTL: 0}, nil)
	c.mustCall(jute.ErrBadArguments, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/f", ACL: openACL(), Flags: 0, TTL: 100}, nil)
	// The session survives all of that.
	healthy(t, addr, "/keep", []byte("precious"))
	c.mustCall(jute.OK, jute.OpExists, &jute.ExistsRequest{Path: "/keep"}, &jute.ExistsResponse{})
}

func TestBadInputTTLDisabled(t *testing.T) {
	_, addr := start(t, func(c *conf.Config) { c.ExtendedTypesEnabled = false })
	c := newRaw(t, addr)
	c.mustCall(jute.ErrUnimplemented, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/t", ACL: openACL(), Flags: jute.ModePersistentWithTTL, TTL: 100}, nil)
	c.mustCall(jute.OK, jute.OpExists, &jute.ExistsRequest{Path: "/"}, &jute.ExistsResponse{})
}

func TestMaxClientCnxns(t *testing.T) {
	_, addr := start(t, func(c *conf.Config) { c.MaxClientCnxns = 2 })
	a, b := newRaw(t, addr), newRaw(t, addr)
	third := dial(t, addr)
	third.Write(jute.AppendFrame(nil, &jute.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}))
	if out := expectClosed(t, third, third); len(out) != 0 {
		t.Fatalf("third connection answered: %x", out)
	}
	// The two admitted ones work; once one leaves there is room again.
	a.mustCall(jute.OK, jute.OpExists, &jute.ExistsRequest{Path: "/"}, &jute.ExistsResponse{})
	b.mustCall(jute.OK, jute.OpCloseSession, nil, nil)
	expectClosed(t, b.nc, b.r)
	eventually(t, "a slot frees up", func() bool {
		nc := dial(t, addr)
		defer nc.Close()
		nc.Write(jute.AppendFrame(nil, &jute.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}))
		r := &raw{t: t, nc: nc, r: bufio.NewReader(nc)}
		body, err := r.frame()
		if err != nil {
			return false
		}
		var resp jute.ConnectResponse
		return jute.Unmarshal(body, 0, &resp) == nil && resp.SessionID != 0
	})
}

// FIFO: 200 pipelined requests mixing writes and reads of one node get
// their replies in order, and every read sees exactly the writes before it.
func TestPipelineFIFO(t *testing.T) {
	_, addr := start(t)
	c := newRaw(t, addr)
	create(c, "/f", "0", 0)
	const n = 200
	type sent struct {
		xid int32
		op  jute.OpCode
	}
	var reqs []sent
	var frames []byte
	for i := range n {
		c.xid++
		h := jute.RequestHeader{Xid: c.xid}
		switch i % 4 {
		case 0, 2:
			h.Type = jute.OpSetData
			frames = jute.AppendFrame(frames, &h, &jute.SetDataRequest{Path: "/f", Data: []byte(strconv.Itoa(i)), Version: -1})
		case 1:
			h.Type = jute.OpGetData
			frames = jute.AppendFrame(frames, &h, &jute.GetDataRequest{Path: "/f"})
		case 3:
			h.Type = jute.OpCreate
			frames = jute.AppendFrame(frames, &h, &jute.CreateRequest{Path: "/f/k-", ACL: openACL(), Flags: jute.ModePersistentSequential})
		}
		reqs = append(reqs, sent{c.xid, h.Type})
	}
	c.write(frames) // all at once, before reading anything
	lastWritten, version, kids := "0", int32(0), 0
	var lastZxid int64
	for i, r := range reqs {
		var body jute.Record
		switch r.op {
		case jute.OpSetData:
			body = &jute.SetDataResponse{}
		case jute.OpGetData:
			body = &jute.GetDataResponse{}
		case jute.OpCreate:
			body = &jute.CreateResponse{}
		}
		h := c.reply(body)
		if h.Xid != r.xid || h.Err != jute.OK {
			t.Fatalf("reply %d: %v, want xid %d", i, h, r.xid)
		}
		if int64(h.Zxid) < lastZxid {
			t.Fatalf("reply %d: zxid went back from %x to %x", i, lastZxid, h.Zxid)
		}
		lastZxid = int64(h.Zxid)
		switch b := body.(type) {
		case *jute.SetDataResponse:
			version++
			lastWritten = strconv.Itoa(i)
			if b.Stat.Version != version {
				t.Fatalf("reply %d: version %d, want %d", i, b.Stat.Version, version)
			}
		case *jute.GetDataResponse:
			if string(b.Data) != lastWritten || b.Stat.Version != version || b.Stat.NumChildren != int32(kids) {
				t.Fatalf("read %d saw %q v%d kids %d, want %q v%d kids %d", i, b.Data, b.Stat.Version,
					b.Stat.NumChildren, lastWritten, version, kids)
			}
		case *jute.CreateResponse:
			if want := "/f/k-" + strconv.Itoa(kids); !strings.HasPrefix(b.Path, "/f/k-") || atoi(b.Path[5:]) != kids {
				t.Fatalf("create %d made %q, want %s (10 digits)", i, b.Path, want)
			}
			kids++
		}
	}
	if ev := c.takeEvents(); len(ev) != 0 {
		t.Fatalf("unexpected notifications %v", ev)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 10 {
		return -1
	}
	return n
}
