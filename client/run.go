package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// errExpired marks a handshake the server refused because the session is gone.
var errExpired = errors.New("server reports the session expired")

// run owns the connection life cycle: dial, serve until the connection
// drops, reconnect, and finally tear everything down.
func (c *Client) run() {
	defer close(c.runDone)
	backoff := c.cfg.backoffMin
	order := c.shuffled()
	for {
		if c.stopping() || c.closeSent.Load() {
			c.terminate(StateClosed, ErrClosed)
			return
		}
		if deadline, ok := c.expiryDeadline(); ok && !time.Now().Before(deadline) {
			c.terminate(StateExpired, jute.ErrSessionExpired)
			return
		}
		if len(order) == 0 {
			order = c.shuffled()
		}
		addr := order[0]
		order = order[1:]
		cn, err := c.dial(addr)
		switch {
		case errors.Is(err, errExpired):
			c.terminate(StateExpired, jute.ErrSessionExpired)
			return
		case err != nil:
			c.logf("connect %s: %v", addr, err)
			c.sleep(c.jitter(backoff))
			backoff = min(backoff*2, c.cfg.backoffMax)
			continue
		}
		backoff = c.cfg.backoffMin
		c.serve(cn)
		if c.authFailed() {
			c.terminate(StateAuthFailed, jute.ErrAuthFailed)
			return
		}
	}
}

func (c *Client) shuffled() []string {
	out := append([]string(nil), c.servers...)
	c.rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// jitter spreads reconnects of many clients over [d/2, d].
func (c *Client) jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(c.rnd.Int63n(int64(d/2)+1))
}

func (c *Client) stopping() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

func (c *Client) authFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authBad
}

// expiryDeadline is when the server may have expired the session: the
// server restarts its timer on every packet, and the newest packet we know it
// received is the newest one it answered, sent at lastAck. Declaring expiry
// at lastAck+timeout is therefore never later than the server's own expiry.
func (c *Client) expiryDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessionID == 0 {
		return time.Time{}, false
	}
	return c.lastAck.Add(c.timeout), true
}

// sleep pauses d, or less if the client closes or the session deadline comes.
func (c *Client) sleep(d time.Duration) {
	if deadline, ok := c.expiryDeadline(); ok {
		if until := time.Until(deadline); until < d {
			d = max(until, 0)
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.closing:
	}
}

// dial connects to addr and performs the handshake.
func (c *Client) dial(addr string) (*conn, error) {
	deadline := time.Now().Add(c.cfg.dialTimeout)
	if d, ok := c.expiryDeadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(c.ctx, deadline)
	defer cancel()
	nc, err := c.cfg.dialer(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(deadline)
	c.mu.Lock()
	req := &jute.ConnectRequest{
		LastZxidSeen: zxidOf(c.lastZxid), TimeOut: int32(c.cfg.sessionTimeout / time.Millisecond),
		SessionID: c.sessionID, Passwd: c.passwd, HasReadOnly: true,
	}
	c.mu.Unlock()
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	sent := time.Now()
	if _, err := nc.Write(jute.AppendFrame(nil, req)); err != nil {
		nc.Close()
		return nil, err
	}
	body, err := readFrame(nc, c.cfg.maxBuffer)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	var resp jute.ConnectResponse
	if err := jute.Unmarshal(body, c.cfg.maxBuffer, &resp); err != nil {
		nc.Close()
		return nil, err
	}
	if resp.TimeOut <= 0 || resp.SessionID == 0 {
		nc.Close()
		if req.SessionID == 0 {
			return nil, fmt.Errorf("server refused a new session")
		}
		return nil, errExpired
	}
	_ = nc.SetDeadline(time.Time{})
	c.mu.Lock()
	if c.sessionID != 0 && c.sessionID != resp.SessionID {
		// A broken server: do not adopt a session that is not ours; try
		// another member.
		c.mu.Unlock()
		nc.Close()
		return nil, fmt.Errorf("server %s answered session 0x%x for our session 0x%x", addr, resp.SessionID, c.sessionID)
	}
	c.sessionID, c.passwd = resp.SessionID, resp.Passwd
	c.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	c.lastAck = sent
	c.mu.Unlock()
	c.logf("connected to %s session=0x%x timeout=%dms", addr, resp.SessionID, resp.TimeOut)
	return &conn{c: c, nc: nc, buf: c.cfg.maxBuffer, closed: make(chan struct{}), readerDone: make(chan struct{})}, nil
}

// serve runs one established connection until it drops or the client closes.
func (c *Client) serve(cn *conn) {
	timeout := c.timeoutNow()
	go cn.readLoop(timeout * 2 / 3)
	go cn.pingLoop(timeout / 3)
	c.prime(cn)
	c.mu.Lock()
	c.cn = cn
	c.setStateLocked(StateConnected)
	c.mu.Unlock()
	select {
	case <-cn.closed:
	case <-c.closing:
		cn.fail(jute.ErrConnectionLoss, errors.New("client closing"))
	}
	<-cn.readerDone
	c.mu.Lock()
	c.cn = nil
	if !c.state.final() {
		c.setStateLocked(StateDisconnected)
	}
	c.mu.Unlock()
}

// prime re-sends credentials and watches before any user request, so the
// session is as it was before the reconnect when calls resume.
func (c *Client) prime(cn *conn) {
	c.mu.Lock()
	auth := append([]authInfo(nil), c.auth...)
	rel := c.lastZxid
	c.mu.Unlock()
	for _, a := range auth {
		cn.send(&request{op: jute.OpAuth, rec: &jute.AuthPacket{Scheme: a.scheme, Auth: a.cred}, done: make(chan error, 1)})
	}
	op, recs := c.watches.resendRecords(rel)
	for _, r := range recs {
		var rec jute.Record = r
		if op == jute.OpSetWatches {
			rec = &jute.SetWatches{RelativeZxid: r.RelativeZxid, DataWatches: r.DataWatches,
				ExistWatches: r.ExistWatches, ChildWatches: r.ChildWatches}
		}
		cn.send(&request{op: op, rec: rec, done: make(chan error, 1)})
	}
}

// terminate ends the session for good with state s and error err.
func (c *Client) terminate(s State, err error) {
	c.mu.Lock()
	cn := c.cn
	c.cn = nil
	c.finalErr = err
	c.setStateLocked(s)
	for _, sub := range c.subs {
		close(sub)
	}
	c.subs = nil
	c.mu.Unlock()
	if cn != nil {
		cn.fail(err, err)
	}
	c.cancel()
	c.watches.failAll(err)
	close(c.done)
	c.logf("session ended: %s", s)
}
