package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/server"
	"github.com/zabkeeper/zabkeeper/server/servertest"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// ioLimit bounds every blocking read in these tests so that a broken server
// fails a test instead of hanging it; nothing asserts on how long things take.
const ioLimit = 10 * time.Second

// nopLogger keeps go-zk quiet.
type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// gozk connects a go-zookeeper client and waits until it has a session.
func gozk(t *testing.T, addr string, opts ...func(*zk.Conn)) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	zc, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(nopLogger{}), zk.WithLogInfo(false))
	if err != nil {
		t.Fatalf("zk.Connect: %v", err)
	}
	t.Cleanup(zc.Close)
	deadline := time.After(ioLimit)
	for zc.State() != zk.StateHasSession {
		select {
		case <-events:
		case <-deadline:
			t.Fatalf("go-zk never got a session (state %v)", zc.State())
		}
	}
	return zc, events
}

// waitEvent reads one watch event or fails.
func waitEvent(t *testing.T, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(ioLimit):
		t.Fatal("no watch event")
	}
	return zk.Event{}
}

// noEvent checks that nothing is pending on ch right now.
func noEvent(t *testing.T, ch <-chan zk.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	default:
	}
}

// eventually polls cond until it holds or the limit passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(t *testing.T, f ...func(*conf.Config)) (*server.Server, string) {
	t.Helper()
	var opts []servertest.Option
	for _, g := range f {
		opts = append(opts, servertest.WithConfig(g))
	}
	srv := servertest.Start(t, opts...)
	return srv, srv.Addr().String()
}

// raw is a minimal hand-written ZooKeeper client: frames in, frames out.
type raw struct {
	t      *testing.T
	nc     net.Conn
	r      *bufio.Reader
	xid    int32
	resp   jute.ConnectResponse
	events []jute.WatcherEvent // notifications read while waiting for replies
	evZxid []int64
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioLimit)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// connectRaw opens a session (or resumes one with req's id and password).
func connectRaw(t *testing.T, addr string, req jute.ConnectRequest) *raw {
	t.Helper()
	c := &raw{t: t, nc: dial(t, addr)}
	c.r = bufio.NewReader(c.nc)
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	if req.TimeOut == 0 {
		req.TimeOut = 10000
	}
	c.write(jute.AppendFrame(nil, &req))
	body, err := c.frame()
	if err != nil {
		t.Fatalf("connect response: %v", err)
	}
	if err := jute.Unmarshal(body, 0, &c.resp); err != nil {
		t.Fatalf("decode connect response: %v", err)
	}
	return c
}

func newRaw(t *testing.T, addr string) *raw {
	t.Helper()
	c := connectRaw(t, addr, jute.ConnectRequest{})
	if c.resp.SessionID == 0 {
		t.Fatalf("no session: %v", c.resp)
	}
	return c
}

func (c *raw) write(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(ioLimit))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// frame reads one frame body.
func (c *raw) frame() ([]byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(ioLimit))
	var lb [4]byte
	if _, err := io.ReadFull(c.r, lb[:]); err != nil {
		return nil, err
	}
	n := jute.DecodeLength(lb)
	if n < 0 || n > 1<<22 {
		return nil, fmt.Errorf("bad frame length %d", n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(c.r, body)
	return body, err
}

// send writes one request and returns its xid.
func (c *raw) send(op jute.OpCode, rec jute.Record) int32 {
	c.t.Helper()
	c.xid++
	h := jute.RequestHeader{Xid: c.xid, Type: op}
	c.write(jute.AppendFrame(nil, &h, rec))
	return c.xid
}

// reply reads frames until a non-notification reply, decoding its body
// into resp when err == 0. Notifications are kept in c.events.
func (c *raw) reply(resp jute.Record) jute.ReplyHeader {
	c.t.Helper()
	for {
		body, err := c.frame()
		if err != nil {
			c.t.Fatalf("reading reply: %v", err)
		}
		var h jute.ReplyHeader
		d := jute.NewDecoder(body, 0)
		h.Decode(d)
		if h.Xid == jute.XidNotification {
			var ev jute.WatcherEvent
			ev.Decode(d)
			if d.Err() != nil {
				c.t.Fatalf("bad notification: %v", d.Err())
			}
			c.events = append(c.events, ev)
			c.evZxid = append(c.evZxid, int64(h.Zxid))
			continue
		}
		if h.Err == jute.OK && resp != nil {
			resp.Decode(d)
			if d.Err() != nil {
				c.t.Fatalf("decode %T: %v", resp, d.Err())
			}
		}
		return h
	}
}

// call sends a request and waits for its reply.
func (c *raw) call(op jute.OpCode, rec, resp jute.Record) jute.ReplyHeader {
	c.t.Helper()
	xid := c.send(op, rec)
	h := c.reply(resp)
	if h.Xid != xid {
		c.t.Fatalf("%s: reply xid %d, want %d", op, h.Xid, xid)
	}
	return h
}

// mustCall is call that also requires err == want.
func (c *raw) mustCall(want jute.Code, op jute.OpCode, rec, resp jute.Record) {
	c.t.Helper()
	if h := c.call(op, rec, resp); h.Err != want {
		c.t.Fatalf("%s %v: err %v, want %v", op, rec, h.Err, want)
	}
}

// takeEvents returns and clears the notifications seen so far.
func (c *raw) takeEvents() []jute.WatcherEvent {
	ev := c.events
	c.events, c.evZxid = nil, nil
	return ev
}

// nextEvent returns the next notification, reading if none is buffered.
func (c *raw) nextEvent() jute.WatcherEvent {
	c.t.Helper()
	for len(c.events) == 0 {
		body, err := c.frame()
		if err != nil {
			c.t.Fatalf("waiting for a notification: %v", err)
		}
		var h jute.ReplyHeader
		var ev jute.WatcherEvent
		if err := jute.Unmarshal(body, 0, &h, &ev); err != nil || h.Xid != jute.XidNotification {
			c.t.Fatalf("expected a notification, got %v (%v)", h, err)
		}
		c.events = append(c.events, ev)
		c.evZxid = append(c.evZxid, int64(h.Zxid))
	}
	ev := c.events[0]
	c.events, c.evZxid = c.events[1:], c.evZxid[1:]
	return ev
}

// expectClosed reads until EOF, failing if the server keeps the connection.
// Frames read on the way are returned.
func expectClosed(t *testing.T, nc net.Conn, r io.Reader) []byte {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(ioLimit))
	b, err := io.ReadAll(r)
	if err != nil && !isReset(err) {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	return b
}

func isReset(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe")
}

// fourLetter sends a four-letter word and returns the whole answer.
func fourLetter(t *testing.T, addr, cmd string) string {
	t.Helper()
	nc := dial(t, addr)
	if _, err := nc.Write([]byte(cmd)); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(expectClosed(t, nc, nc))
}

// healthy checks that a fresh client can still read and write, and that a
// node written before is intact.
func healthy(t *testing.T, addr, path string, want []byte) {
	t.Helper()
	c := newRaw(t, addr)
	var gd jute.GetDataResponse
	c.mustCall(jute.OK, jute.OpGetData, &jute.GetDataRequest{Path: path}, &gd)
	if string(gd.Data) != string(want) {
		t.Fatalf("%s = %q, want %q", path, gd.Data, want)
	}
	c.mustCall(jute.OK, jute.OpSetData, &jute.SetDataRequest{Path: path, Data: want, Version: -1}, &jute.SetDataResponse{})
	c.mustCall(jute.OK, jute.OpCloseSession, nil, nil)
}

func openACL() []jute.ACL {
	return []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
}

func create(c *raw, path string, data string, flags int32) string {
	c.t.Helper()
	var cr jute.CreateResponse
	c.mustCall(jute.OK, jute.OpCreate, &jute.CreateRequest{Path: path, Data: []byte(data), ACL: openACL(), Flags: flags}, &cr)
	return cr.Path
}

func jzxid(v int64) zxid.Zxid { return zxid.Zxid(v) }
