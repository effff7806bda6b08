package server

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/session"
	"github.com/zabkeeper/zabkeeper/tree"
)

// negotiate clamps a requested session timeout into [min, max] (§2.5).
func (s *Server) negotiate(requested int32) int32 {
	return session.Negotiate(requested, int32(s.cfg.MinSessionTimeout.Milliseconds()),
		int32(s.cfg.MaxSessionTimeout.Milliseconds()))
}

func sessionPassword(id int64) []byte { return session.Password(id) }

// createSession runs a createSession txn for a new client and waits for it
// to be applied: the client gets its ConnectResponse only then (§2.4).
func (s *Server) createSession(c *conn, timeout int32) (int64, error) {
	s.smu.Lock()
	sid := s.idgen.Next()
	s.smu.Unlock()
	c.created = make(chan error, 1)
	t := &tree.Txn{Session: sid, Origin: s.origin(c), Op: tree.Op{Type: jute.OpCreateSession, Timeout: timeout}}
	if err := s.repl.submit(t); err != nil {
		return 0, err
	}
	wait := time.NewTimer(s.cfg.TickTime * time.Duration(max(s.cfg.InitLimit, 1)))
	defer wait.Stop()
	select {
	case err := <-c.created:
		return sid, err
	case <-c.done:
		return 0, fmt.Errorf("connection closed while creating session %s", sessionString(sid))
	case <-wait.C:
		return 0, fmt.Errorf("session %s not committed in time", sessionString(sid))
	}
}

// confirmLeader is ZooKeeper's session revalidation on a reconnect: a
// follower makes a round trip to its leader (a sync) and applies what the
// leader had committed, so a session the leader closed is not resumed here,
// and a follower that lost its leader without noticing yet does not take
// the client. The leader and a standalone member decide alone.
func (s *Server) confirmLeader(timeout time.Duration) bool {
	if s.repl.mode() != "follower" {
		return true
	}
	done := make(chan struct{})
	s.repl.sync(func() { close(done) })
	t := time.NewTimer(min(max(timeout/2, time.Second), 5*time.Second))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	case <-s.closing:
		return false
	}
}

// resumeSession accepts a reconnect when the session is alive and the
// password is the one ZooKeeper would have issued. The member that decides
// expiry also refuses a session whose expiry it already started.
func (s *Server) resumeSession(c *conn, sid int64, passwd []byte, timeout int32) bool {
	s.mu.RLock()
	_, ok := s.tree.Session(sid)
	s.mu.RUnlock()
	if !ok || !session.CheckPassword(sid, passwd) {
		return false
	}
	if s.decides() {
		s.smu.Lock()
		alive := s.tracker.Touch(sid, s.now().UnixMilli())
		s.smu.Unlock()
		return alive
	}
	s.repl.touch([]int64{sid})
	return true
}

// touch records that a connection's session showed life.
func (s *Server) touch(c *conn) {
	if sid := c.sessionID(); sid != 0 {
		s.repl.touch([]int64{sid})
	}
}

// trackTouch pushes back the expiry of sessions (on the member that
// decides expiry: the leader, or a standalone server).
func (s *Server) trackTouch(ids []int64) {
	now := s.now().UnixMilli()
	s.smu.Lock()
	defer s.smu.Unlock()
	for _, id := range ids {
		s.tracker.Touch(id, now)
	}
}

func (s *Server) sessionCreated(id int64, timeout int32) {
	s.smu.Lock()
	s.tracker.Add(id, timeout, s.now().UnixMilli())
	s.smu.Unlock()
}

func (s *Server) sessionClosed(id int64) {
	s.smu.Lock()
	s.tracker.Remove(id)
	s.smu.Unlock()
}

// resetTracker restarts every session's clock from the replicated session
// table: a new leader gives every session a full timeout, as ZooKeeper does.
func (s *Server) resetTracker() {
	s.mu.RLock()
	all := s.tree.Sessions()
	s.mu.RUnlock()
	now := s.now().UnixMilli()
	s.smu.Lock()
	defer s.smu.Unlock()
	s.tracker = session.NewTracker(s.cfg.TickTime.Milliseconds())
	for _, si := range all {
		s.tracker.Add(si.ID, si.Timeout, now)
	}
}

// expiryLoop expires sessions and reaps containers and TTL nodes, each
// through a txn, while this member decides for the ensemble.
func (s *Server) expiryLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.TickTime)
	defer tick.Stop()
	lastReap := s.now()
	for {
		select {
		case <-s.closing:
			return
		case <-tick.C:
		}
		if !s.decides() {
			continue
		}
		s.expireSessions()
		if s.now().Sub(lastReap) >= s.cfg.ContainerCheckInterval {
			lastReap = s.now()
			s.reap()
		}
	}
}

// decides reports whether this member runs expiry and reaping.
func (s *Server) decides() bool {
	m := s.repl.mode()
	return m == "leader" || m == "standalone"
}

func (s *Server) expireSessions() {
	s.smu.Lock()
	expired := s.tracker.Expired(s.now().UnixMilli())
	s.smu.Unlock()
	for _, id := range expired {
		s.log.Info("session expired", zap.String("session", sessionString(id)))
		t := &tree.Txn{Session: id, Op: tree.Op{Type: jute.OpCloseSession}}
		if err := s.repl.submit(t); err != nil {
			s.log.Warn("could not expire session", zap.String("session", sessionString(id)), zap.Error(err))
		}
	}
}

// reap deletes empty containers and expired TTL nodes (§11.4, §11.5).
func (s *Server) reap() {
	s.mu.RLock()
	paths := s.tree.ReapCandidates(s.now().UnixMilli(), 10000)
	s.mu.RUnlock()
	for _, p := range paths {
		t := &tree.Txn{Op: tree.Op{Type: jute.OpDeleteContainer, Path: p}}
		if err := s.repl.submit(t); err != nil {
			return
		}
	}
}

// auth handles an auth packet in FIFO order (kazoo credits auth replies to
// the head of its queue). Unknown schemes fail the connection (§9.5).
func (s *Server) auth(c *conn, h jute.RequestHeader, r *jute.AuthPacket) bool {
	var add []jute.Id
	switch r.Scheme {
	case "digest":
		id := jute.DigestCredential(string(r.Auth))
		add = append(add, jute.Id{Scheme: "digest", ID: id})
		if s.cfg.SuperDigest != "" && id == s.cfg.SuperDigest {
			add = append(add, superIDs...)
		}
	case "ip":
		// The ip id is added on every connection already.
	default:
		c.log.Info("auth with an unknown scheme; closing", zap.String("scheme", r.Scheme))
		c.enqueueLocal(&request{xid: h.Xid, op: h.Type, closeAf: true, local: func() []byte {
			return replyFrame(h.Xid, 0, jute.ErrAuthFailed, nil)
		}})
		return false
	}
	c.enqueueLocal(&request{xid: h.Xid, op: h.Type, local: func() []byte {
		for _, id := range add {
			if !hasID(c.ids, id) {
				c.ids = append(c.ids, id)
			}
		}
		return replyFrame(h.Xid, 0, jute.OK, nil) // auth replies carry zxid 0 (§3.3)
	}})
	return true
}

func hasID(ids []jute.Id, id jute.Id) bool {
	for _, have := range ids {
		if have == id {
			return true
		}
	}
	return false
}

// syncRequest answers sync once this member has applied everything the
// leader had committed when the sync reached it (§11.2).
func (s *Server) syncRequest(c *conn, h jute.RequestHeader, r *jute.SyncRequest) {
	c.enqueueWrite(&request{xid: h.Xid, op: h.Type})
	s.repl.sync(func() {
		s.mu.RLock()
		defer s.mu.RUnlock()
		c.complete(h.Xid, replyFrame(h.Xid, s.tree.LastZxid(), jute.OK, &jute.SyncResponse{Path: r.Path}), false)
	})
}
