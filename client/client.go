// Package client is zabkeeper's Go client. It speaks the ZooKeeper client
// protocol, so it works against zabkeeper and Apache ZooKeeper alike.
//
// One TCP connection carries the session at a time; requests are pipelined
// and matched to replies in order. When the connection drops the client
// reconnects to the servers in a shuffled order with backoff, resumes the
// same session, re-sends its credentials and re-registers every watch
// (setWatches/setWatches2 from the last zxid it saw). Calls made while
// disconnected wait for the next connection, up to their context. If no
// server can be reached for the whole session timeout the client declares
// the session expired by itself, so ephemeral-based recipes learn of the loss
// no later than the server acts on it.
package client

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Client is a ZooKeeper session. It is safe for concurrent use.
type Client struct {
	cfg     config
	servers []string
	rnd     *rand.Rand // used by the run goroutine only
	watches *watches
	xid     atomic.Int32

	mu        sync.Mutex
	state     State
	cn        *conn         // set only while Connected
	changed   chan struct{} // closed and replaced on every state change
	sessionID int64
	passwd    []byte
	timeout   time.Duration // negotiated
	lastZxid  int64
	lastAck   time.Time // send time of the newest request the server answered
	auth      []authInfo
	subs      []chan State
	finalErr  error
	authBad   bool

	done      chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
	closeSent atomic.Bool // closeSession was sent: do not reconnect
	runDone   chan struct{}
	ctx       context.Context // cancelled when the client ends, stops dials
	cancel    context.CancelFunc
}

// Connect starts a client and returns once a session is established. It
// gives up, and releases everything, when ctx ends first.
func Connect(ctx context.Context, servers []string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if len(servers) == 1 {
		if s, root, err := ParseConnectString(servers[0]); err == nil {
			servers = s
			if root != "" && cfg.chroot == "" {
				cfg.chroot = root
			}
		}
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("client: no servers: %w", jute.ErrBadArguments)
	}
	if cfg.chroot != "" {
		if err := validatePath(cfg.chroot, false); err != nil {
			return nil, fmt.Errorf("client: chroot: %w", err)
		}
	}
	c := &Client{
		cfg: cfg, servers: append([]string(nil), servers...), rnd: rand.New(rand.NewSource(cfg.seed)),
		watches: newWatches(), changed: make(chan struct{}), timeout: cfg.sessionTimeout,
		auth: append([]authInfo(nil), cfg.auth...), done: make(chan struct{}),
		closing: make(chan struct{}), runDone: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	for {
		c.mu.Lock()
		st, ch, ferr := c.state, c.changed, c.finalErr
		c.mu.Unlock()
		if st == StateConnected {
			return c, nil
		}
		if st.final() {
			_ = c.Close()
			return nil, ferr
		}
		select {
		case <-ch:
		case <-ctx.Done():
			_ = c.Close()
			return nil, fmt.Errorf("client: connect to %v: %w", servers, ctx.Err())
		}
	}
}

func (c *Client) logf(format string, args ...any) {
	c.cfg.logger.Sugar().Debugf(format, args...)
}

func (c *Client) nextXid() int32 {
	for {
		x := c.xid.Add(1)
		if x > 0 {
			return x
		}
		c.xid.CompareAndSwap(x, 0) // wrapped past MaxInt32: start again at 1
	}
}

func zxidOf(z int64) zxid.Zxid { return zxid.Zxid(z) }

// timeoutNow is the negotiated session timeout.
func (c *Client) timeoutNow() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

// acked records that the server answered a request sent at sent.
func (c *Client) acked(sent time.Time, z int64) {
	c.mu.Lock()
	if sent.After(c.lastAck) {
		c.lastAck = sent
	}
	if z > c.lastZxid {
		c.lastZxid = z
	}
	c.mu.Unlock()
}

func (c *Client) markAuthFailed() {
	c.mu.Lock()
	c.authBad = true
	c.mu.Unlock()
}

// setState publishes a state change to waiters and subscribers.
// Called with c.mu held.
func (c *Client) setStateLocked(s State) {
	if c.state == s {
		return
	}
	c.state = s
	close(c.changed)
	c.changed = make(chan struct{})
	for _, sub := range c.subs {
		select {
		case sub <- s:
		default: // full: drop the oldest so the newest state always lands
			select {
			case <-sub:
			default:
			}
			sub <- s
		}
	}
}

// State is the current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// States returns a new subscription to state changes. It starts with the
// current state and is closed after a final state (Expired, AuthFailed,
// Closed). A slow reader loses the oldest states, never the newest.
func (c *Client) States() <-chan State {
	ch := make(chan State, 16)
	c.mu.Lock()
	defer c.mu.Unlock()
	ch <- c.state
	if c.state.final() {
		close(ch)
		return ch
	}
	c.subs = append(c.subs, ch)
	return ch
}

// SessionID is the session's id, 0 before the first connection.
func (c *Client) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// SessionTimeout is the timeout the server negotiated.
func (c *Client) SessionTimeout() time.Duration { return c.timeoutNow() }

// Done is closed when the session is over: expired, auth failed or closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the session ended (jute.ErrSessionExpired, jute.ErrAuthFailed
// or ErrClosed), or nil while it lives.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finalErr
}

func (c *Client) alive() bool { return !c.State().final() }

// getConn waits for a usable connection.
func (c *Client) getConn(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		st, cn, ch, ferr := c.state, c.cn, c.changed, c.finalErr
		c.mu.Unlock()
		if st.final() {
			return nil, ferr
		}
		if cn != nil && !cn.isDead() {
			return cn, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// do sends one request and waits for its reply. resp (may be nil) receives
// the body on success; onReply runs in the reader on any reply.
func (c *Client) do(ctx context.Context, op jute.OpCode, rec, resp jute.Record, onReply func(jute.Code)) error {
	cn, err := c.getConn(ctx)
	if err != nil {
		return err
	}
	req := &request{op: op, rec: rec, resp: resp, onReply: onReply, done: make(chan error, 1)}
	cn.send(req)
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends the session (closeSession), fails calls in flight, ends every
// watch and stops all goroutines. Closing twice is harmless.
func (c *Client) Close() error {
	c.mu.Lock()
	cn, st := c.cn, c.state
	c.mu.Unlock()
	if st == StateConnected && cn != nil {
		// From here on a dropped connection means closed: the server
		// closes the socket right after answering closeSession.
		c.closeSent.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), c.timeoutNow()/2)
		req := &request{op: jute.OpCloseSession, done: make(chan error, 1)}
		cn.send(req)
		select {
		case <-req.done:
		case <-ctx.Done():
		}
		cancel()
	}
	c.closeOnce.Do(func() { close(c.closing) })
	<-c.runDone
	return nil
}

// Server is the address of the member the client is connected to, or ""
// while it is disconnected.
func (c *Client) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cn == nil {
		return ""
	}
	return c.cn.nc.RemoteAddr().String()
}
