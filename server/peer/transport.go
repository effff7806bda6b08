// Package peer carries messages between ensemble members over TCP: one
// connection per pair of members, msgpack bodies in length-prefixed frames,
// FIFO per connection. A server runs one Transport for the election port and
// one for the quorum (ZAB) port.
//
// Delivery is best effort. Messages queued for a peer are lost when its
// connection breaks or its queue overflows; Broken then reports the peer, so
// a protocol that relies on FIFO links (ZAB) knows to re-sync, and one that
// resends (election) can ignore it.
package peer

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Options tune a Transport; zero values take the defaults.
type Options struct {
	Logger           *zap.Logger   // default: no logging
	MaxFrame         int           // largest frame body sent or accepted; default 64 MiB
	QueueLen         int           // messages queued per peer before its link is dropped; default 4096
	RecvBuffer       int           // received messages buffered before readers wait; default 4096
	DialTimeout      time.Duration // default 1 s
	WriteTimeout     time.Duration // a write stuck this long drops the link; default 10 s
	HandshakeTimeout time.Duration // default 5 s
	BackoffMin       time.Duration // first re-dial delay, doubling up to BackoffMax; default 20 ms
	BackoffMax       time.Duration // default 1 s
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxFrame, 64<<20)
	def(&o.QueueLen, 4096)
	def(&o.RecvBuffer, 4096)
	defDur(&o.DialTimeout, time.Second)
	defDur(&o.WriteTimeout, 10*time.Second)
	defDur(&o.HandshakeTimeout, 5*time.Second)
	defDur(&o.BackoffMin, 20*time.Millisecond)
	defDur(&o.BackoffMax, time.Second)
}

// Envelope is a received message and the member that sent it.
type Envelope[M any] struct {
	From int64
	Msg  M
}

// Transport connects this member to its peers. Of each pair, the member with
// the higher id dials (ZooKeeper's rule), so there is one connection per pair
// and both directions share it; the dialler keeps re-dialling with backoff
// while the pair is apart.
type Transport[M any] struct {
	self   int64
	opts   Options
	log    *zap.Logger
	ln     net.Listener
	links  map[int64]*link[M]
	recv   chan Envelope[M]
	broken chan int64 // to the user
	breaks chan int64 // from the links to the coalescing goroutine

	ctx    context.Context // cancelled by Close; also stops dials
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu      sync.Mutex
	pending map[net.Conn]struct{} // accepted, handshake not read yet
}

// Listen listens on addr as member self and starts linking to peers (id to
// "host:port"; self, if present, is skipped).
func Listen[M any](addr string, self int64, peers map[int64]string, opts Options) (*Transport[M], error) {
	opts.setDefaults()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport[M]{
		self: self, opts: opts, log: opts.Logger.With(zap.Int64("self", self)), ln: ln,
		links: map[int64]*link[M]{}, recv: make(chan Envelope[M], opts.RecvBuffer),
		broken: make(chan int64), breaks: make(chan int64, len(peers)+1),
		ctx: ctx, cancel: cancel, pending: map[net.Conn]struct{}{},
	}
	for id, a := range peers {
		if id == self {
			continue
		}
		t.links[id] = &link[M]{t: t, id: id, addr: a, dials: self > id,
			q: make(chan M, opts.QueueLen), incoming: make(chan net.Conn, 1), overflow: make(chan struct{}, 1)}
	}
	t.wg.Add(2 + len(t.links))
	go t.acceptLoop()
	go t.reportBreaks()
	for _, l := range t.links {
		go l.run()
	}
	return t, nil
}

// Addr is the listening address (useful with port 0).
func (t *Transport[M]) Addr() net.Addr { return t.ln.Addr() }

// Recv delivers received messages, in order per connection. It is closed
// by Close.
func (t *Transport[M]) Recv() <-chan Envelope[M] { return t.recv }

// Broken reports a peer whose link lost continuity: messages to or from it
// since the previous report may have been lost. Reports for one peer are
// coalesced while unread, so an unread Broken never stalls the transport.
// It is closed by Close.
func (t *Transport[M]) Broken() <-chan int64 { return t.broken }

// Send queues m for peer to without blocking. A message for an unknown peer
// is dropped; a full queue drops the link (reported on Broken).
func (t *Transport[M]) Send(to int64, m M) {
	l := t.links[to]
	if l == nil || t.ctx.Err() != nil {
		t.log.Debug("peer: dropping message for unknown peer or after close", zap.Int64("to", to))
		return
	}
	select {
	case l.q <- m:
	default:
		select {
		case l.overflow <- struct{}{}:
		default:
		}
	}
}

// Close stops every goroutine and closes every connection, then closes
// Recv and Broken.
func (t *Transport[M]) Close() error {
	var err error
	t.once.Do(func() {
		t.cancel()
		err = t.ln.Close()
		t.mu.Lock()
		for c := range t.pending {
			c.Close()
		}
		t.mu.Unlock()
		t.wg.Wait()
		for _, l := range t.links {
			// A connection handed over just as the link stopped.
			select {
			case c := <-l.incoming:
				c.Close()
			default:
			}
		}
		close(t.recv)
		close(t.broken)
	})
	return err
}

func (t *Transport[M]) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() == nil {
				t.log.Error("peer: accept failed; no more incoming links", zap.Error(err))
			}
			return
		}
		t.mu.Lock()
		if t.ctx.Err() != nil {
			t.mu.Unlock()
			c.Close()
			return
		}
		t.pending[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.greet(c)
	}
}

// greet reads the handshake of an accepted connection and hands it to the
// link of the peer it names.
func (t *Transport[M]) greet(c net.Conn) {
	defer t.wg.Done()
	c.SetReadDeadline(time.Now().Add(t.opts.HandshakeTimeout))
	id, err := readHandshake(c)
	t.mu.Lock()
	delete(t.pending, c)
	t.mu.Unlock()
	l := t.links[id]
	switch {
	case err != nil:
		t.log.Warn("peer: bad handshake", zap.Stringer("remote", c.RemoteAddr()), zap.Error(err))
	case l == nil || l.dials:
		// Unknown, or a lower id that should wait for us to dial it.
		t.log.Warn("peer: connection from a member that should not dial us",
			zap.Int64("peer", id), zap.Stringer("remote", c.RemoteAddr()))
	default:
		c.SetReadDeadline(time.Time{})
		select {
		case l.incoming <- c:
			return
		case <-t.ctx.Done():
		}
	}
	c.Close()
}

// reportBreaks coalesces break reports per peer until the user reads them.
func (t *Transport[M]) reportBreaks() {
	defer t.wg.Done()
	var order []int64
	queued := map[int64]bool{}
	for {
		var out chan int64
		var first int64
		if len(order) > 0 {
			out, first = t.broken, order[0]
		}
		select {
		case id := <-t.breaks:
			if !queued[id] {
				queued[id] = true
				order = append(order, id)
			}
		case out <- first:
			delete(queued, first)
			order = order[1:]
		case <-t.ctx.Done():
			return
		}
	}
}

// link is the connection to one peer and its send queue; its goroutine
// owns the connection.
type link[M any] struct {
	t        *Transport[M]
	id       int64
	addr     string
	dials    bool
	q        chan M
	incoming chan net.Conn
	overflow chan struct{}
}

func (l *link[M]) run() {
	defer l.t.wg.Done()
	var next net.Conn
	for {
		c := next
		if c == nil {
			if c = l.connect(); c == nil {
				return
			}
		}
		next = l.serve(c)
		if l.t.ctx.Err() != nil {
			if next != nil {
				next.Close()
			}
			return
		}
		l.lost()
	}
}

// lost throws away what was queued for the broken link and reports it.
func (l *link[M]) lost() {
drain:
	for {
		select {
		case <-l.q:
		case <-l.overflow:
		default:
			break drain
		}
	}
	select {
	case l.t.breaks <- l.id:
	case <-l.t.ctx.Done():
	}
}

// connect returns the next connection to the peer: dialled by us, or
// accepted from it; nil once the transport closes. A queue overflow while
// apart counts as a break.
func (l *link[M]) connect() net.Conn {
	backoff := l.t.opts.BackoffMin
	for {
		if l.dials && l.addr != "" {
			if c := l.dial(); c != nil {
				return c
			}
		}
		if c := l.wait(backoff); c != nil || l.t.ctx.Err() != nil {
			return c
		}
		backoff = min(2*backoff, l.t.opts.BackoffMax)
	}
}

// wait waits for the peer to connect to us, or, when we dial, for the
// backoff to pass.
func (l *link[M]) wait(backoff time.Duration) net.Conn {
	var timeout <-chan time.Time
	if l.dials {
		timer := time.NewTimer(backoff)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case c := <-l.incoming:
		return c
	case <-l.overflow:
		l.t.log.Warn("peer: send queue overflowed while disconnected", zap.Int64("peer", l.id))
		l.lost()
	case <-timeout:
	case <-l.t.ctx.Done():
	}
	return nil
}

func (l *link[M]) dial() net.Conn {
	d := net.Dialer{Timeout: l.t.opts.DialTimeout}
	c, err := d.DialContext(l.t.ctx, "tcp", l.addr)
	if err != nil {
		l.t.log.Debug("peer: dial failed", zap.Int64("peer", l.id), zap.String("addr", l.addr), zap.Error(err))
		return nil
	}
	c.SetWriteDeadline(time.Now().Add(l.t.opts.WriteTimeout))
	if _, err := c.Write(handshake(l.t.self)); err != nil {
		l.t.log.Debug("peer: handshake failed", zap.Int64("peer", l.id), zap.Error(err))
		c.Close()
		return nil
	}
	l.t.log.Debug("peer: connected", zap.Int64("peer", l.id))
	return c
}

// serve runs one connection until it breaks, the transport closes, or the
// peer connects again; it returns the newer connection in that last case.
func (l *link[M]) serve(c net.Conn) (next net.Conn) {
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		l.read(c, stop, readErr)
	}()
	defer func() {
		// Wait for the reader, so every message of this connection is
		// delivered before any of the next one.
		close(stop)
		c.Close()
		<-readDone
	}()
	bw := bufio.NewWriterSize(c, 64<<10)
	enc := newEncoder()
	for {
		select {
		case m := <-l.q:
			if err := l.write(c, bw, enc, m); err != nil {
				l.t.log.Warn("peer: write failed; dropping link", zap.Int64("peer", l.id), zap.Error(err))
				return nil
			}
		case err := <-readErr:
			l.t.log.Info("peer: link closed", zap.Int64("peer", l.id), zap.Error(err))
			return nil
		case nc := <-l.incoming:
			l.t.log.Info("peer: peer reconnected; replacing link", zap.Int64("peer", l.id))
			return nc
		case <-l.overflow:
			l.t.log.Warn("peer: send queue overflowed; dropping link", zap.Int64("peer", l.id))
			return nil
		case <-l.t.ctx.Done():
			return nil
		}
	}
}

// write sends m and whatever else is queued as one batch, then flushes.
func (l *link[M]) write(c net.Conn, bw *bufio.Writer, enc *encoder, m M) error {
	c.SetWriteDeadline(time.Now().Add(l.t.opts.WriteTimeout))
	for {
		if err := enc.writeFrame(bw, m, l.t.opts.MaxFrame); err != nil {
			return err
		}
		select {
		case m = <-l.q:
			continue
		default:
		}
		return bw.Flush()
	}
}

// read delivers the connection's messages in order until it fails or stop
// is closed.
func (l *link[M]) read(c net.Conn, stop <-chan struct{}, errc chan<- error) {
	d := newDecoder(bufio.NewReaderSize(c, 64<<10), l.t.opts.MaxFrame)
	for {
		var m M
		if err := d.next(&m); err != nil {
			select {
			case <-stop:
			default:
				errc <- err
			}
			return
		}
		select {
		case l.t.recv <- Envelope[M]{From: l.id, Msg: m}:
		case <-stop:
			return
		case <-l.t.ctx.Done():
			return
		}
	}
}
