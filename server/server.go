// Package server is one zabkeeper ensemble member: the client listener
// speaking the ZooKeeper protocol, the per-connection request pipeline, the
// goroutines that drive the pure cores (tree, watch, session, zab,
// election), and the admin surfaces (four-letter words).
//
// Locks, always taken in this order:
//
//	Server.mu (RW)   the tree; Apply holds it for writing, reads for reading
//	conn.mu          a connection's pending-request FIFO and identities
//	Server.wmu       the watch manager (reads register watches under mu.RLock)
//	conn.outMu       a connection's outbound queue
//
// Apply never holds wmu while it takes a connection's lock: it asks the
// watch manager whom to notify, releases it, then notifies.
//
// A write's notifications are queued on every affected connection while
// Apply holds mu, before the write's own reply is queued, and a read queues
// its reply while still holding mu.RLock: so every client sees a watch event
// before any reply that reflects the change (protocol §7.7).
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/session"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/watch"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Version is what srvr, envi and mntr report. The build date has the exact
// form go-zookeeper's FLWSrvr parses (dd/dd/dddd dd:dd GMT).
const (
	Version   = "3.8.4-zabkeeper"
	BuildDate = "11/25/2026 00:00 GMT"
)

// Server is one ensemble member.
type Server struct {
	cfg *conf.Config
	log *zap.Logger

	mu      sync.RWMutex // guards tree
	tree    *tree.Tree
	wmu     sync.Mutex // guards watches
	watches *watch.Manager

	connsMu  sync.Mutex
	conns    map[uint64]*conn
	sessions map[int64]*conn // the connection currently holding each local session
	perIP    map[string]int
	nextConn atomic.Uint64

	smu     sync.Mutex // guards tracker and idgen
	tracker *session.Tracker
	idgen   *session.IDGen

	repl replicator
	snap *snapshotter
	// snapMu lets one snapshot run at a time (the tree keeps one).
	snapMu sync.Mutex
	stats  stats
	start  time.Time
	now    func() time.Time

	ln        net.Listener
	adminLn   net.Listener
	metricsLn net.Listener
	wg        sync.WaitGroup
	closing   chan struct{}
	closed    atomic.Bool
}

// replicator orders writes: the standalone log, or a ZAB ensemble member.
// Everything it commits comes back through Server.applyCommitted, on one
// goroutine, in zxid order.
type replicator interface {
	// submit hands a write txn to the leader; its outcome arrives through
	// applyCommitted. An error means it never will (e.g. no leader).
	submit(t *tree.Txn) error
	// sync calls done once everything committed when sync was called has
	// been applied here.
	sync(done func())
	// touch reports local sessions that showed life.
	touch(ids []int64)
	// mode names the member's role for srvr/mntr.
	mode() string
	close() error
}

// New builds a member from a validated configuration. Start opens its ports.
func New(cfg *conf.Config, log *zap.Logger) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      log,
		tree:     tree.New(),
		watches:  watch.New(),
		conns:    make(map[uint64]*conn),
		sessions: make(map[int64]*conn),
		perIP:    make(map[string]int),
		tracker:  session.NewTracker(cfg.TickTime.Milliseconds()),
		closing:  make(chan struct{}),
		now:      time.Now,
	}
	s.idgen = session.NewIDGen(cfg.MyID, s.now().UnixMilli())
	return s, nil
}

// Start recovers the stored state, joins the ensemble (or leads itself when
// standalone) and starts accepting clients.
func (s *Server) Start(ctx context.Context) error {
	s.start = s.now()
	repl, err := s.openReplicator(ctx)
	if err != nil {
		return err
	}
	s.repl = repl
	addr := net.JoinHostPort(s.cfg.ClientPortAddress, fmt.Sprint(s.cfg.ClientPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.repl.close()
		return fmt.Errorf("client port: %w", err)
	}
	s.ln = ln
	if err := s.startAdmin(); err != nil {
		// As ZooKeeper does with its AdminServer: the member serves clients
		// without it rather than not at all.
		s.log.Warn("admin server not started; clients are served without it", zap.Error(err))
	}
	s.log.Info("serving clients", zap.String("addr", ln.Addr().String()),
		zap.String("mode", s.repl.mode()), zap.Stringer("zxid", s.lastZxid()))
	s.wg.Add(2)
	go s.acceptLoop()
	go s.expiryLoop()
	return nil
}

// Addr is the client port's address (useful with clientPort=0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, closes every connection and the replicator, and
// waits for the server's goroutines.
func (s *Server) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.closing)
	if s.ln != nil {
		s.ln.Close()
	}
	s.connsMu.Lock()
	for _, c := range s.conns {
		c.close()
	}
	s.connsMu.Unlock()
	// Let the server's goroutines (connections, a snapshot in progress)
	// finish before the replicator closes the store under them.
	s.wg.Wait()
	if s.repl != nil {
		return s.repl.close()
	}
	return nil
}

func (s *Server) lastZxid() zxid.Zxid {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.LastZxid()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: slow down, keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", zap.Error(err), zap.Duration("retry", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.admit(nc)
	}
}

// admit enforces maxClientCnxns per IP, then serves the connection.
func (s *Server) admit(nc net.Conn) {
	ip := remoteIP(nc)
	s.connsMu.Lock()
	if s.cfg.MaxClientCnxns > 0 && s.perIP[ip] >= s.cfg.MaxClientCnxns {
		s.connsMu.Unlock()
		s.log.Warn("too many connections from one address", zap.String("ip", ip),
			zap.Int("maxClientCnxns", s.cfg.MaxClientCnxns))
		nc.Close()
		return
	}
	c := newConn(s, nc, s.nextConn.Add(1), ip)
	s.perIP[ip]++
	s.conns[c.id] = c
	s.connsMu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.serve()
		s.forget(c)
	}()
}

// forget drops a finished connection and its watches.
func (s *Server) forget(c *conn) {
	s.connsMu.Lock()
	delete(s.conns, c.id)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
	if sid := c.sessionID(); sid != 0 && s.sessions[sid] == c {
		delete(s.sessions, sid)
	}
	s.connsMu.Unlock()
	s.wmu.Lock()
	s.watches.RemoveWatcher(watch.WatcherID(c.id))
	s.wmu.Unlock()
}

func remoteIP(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(nc.RemoteAddr().String())
	if err != nil {
		return nc.RemoteAddr().String()
	}
	return host
}

// conn returns the live connection with id, or nil.
func (s *Server) connByID(id uint64) *conn {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	return s.conns[id]
}

// bindSession makes c the holder of session sid, closing any other
// connection that held it (a client that reconnected here).
func (s *Server) bindSession(c *conn, sid int64) {
	s.connsMu.Lock()
	old := s.sessions[sid]
	s.sessions[sid] = c
	s.connsMu.Unlock()
	if old != nil && old != c {
		s.log.Info("session moved to a new connection", zap.String("session", sessionString(sid)))
		old.close()
	}
}

// Serving reports whether the member accepts clients now.
func (s *Server) Serving() bool { return s.repl != nil && s.serving() }

// Digest is the tree's digest and the zxid it covers: equal on two members
// that applied the same txns.
func (s *Server) Digest() (zxid.Zxid, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.LastZxid(), s.tree.Digest()
}

// Mode is srvr's mode: standalone, leader, follower or looking.
func (s *Server) Mode() string { return s.repl.mode() }

// serving reports whether clients may connect: a standalone member always,
// an ensemble member while it follows or leads an established leader.
func (s *Server) serving() bool {
	switch s.repl.mode() {
	case "standalone", "leader", "follower":
		return true
	}
	return false
}

// dropClients closes every client connection (not four-letter words).
func (s *Server) dropClients(why string) {
	s.connsMu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	s.connsMu.Unlock()
	if len(cs) > 0 {
		s.log.Info("closing client connections", zap.String("why", why), zap.Int("connections", len(cs)))
	}
	for _, c := range cs {
		c.close()
	}
}

func sessionString(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }
