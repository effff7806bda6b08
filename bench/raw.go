package bench

import (
	"errors"
	"math/rand"
	"net"
	"strconv"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// rawWorker drives one connection with the built-in client: it keeps
// Inflight requests outstanding, sends the next request as each reply
// arrives and flushes once per batch of buffered replies, so a busy
// connection costs about one write syscall per read syscall.
type rawWorker struct {
	r    *runner
	id   int
	st   *stats
	rnd  *rand.Rand
	seq  int
	fifo []pending // outstanding requests, oldest first
	head int

	setReq    jute.SetDataRequest
	getReq    jute.GetDataRequest
	createReq jute.CreateRequest
}

// pending is one outstanding request.
type pending struct {
	xid      int32
	write    bool
	sent     int64 // ns since the run's base
	measured bool  // sent during the measured time
}

func (w *rawWorker) run() *stats {
	server := w.id % len(w.r.cfg.Servers)
	backoff := time.Millisecond
	for w.r.phase.Load() != phaseStop {
		s, err := dial(w.r.cfg.Servers[server], w.r.cfg.SessionTimeout)
		if err != nil {
			w.countErr(err)
			server = (server + 1) % len(w.r.cfg.Servers)
			time.Sleep(backoff)
			backoff = min(2*backoff, 50*time.Millisecond)
			continue
		}
		backoff = time.Millisecond
		err = w.drive(s)
		s.close(err == nil)
		if err != nil {
			w.lose(err)
			server = (server + 1) % len(w.r.cfg.Servers)
		}
	}
	return w.st
}

// drive runs the closed loop on one session until the run stops (nil) or
// the connection fails.
func (w *rawWorker) drive(s *session) error {
	w.fifo, w.head = w.fifo[:0], 0
	for i := 0; i < w.r.cfg.Inflight; i++ {
		if err := w.issue(s); err != nil {
			return err
		}
	}
	lastSend := time.Now()
	for {
		if !s.pendingInput() {
			stopping := w.r.phase.Load() == phaseStop
			if stopping && w.outstanding() == 0 {
				return nil
			}
			if time.Since(lastSend) > s.timeout/3 {
				if err := s.ping(); err != nil {
					return err
				}
			}
			if err := s.flush(); err != nil {
				return err
			}
			lastSend = time.Now()
			s.nc.SetReadDeadline(lastSend.Add(s.timeout * 2 / 3))
		}
		rep, err := s.readReply()
		if err != nil {
			return err
		}
		if rep.xid < 0 {
			continue // ping reply or watch event
		}
		if err := w.complete(rep); err != nil {
			return err
		}
		if w.r.phase.Load() != phaseStop {
			if err := w.issue(s); err != nil {
				return err
			}
		}
	}
}

func (w *rawWorker) outstanding() int { return len(w.fifo) - w.head }

// issue queues the next request of the workload.
func (w *rawWorker) issue(s *session) error {
	code, rec, write := w.next()
	xid, err := s.send(code, rec)
	if err != nil {
		return err
	}
	if w.head > 0 && w.head == len(w.fifo) {
		w.fifo, w.head = w.fifo[:0], 0
	}
	w.fifo = append(w.fifo, pending{xid: xid, write: write, sent: w.r.now(),
		measured: w.r.phase.Load() == phaseMeasure})
	return nil
}

// next picks the next request.
func (w *rawWorker) next() (jute.OpCode, jute.Record, bool) {
	cfg := &w.r.cfg
	switch {
	case cfg.Workload == Create:
		w.seq++
		w.createReq = jute.CreateRequest{Path: w.r.createDir() + "/" + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.seq),
			Data: w.r.value, ACL: openACL, Flags: jute.ModePersistent}
		return jute.OpCreate, &w.createReq, true
	case cfg.Workload == Get || (cfg.Workload == Mixed && w.rnd.Float64() < cfg.ReadRatio):
		w.getReq = jute.GetDataRequest{Path: w.r.keyPath(w.rnd.Intn(cfg.Keys))}
		return jute.OpGetData, &w.getReq, false
	default:
		w.setReq = jute.SetDataRequest{Path: w.r.keyPath(w.rnd.Intn(cfg.Keys)), Data: w.r.value, Version: -1}
		return jute.OpSetData, &w.setReq, true
	}
}

// complete matches a reply to the oldest outstanding request: ZooKeeper
// answers a session's requests in order.
func (w *rawWorker) complete(rep reply) error {
	if w.outstanding() == 0 {
		return errors.New("bench: reply with nothing outstanding")
	}
	p := w.fifo[w.head]
	if p.xid != rep.xid {
		return errors.New("bench: reply out of order")
	}
	w.head++
	now := w.r.now()
	w.st.finish(w.r, p.measured, p.write, p.sent, now, rep.err)
	return nil
}

// lose counts the requests a failed connection took with it.
func (w *rawWorker) lose(err error) {
	for ; w.head < len(w.fifo); w.head++ {
		if w.fifo[w.head].measured && w.r.phase.Load() == phaseMeasure {
			w.st.errs[jute.ErrConnectionLoss.Error()]++
		}
	}
	w.countErr(err)
}

// countErr counts a connection-level failure during the measured time.
func (w *rawWorker) countErr(err error) {
	if w.r.phase.Load() != phaseMeasure {
		return
	}
	w.st.errs[errKind(err)]++
}

// errKind names an error for the error table.
func errKind(err error) string {
	var code jute.Code
	var ce errConnect
	var ne net.Error
	switch {
	case errors.As(err, &code):
		return code.Error()
	case errors.As(err, &ce):
		return "connect failed"
	case errors.As(err, &ne) && ne.Timeout():
		return "connection timeout"
	default:
		return "connection closed"
	}
}

// finish records one completed request when it was sent and answered
// within the measured time.
func (s *stats) finish(r *runner, measured, write bool, sent, now int64, code jute.Code) {
	if !measured || r.phase.Load() != phaseMeasure {
		return
	}
	if code != jute.OK {
		s.errs[code.Error()]++
		return
	}
	s.hist.Record(time.Duration(now - sent))
	if write {
		s.writes++
		if r.cfg.Kill != nil {
			r.gaps.observe(sent, now)
		}
	} else {
		s.reads++
	}
}
