package client

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// request is one call in flight. resp is decoded and onReply run by the
// reader goroutine, before any later frame is looked at, so a watch set by
// the reply is registered before its first event can arrive.
type request struct {
	op      jute.OpCode
	xid     int32
	rec     jute.Record
	resp    jute.Record
	onReply func(err jute.Code)
	sentAt  time.Time
	done    chan error // buffered 1: the reader never blocks on a caller
}

func (r *request) finish(err error) { r.done <- err }

// conn is one TCP connection carrying the session. Requests are written in
// xid order and answered in the same order (FIFO), except pings and auth,
// which have fixed xids and their own queues.
type conn struct {
	c   *Client
	nc  net.Conn
	buf int // max frame

	wmu sync.Mutex // one frame at a time, in xid order

	pmu     sync.Mutex
	pending []*request
	authQ   []*request
	pingQ   []*request
	dead    bool

	lastSend   atomic.Int64 // unix nanos
	closed     chan struct{}
	readerDone chan struct{}
}

// send writes req, or fails it with connection loss. It never blocks on a
// reply: the reader completes req.done.
func (cn *conn) send(req *request) {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.pmu.Lock()
	if cn.dead {
		cn.pmu.Unlock()
		req.finish(jute.ErrConnectionLoss)
		return
	}
	req.sentAt = time.Now()
	switch req.op {
	case jute.OpPing:
		req.xid = jute.XidPing
		cn.pingQ = append(cn.pingQ, req)
	case jute.OpAuth:
		req.xid = jute.XidAuth
		cn.authQ = append(cn.authQ, req)
	default:
		req.xid = cn.c.nextXid()
		cn.pending = append(cn.pending, req)
	}
	cn.pmu.Unlock()
	frame := jute.AppendFrame(nil, &jute.RequestHeader{Xid: req.xid, Type: req.op}, req.rec)
	cn.lastSend.Store(req.sentAt.UnixNano())
	_ = cn.nc.SetWriteDeadline(time.Now().Add(cn.c.timeoutNow()))
	if _, err := cn.nc.Write(frame); err != nil {
		cn.fail(jute.ErrConnectionLoss, fmt.Errorf("write: %w", err))
	}
}

// fail closes the connection once and fails everything in flight with reason.
func (cn *conn) fail(reason error, why error) {
	cn.pmu.Lock()
	if cn.dead {
		cn.pmu.Unlock()
		return
	}
	cn.dead = true
	reqs := append(append(cn.pending, cn.authQ...), cn.pingQ...)
	cn.pending, cn.authQ, cn.pingQ = nil, nil, nil
	cn.pmu.Unlock()
	_ = cn.nc.Close()
	cn.c.logf("connection to %s dropped: %v", cn.nc.RemoteAddr(), why)
	for _, r := range reqs {
		r.finish(reason)
	}
	close(cn.closed)
}

// isDead: the connection failed; serve is about to replace it.
func (cn *conn) isDead() bool {
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	return cn.dead
}

func (cn *conn) pop(q *[]*request) *request {
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	if len(*q) == 0 {
		return nil
	}
	r := (*q)[0]
	*q = (*q)[1:]
	return r
}

// readFrame reads one length-prefixed frame, refusing lengths over max.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(l[:])))
	if n < 0 || n > max {
		return nil, fmt.Errorf("frame length %d outside [0, %d]", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readLoop handles every frame from the server until the connection fails.
func (cn *conn) readLoop(readTimeout time.Duration) {
	defer close(cn.readerDone)
	for {
		_ = cn.nc.SetReadDeadline(time.Now().Add(readTimeout))
		body, err := readFrame(cn.nc, cn.buf)
		if err != nil {
			cn.fail(jute.ErrConnectionLoss, err)
			return
		}
		if err := cn.handle(body); err != nil {
			cn.fail(jute.ErrConnectionLoss, err)
			return
		}
	}
}

// handle is the dispatch on the reply xid.
func (cn *conn) handle(body []byte) error {
	var h jute.ReplyHeader
	d := jute.NewDecoder(body, cn.buf)
	h.Decode(d)
	if d.Err() != nil {
		return d.Err()
	}
	rest := body[16:]
	switch h.Xid {
	case jute.XidNotification:
		var ev jute.WatcherEvent
		if err := jute.Unmarshal(rest, cn.buf, &ev); err != nil {
			return err
		}
		cn.c.watches.dispatch(ev.Path, Event{Type: ev.Type, Path: cn.c.clientPath(ev.Path), Zxid: int64(h.Zxid)})
		return nil
	case jute.XidPing:
		if r := cn.pop(&cn.pingQ); r != nil {
			cn.c.acked(r.sentAt, 0)
			r.finish(nil)
		}
		return nil
	case jute.XidAuth:
		r := cn.pop(&cn.authQ)
		if h.Err == jute.ErrAuthFailed {
			cn.c.markAuthFailed()
		}
		if r != nil {
			r.finish(h.Err.Err())
		}
		return nil
	}
	r := cn.pop(&cn.pending)
	if r == nil || r.xid != h.Xid {
		return fmt.Errorf("reply xid %d out of order", h.Xid)
	}
	cn.c.acked(r.sentAt, int64(h.Zxid))
	err := h.Err.Err()
	if err == nil && r.resp != nil {
		if derr := jute.Unmarshal(rest, cn.buf, r.resp); derr != nil {
			r.finish(derr)
			return derr
		}
	}
	if r.onReply != nil {
		r.onReply(h.Err)
	}
	r.finish(err)
	return nil
}

// pingLoop keeps the session alive when the application is quiet.
func (cn *conn) pingLoop(every time.Duration) {
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-cn.closed:
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, cn.lastSend.Load())) >= every {
				cn.send(&request{op: jute.OpPing, done: make(chan error, 1)})
			}
		}
	}
}
