package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// session is one raw ZooKeeper session on one TCP connection. It is owned
// by a single goroutine: requests are appended to a buffered writer and
// flushed in batches, replies are read in order.
type session struct {
	addr    string
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	timeout time.Duration // negotiated
	xid     int32
	frame   []byte // scratch for encoding
	body    []byte // scratch for reading
}

// reply is the header of a server frame; the body is not decoded, the
// driver only needs the outcome.
type reply struct {
	xid  int32
	zxid int64
	err  jute.Code
}

const (
	xidNotification = -1
	xidPing         = -2
	replyHeaderLen  = 16
)

// errConnect wraps failures to establish a session, counted apart from
// failures of requests on an established one.
type errConnect struct{ err error }

func (e errConnect) Error() string { return "connect: " + e.err.Error() }
func (e errConnect) Unwrap() error { return e.err }

// dial opens a new session on addr.
func dial(addr string, timeout time.Duration) (*session, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, errConnect{err}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	s := &session{addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}
	if err := s.handshake(timeout); err != nil {
		nc.Close()
		return nil, errConnect{err}
	}
	return s, nil
}

func (s *session) handshake(timeout time.Duration) error {
	req := jute.ConnectRequest{TimeOut: int32(timeout / time.Millisecond), Passwd: make([]byte, 16)}
	s.nc.SetDeadline(time.Now().Add(timeout))
	defer s.nc.SetDeadline(time.Time{})
	if _, err := s.nc.Write(jute.AppendFrame(nil, &req)); err != nil {
		return err
	}
	body, err := s.readFrame()
	if err != nil {
		return err
	}
	var resp jute.ConnectResponse
	if err := jute.Unmarshal(body, 0, &resp); err != nil {
		return err
	}
	if resp.TimeOut <= 0 {
		return jute.ErrSessionExpired
	}
	s.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	return nil
}

// readFrame reads one length-prefixed frame into the scratch buffer.
func (s *session) readFrame() ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(s.br, n[:]); err != nil {
		return nil, err
	}
	l := jute.DecodeLength(n)
	if l < 0 || l > jute.MaxBuffer {
		return nil, fmt.Errorf("bench: frame length %d from %s", l, s.addr)
	}
	if cap(s.body) < int(l) {
		s.body = make([]byte, l)
	}
	s.body = s.body[:l]
	_, err := io.ReadFull(s.br, s.body)
	return s.body, err
}

// readReply reads the next reply header, skipping nothing: the caller
// decides what to do with pings and notifications.
func (s *session) readReply() (reply, error) {
	body, err := s.readFrame()
	if err != nil {
		return reply{}, err
	}
	if len(body) < replyHeaderLen {
		return reply{}, fmt.Errorf("bench: short reply (%d bytes) from %s", len(body), s.addr)
	}
	return reply{
		xid:  int32(binary.BigEndian.Uint32(body)),
		zxid: int64(binary.BigEndian.Uint64(body[4:])),
		err:  jute.Code(int32(binary.BigEndian.Uint32(body[12:]))),
	}, nil
}

// send queues one request; it reaches the server at the next flush.
func (s *session) send(op jute.OpCode, rec jute.Record) (int32, error) {
	s.xid++
	if s.xid <= 0 {
		s.xid = 1
	}
	return s.sendXid(s.xid, op, rec)
}

func (s *session) sendXid(xid int32, op jute.OpCode, rec jute.Record) (int32, error) {
	hdr := jute.RequestHeader{Xid: xid, Type: op}
	s.frame = jute.AppendFrame(s.frame[:0], &hdr, rec)
	_, err := s.bw.Write(s.frame)
	return xid, err
}

func (s *session) ping() error {
	_, err := s.sendXid(xidPing, jute.OpPing, nil)
	return err
}

func (s *session) flush() error { return s.bw.Flush() }

// pendingInput tells whether a reply is already buffered, so the writer
// can wait and send the next requests in one batch.
func (s *session) pendingInput() bool { return s.br.Buffered() > 0 }

// close ends the session politely when possible, then the connection.
func (s *session) close(polite bool) {
	if polite {
		s.nc.SetDeadline(time.Now().Add(time.Second))
		if _, err := s.send(jute.OpCloseSession, nil); err == nil && s.flush() == nil {
			for {
				r, err := s.readReply()
				if err != nil || r.xid == s.xid {
					break
				}
			}
		}
	}
	s.nc.Close()
}

// call sends requests and waits for all their replies: the setup path.
func (s *session) call(ops []op) ([]jute.Code, error) {
	first := s.xid + 1
	for _, o := range ops {
		if _, err := s.send(o.code, o.rec); err != nil {
			return nil, err
		}
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	s.nc.SetReadDeadline(time.Now().Add(2 * s.timeout))
	defer s.nc.SetReadDeadline(time.Time{})
	codes := make([]jute.Code, len(ops))
	for got := 0; got < len(ops); {
		r, err := s.readReply()
		if err != nil {
			return nil, err
		}
		if r.xid < 0 {
			continue
		}
		if r.xid != first+int32(got) {
			return nil, fmt.Errorf("bench: reply xid %d, want %d, from %s", r.xid, first+int32(got), s.addr)
		}
		codes[got] = r.err
		got++
	}
	return codes, nil
}

// op is one request for call.
type op struct {
	code jute.OpCode
	rec  jute.Record
}
