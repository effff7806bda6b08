package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// maxOutstanding bounds a connection's pipelined requests; the reader stops
// reading (TCP pushes back on the client) until replies drain.
const maxOutstanding = 1000

// conn is one client TCP connection and, once the handshake is done, the
// session it carries.
type conn struct {
	s   *Server
	nc  net.Conn
	id  uint64
	ip  string
	log *zap.Logger

	mu      sync.Mutex
	sid     int64
	timeout time.Duration
	ids     []jute.Id  // identities: ip, digest..., super
	pending []*request // FIFO of requests whose replies are not out yet
	slots   chan struct{}
	closed  bool

	outMu  sync.Mutex
	out    [][]byte
	wake   chan struct{}
	done   chan struct{}
	closer sync.Once

	// handshake of a new session: closed when createSession is applied.
	created chan error

	stats connStats
}

// request is one entry of a connection's FIFO. A local request (reads,
// watch and auth bookkeeping) runs when it reaches the head; a write or sync
// waits for the replicator to complete it.
type request struct {
	xid     int32
	op      jute.OpCode
	local   func() []byte // nil for writes and syncs
	done    bool
	reply   []byte
	closeAf bool // close the connection once the reply is out (closeSession, bad op)
	started time.Time
}

func newConn(s *Server, nc net.Conn, id uint64, ip string) *conn {
	return &conn{
		s:     s,
		nc:    nc,
		id:    id,
		ip:    ip,
		log:   s.log.With(zap.Uint64("conn", id), zap.String("remote", nc.RemoteAddr().String())),
		ids:   []jute.Id{{Scheme: "ip", ID: ip}},
		slots: make(chan struct{}, maxOutstanding),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

func (c *conn) sessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sid
}

// identities is a copy of the connection's auth ids, safe to keep in a txn.
func (c *conn) identities() []jute.Id {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]jute.Id(nil), c.ids...)
}

func (c *conn) close() {
	c.closer.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// serve runs the connection: a writer goroutine drains the outbound queue
// while this goroutine reads and dispatches frames.
func (c *conn) serve() {
	c.s.stats.connOpened()
	defer c.s.stats.connClosed()
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		c.writeLoop()
	}()
	defer func() {
		// Let the writer flush what is queued (an error reply, a 4lw
		// answer), then close; a stuck peer gets a second at most.
		c.send(nil)
		select {
		case <-writer:
		case <-time.After(time.Second):
		}
		c.close()
		<-writer
	}()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	if !c.handshake(r) {
		return
	}
	for {
		body, err := c.readFrame(r)
		if err != nil {
			c.logReadError(err)
			return
		}
		if !c.dispatch(body) {
			return
		}
	}
}

func (c *conn) logReadError(err error) {
	select {
	case <-c.done:
		return
	default:
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		c.log.Debug("client closed the connection")
		return
	}
	c.log.Info("closing connection", zap.Error(err))
}

// readFrame reads one length-prefixed frame, enforcing jute.maxbuffer.
func (c *conn) readFrame(r *bufio.Reader) ([]byte, error) {
	if c.timeout > 0 {
		// A client pings every timeout/3; silence for a whole timeout means
		// the peer is gone even if TCP has not noticed.
		c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	}
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, err
	}
	n := jute.DecodeLength(lb)
	if n < 0 || int(n) > c.s.cfg.JuteMaxBuffer {
		return nil, fmt.Errorf("frame length %d outside 0..%d (jute.maxbuffer)", n, c.s.cfg.JuteMaxBuffer)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("client vanished mid-frame: %w", err)
	}
	c.s.stats.received()
	return body, nil
}

// handshake answers a four-letter word, or reads the ConnectRequest and
// establishes (or resumes) the session. It reports whether to go on.
func (c *conn) handshake(r *bufio.Reader) bool {
	c.nc.SetReadDeadline(time.Now().Add(2 * c.s.cfg.TickTime * time.Duration(max(c.s.cfg.InitLimit, 1))))
	first, err := r.Peek(4)
	if err != nil {
		return false
	}
	if cmd, ok := jute.FourLetterWord(first); ok {
		r.Discard(4)
		c.fourLetterWord(cmd, r)
		return false
	}
	body, err := c.readFrame(r)
	if err != nil {
		c.log.Info("bad connect frame", zap.Error(err))
		return false
	}
	var req jute.ConnectRequest
	if err := jute.Unmarshal(body, c.s.cfg.JuteMaxBuffer, &req); err != nil {
		c.log.Info("malformed ConnectRequest", zap.Error(err))
		return false
	}
	return c.connect(&req)
}

// connect implements protocol §2.4 for one ConnectRequest.
func (c *conn) connect(req *jute.ConnectRequest) bool {
	s := c.s
	if !s.serving() {
		c.log.Info("refusing a client: this member is not serving", zap.String("mode", s.repl.mode()))
		return false
	}
	if last := s.lastZxid(); req.LastZxidSeen > last {
		c.log.Info("client has seen a newer zxid than this server; it must try another server",
			zap.Stringer("clientZxid", req.LastZxidSeen), zap.Stringer("serverZxid", last))
		return false
	}
	timeout := s.negotiate(req.TimeOut)
	resp := jute.ConnectResponse{HasReadOnly: req.HasReadOnly}
	if req.SessionID == 0 {
		sid, err := s.createSession(c, timeout)
		if err != nil {
			c.log.Info("session not created", zap.Error(err))
			return false
		}
		resp.SessionID, resp.TimeOut, resp.Passwd = sid, timeout, sessionPassword(sid)
	} else if !s.confirmLeader(time.Duration(timeout) * time.Millisecond) {
		// Do not call the session expired on this member's word alone: a
		// member that cannot reach its leader lets the client try another.
		c.log.Info("cannot confirm a resumed session with the leader; the client must try another member",
			zap.String("session", sessionString(req.SessionID)))
		return false
	} else if s.resumeSession(c, req.SessionID, req.Passwd, timeout) {
		resp.SessionID, resp.TimeOut, resp.Passwd = req.SessionID, timeout, sessionPassword(req.SessionID)
	} else {
		resp.Passwd = make([]byte, 16)
		c.log.Info("session expired or password wrong", zap.String("session", sessionString(req.SessionID)))
		c.send(jute.AppendFrame(nil, &resp))
		c.flushAndClose()
		return false
	}
	c.mu.Lock()
	c.sid = resp.SessionID
	c.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	c.mu.Unlock()
	s.bindSession(c, resp.SessionID)
	c.log = c.log.With(zap.String("session", sessionString(resp.SessionID)))
	c.stats.established(time.Now())
	c.send(jute.AppendFrame(nil, &resp))
	return true
}

// flushAndClose lets the writer send what is queued, then closes.
func (c *conn) flushAndClose() {
	c.send(nil)
}

// dispatch handles one request frame; false ends the connection.
func (c *conn) dispatch(body []byte) bool {
	hdr, rec, err := jute.DecodeRequest(body, c.s.cfg.JuteMaxBuffer)
	c.s.touch(c)
	c.stats.request(hdr.Xid)
	switch {
	case errors.Is(err, jute.ErrUnimplemented):
		c.log.Info("unimplemented opcode; closing", zap.Int32("op", int32(hdr.Type)))
		c.reject(hdr, jute.ErrUnimplemented)
		return false
	case err != nil:
		c.log.Info("malformed request; closing", zap.Stringer("op", hdr.Type), zap.Error(err))
		c.reject(hdr, jute.ErrMarshallingError)
		return false
	}
	if hdr.Type == jute.OpPing {
		// Pings skip the FIFO so that a busy pipeline never looks like a
		// dead server (clients match ping replies by xid -2).
		c.send(replyFrame(hdr.Xid, c.s.lastZxid(), jute.OK, nil))
		return true
	}
	if !c.acquireSlot() {
		return false
	}
	if !c.s.handle(c, hdr, rec) {
		return false
	}
	if hdr.Type == jute.OpCloseSession {
		// Nothing after closeSession is read: the reply closes the
		// connection once the close is applied.
		select {
		case <-c.done:
		case <-time.After(max(c.timeout, time.Second)):
		}
		return false
	}
	return true
}

// acquireSlot waits for room in the pipeline (maxOutstanding requests);
// false if the connection closed meanwhile.
func (c *conn) acquireSlot() bool {
	select {
	case c.slots <- struct{}{}:
		return true
	case <-c.done:
		return false
	}
}

// reject answers one request with an error code after everything before it,
// then closes the connection.
func (c *conn) reject(hdr jute.RequestHeader, code jute.Code) {
	if !c.acquireSlot() {
		return
	}
	c.enqueueLocal(&request{xid: hdr.Xid, op: hdr.Type, closeAf: true, local: func() []byte {
		return replyFrame(hdr.Xid, c.s.tree.LastZxid(), code, nil)
	}})
}

// enqueueLocal queues a local request and runs it at once if it is at the
// head. Callers hold no lock; the tree is read-locked around the run.
func (c *conn) enqueueLocal(r *request) {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	r.started = time.Now()
	c.pending = append(c.pending, r)
	c.advanceLocked()
}

// enqueueWrite queues a request that something else completes.
func (c *conn) enqueueWrite(r *request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.started = time.Now()
	c.pending = append(c.pending, r)
}

// complete finishes the oldest pending write or sync with this xid and
// sends every reply that is now at the head. The tree lock is held by the
// caller (for writing when called from apply).
func (c *conn) complete(xid int32, reply []byte, closeAfter bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.pending {
		if r.local == nil && !r.done && r.xid == xid {
			r.done, r.reply = true, reply
			r.closeAf = r.closeAf || closeAfter
			c.advanceLocked()
			return
		}
	}
	c.log.Debug("completion for an unknown request", zap.Int32("xid", xid))
}

// advanceLocked sends replies from the head of the FIFO for as long as they
// are ready, running local requests as they reach the head.
func (c *conn) advanceLocked() {
	for len(c.pending) > 0 {
		r := c.pending[0]
		if r.local != nil {
			r.reply, r.done, r.local = r.local(), true, nil
		}
		if !r.done {
			return
		}
		c.pending[0] = nil
		c.pending = c.pending[1:]
		<-c.slots
		c.stats.replied(r.op, time.Since(r.started))
		c.s.stats.latency(time.Since(r.started))
		c.send(r.reply)
		if r.closeAf {
			c.send(nil)
		}
	}
}

// send queues one frame; a nil frame means "close after what is queued".
func (c *conn) send(frame []byte) {
	c.outMu.Lock()
	c.out = append(c.out, frame)
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) writeLoop() {
	w := bufio.NewWriterSize(c.nc, 64<<10)
	var batch [][]byte
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.outMu.Lock()
		batch, c.out = c.out, batch[:0]
		c.outMu.Unlock()
		for _, f := range batch {
			if f == nil {
				w.Flush()
				c.close()
				return
			}
			c.s.stats.sent()
			if _, err := w.Write(f); err != nil {
				c.close()
				return
			}
		}
		clear(batch)
		if err := w.Flush(); err != nil {
			c.close()
			return
		}
	}
}

// replyFrame builds ReplyHeader + optional body as one frame.
func replyFrame(xid int32, z zxid.Zxid, code jute.Code, body jute.Record) []byte {
	h := jute.ReplyHeader{Xid: xid, Zxid: z, Err: code}
	if code != jute.OK {
		body = nil // clients read a body only when err == 0 (§3.4)
	}
	return jute.AppendFrame(nil, &h, body)
}

// notify queues a watch notification. Called with the tree locked.
// z is the firing txn's zxid, or -1 for catch-up events of setWatches.
func (c *conn) notify(t jute.EventType, path string, z zxid.Zxid) {
	c.s.stats.notified()
	h := jute.ReplyHeader{Xid: jute.XidNotification, Zxid: z}
	ev := jute.WatcherEvent{Type: t, State: jute.StateSyncConnected, Path: path}
	c.send(jute.AppendFrame(nil, &h, &ev))
}

// canRead reports whether this connection may see an event on a node with
// this ACL (ZOOKEEPER-4799: notifications only for readable paths).
func (c *conn) canRead(acl []jute.ACL) bool {
	if c.s.cfg.SkipACL {
		return true
	}
	c.mu.Lock()
	ids := c.ids
	c.mu.Unlock()
	return c.s.tree.CheckPerm(acl, jute.PermRead, ids) == nil
}
