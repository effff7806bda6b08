package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// stats are the server-wide counters srvr, stat and mntr report.
type stats struct {
	packetsRecv   atomic.Int64
	packetsSent   atomic.Int64
	connections   atomic.Int64
	notifications atomic.Int64
	txns          atomic.Int64
	watchesAdded  atomic.Int64

	mu     sync.Mutex
	minLat time.Duration
	maxLat time.Duration
	sumLat time.Duration
	count  int64
}

func (s *stats) received()     { s.packetsRecv.Add(1) }
func (s *stats) sent()         { s.packetsSent.Add(1) }
func (s *stats) connOpened()   { s.connections.Add(1) }
func (s *stats) connClosed()   { s.connections.Add(-1) }
func (s *stats) notified()     { s.notifications.Add(1) }
func (s *stats) applied(n int) { s.txns.Add(int64(n)) }
func (s *stats) watchAdded()   { s.watchesAdded.Add(1) }

func (s *stats) latency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 || d < s.minLat {
		s.minLat = d
	}
	s.maxLat = max(s.maxLat, d)
	s.sumLat += d
	s.count++
}

// latencies are min/avg/max in ms, as ZooKeeper prints them.
func (s *stats) latencies() (minMs, avgMs, maxMs float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 {
		return 0, 0, 0
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return ms(s.minLat), ms(s.sumLat) / float64(s.count), ms(s.maxLat)
}

// reset is srst: latency and packet counters start over.
func (s *stats) reset() {
	s.packetsRecv.Store(0)
	s.packetsSent.Store(0)
	s.mu.Lock()
	s.minLat, s.maxLat, s.sumLat, s.count = 0, 0, 0, 0
	s.mu.Unlock()
}

// connStats are one connection's counters for cons and stat.
type connStats struct {
	mu      sync.Mutex
	recv    int64
	sent    int64
	lastOp  jute.OpCode
	lastLat time.Duration
	minLat  time.Duration
	maxLat  time.Duration
	sumLat  time.Duration
	count   int64
	est     time.Time // session established; zero before the handshake
	resp    time.Time // last reply sent
	cxid    int32     // xid of the last request read
}

// established records when the handshake finished (cons est=).
func (c *connStats) established(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.est = t
}

// request counts one request frame read from the client.
func (c *connStats) request(xid int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recv++
	if xid > 0 {
		c.cxid = xid
	}
}

func (c *connStats) replied(op jute.OpCode, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent++
	c.lastOp, c.lastLat, c.resp = op, d, time.Now()
	if c.count == 0 || d < c.minLat {
		c.minLat = d
	}
	c.maxLat = max(c.maxLat, d)
	c.sumLat += d
	c.count++
}

func (c *connStats) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recv, c.sent, c.minLat, c.maxLat, c.sumLat, c.count = 0, 0, 0, 0, 0, 0
}
