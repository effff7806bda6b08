package bench

import (
	"errors"
	"math/rand"
	"strconv"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkeeper/zabkeeper/jute"
)

// gozkWorkers are Inflight goroutines sharing one go-zookeeper session:
// go-zk pipelines concurrent calls on a connection, one request per
// calling goroutine.
func (r *runner) gozkWorkers(i int) []func() *stats {
	n := len(r.cfg.Servers)
	ordered := make([]string, n)
	for k := range ordered {
		ordered[k] = r.cfg.Servers[(i+k)%n]
	}
	conn, _, err := zk.Connect(ordered, r.cfg.SessionTimeout, zk.WithHostProvider(&inOrder{}),
		zk.WithLogger(quiet{}))
	if err != nil {
		st := newStats()
		st.errs["connect failed"]++
		return []func() *stats{func() *stats { return st }}
	}
	done := make(chan struct{})
	var ws []func() *stats
	for k := 0; k < r.cfg.Inflight; k++ {
		rnd := rand.New(rand.NewSource(r.cfg.Seed + int64(i*r.cfg.Inflight+k)))
		ws = append(ws, func() *stats {
			st := r.gozkLoop(conn, rnd, strconv.Itoa(i)+"."+strconv.Itoa(k))
			done <- struct{}{}
			return st
		})
	}
	// The connection closes once every goroutine on it has stopped.
	go func() {
		for range r.cfg.Inflight {
			<-done
		}
		conn.Close()
	}()
	return ws
}

// gozkLoop issues one synchronous request after another until the run stops.
func (r *runner) gozkLoop(conn *zk.Conn, rnd *rand.Rand, name string) *stats {
	st := newStats()
	seq := 0
	for r.phase.Load() != phaseStop {
		measured := r.phase.Load() == phaseMeasure
		sent := r.now()
		var err error
		write := true
		switch {
		case r.cfg.Workload == Create:
			seq++
			_, err = conn.Create(r.createDir()+"/"+name+"-"+strconv.Itoa(seq), r.value, 0, zk.WorldACL(zk.PermAll))
		case r.cfg.Workload == Get || (r.cfg.Workload == Mixed && rnd.Float64() < r.cfg.ReadRatio):
			write = false
			_, _, err = conn.Get(r.keyPath(rnd.Intn(r.cfg.Keys)))
		default:
			_, err = conn.Set(r.keyPath(rnd.Intn(r.cfg.Keys)), r.value, -1)
		}
		code := jute.OK
		if err != nil {
			code = gozkCode(err)
		}
		st.finish(r, measured, write, sent, r.now(), code)
		if err != nil && code == jute.ErrConnectionLoss {
			time.Sleep(time.Millisecond) // go-zk is reconnecting
		}
	}
	return st
}

// gozkCode maps go-zk's errors to ZooKeeper codes for the error table.
func gozkCode(err error) jute.Code {
	for code, e := range map[jute.Code]error{jute.ErrNoNode: zk.ErrNoNode, jute.ErrNodeExists: zk.ErrNodeExists,
		jute.ErrBadVersion: zk.ErrBadVersion, jute.ErrSessionExpired: zk.ErrSessionExpired,
		jute.ErrSessionMoved: zk.ErrSessionMoved, jute.ErrNoAuth: zk.ErrNoAuth} {
		if errors.Is(err, e) {
			return code
		}
	}
	return jute.ErrConnectionLoss
}

// inOrder is a go-zk HostProvider that tries servers in the given order,
// so connection i starts on server i mod n as the raw client does.
type inOrder struct {
	servers []string
	next    int
	tried   int
}

func (h *inOrder) Init(servers []string) error { h.servers = servers; return nil }
func (h *inOrder) Len() int                    { return len(h.servers) }
func (h *inOrder) Connected()                  { h.tried = 0 }
func (h *inOrder) Next() (string, bool) {
	s := h.servers[h.next]
	h.next = (h.next + 1) % len(h.servers)
	h.tried++
	retry := h.tried > len(h.servers)
	if retry {
		h.tried = 1
	}
	return s, retry
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
