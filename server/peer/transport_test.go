package peer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

type msg struct {
	Seq  int    `codec:"s"`
	Body string `codec:"b"`
}

// waitFor gives asynchronous work a generous time to happen; it only fails
// when something that must happen does not happen at all.
const waitFor = 10 * time.Second

func listen(t testing.TB, self int64, peers map[int64]string, opts Options) *Transport[msg] {
	t.Helper()
	tr, err := Listen[msg]("127.0.0.1:0", self, peers, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func recvOne(t *testing.T, tr *Transport[msg]) Envelope[msg] {
	t.Helper()
	select {
	case e := <-tr.Recv():
		return e
	case <-time.After(waitFor):
		t.Fatal("nothing received")
	}
	panic("unreachable")
}

func brokenOne(t *testing.T, tr *Transport[msg], want int64) {
	t.Helper()
	select {
	case id := <-tr.Broken():
		if id != want {
			t.Fatalf("Broken reported %d, want %d", id, want)
		}
	case <-time.After(waitFor):
		t.Fatalf("Broken(%d) not reported", want)
	}
}

// noLeak checks the goroutine count settles back to where a test began.
func noLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitFor)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines left running, had %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// three starts members 1, 2 and 3; since the higher id dials, each only
// needs the addresses of the members below it.
func three(t *testing.T, opts Options) []*Transport[msg] {
	t1 := listen(t, 1, map[int64]string{2: "", 3: ""}, opts)
	t2 := listen(t, 2, map[int64]string{1: t1.Addr().String(), 3: ""}, opts)
	t3 := listen(t, 3, map[int64]string{1: t1.Addr().String(), 2: t2.Addr().String()}, opts)
	return []*Transport[msg]{t1, t2, t3}
}

func TestThreeMembersInOrder(t *testing.T) {
	noLeak(t)
	ts := three(t, Options{})
	const n = 1000
	for i, tr := range ts {
		for to := int64(1); to <= 3; to++ {
			if to == int64(i+1) {
				continue
			}
			for s := 0; s < n; s++ {
				tr.Send(to, msg{Seq: s, Body: fmt.Sprintf("%d->%d", i+1, to)})
			}
		}
	}
	for i, tr := range ts {
		next := map[int64]int{}
		for k := 0; k < 2*n; k++ {
			e := recvOne(t, tr)
			if want := fmt.Sprintf("%d->%d", e.From, i+1); e.Msg.Body != want {
				t.Fatalf("member %d got %q from %d", i+1, e.Msg.Body, e.From)
			}
			if e.Msg.Seq != next[e.From] {
				t.Fatalf("member %d got seq %d from %d, want %d", i+1, e.Msg.Seq, e.From, next[e.From])
			}
			next[e.From]++
		}
	}
	for _, tr := range ts {
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok := <-tr.Recv(); ok {
			t.Fatal("Recv open after Close")
		}
	}
}

func TestPeerRestart(t *testing.T) {
	noLeak(t)
	t1 := listen(t, 1, map[int64]string{2: ""}, Options{})
	addr1 := t1.Addr().String()
	t2 := listen(t, 2, map[int64]string{1: addr1}, Options{})
	defer func() { t2.Close() }()
	t2.Send(1, msg{Seq: 1})
	if e := recvOne(t, t1); e.From != 2 || e.Msg.Seq != 1 {
		t.Fatalf("got %+v", e)
	}

	// The dialling member restarts: member 1 sees the break, then the new link.
	t2.Close()
	brokenOne(t, t1, 2)
	t2 = listen(t, 2, map[int64]string{1: addr1}, Options{})
	t1.Send(2, msg{Seq: 2})
	if e := recvOne(t, t2); e.From != 1 || e.Msg.Seq != 2 {
		t.Fatalf("got %+v", e)
	}

	// The accepting member restarts on the same address: member 2 sees the
	// break and dials again.
	t1.Close()
	brokenOne(t, t2, 1)
	t1, err := Listen[msg](addr1, 1, map[int64]string{2: ""}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Close()
	t2.Send(1, msg{Seq: 3})
	if e := recvOne(t, t1); e.From != 2 || e.Msg.Seq != 3 {
		t.Fatalf("got %+v", e)
	}
}

// rawPeer dials tr pretending to be member id.
func rawPeer(t *testing.T, tr *Transport[msg], hs []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", tr.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(hs); err != nil {
		t.Fatal(err)
	}
	return c
}

func frame(body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

// expectClosed checks the transport hung up on c.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("connection not closed by the transport: %v", err)
	}
	c.Close()
}

func TestBadFramesDropConnection(t *testing.T) {
	noLeak(t)
	tr := listen(t, 5, map[int64]string{7: ""}, Options{MaxFrame: 1024})
	defer tr.Close()

	oversize := rawPeer(t, tr, handshake(7))
	oversize.Write(binary.BigEndian.AppendUint32(nil, 1<<20))
	expectClosed(t, oversize)
	brokenOne(t, tr, 7)

	malformed := rawPeer(t, tr, handshake(7))
	malformed.Write(frame([]byte{0xc1, 0xc1, 0xc1}))
	expectClosed(t, malformed)
	brokenOne(t, tr, 7)

	for _, hs := range [][]byte{
		[]byte("HTTP/1.1 GET"), // not a handshake
		handshake(3),           // a lower id must wait to be dialled
		handshake(99),          // not a member
	} {
		expectClosed(t, rawPeer(t, tr, hs))
	}

	// The transport still works.
	var body []byte
	if err := codec.NewEncoderBytes(&body, &codec.MsgpackHandle{}).Encode(msg{Seq: 42}); err != nil {
		t.Fatal(err)
	}
	good := rawPeer(t, tr, handshake(7))
	defer good.Close()
	good.Write(frame(body))
	if e := recvOne(t, tr); e.From != 7 || e.Msg.Seq != 42 {
		t.Fatalf("got %+v", e)
	}
}

func TestOverflowReportsBroken(t *testing.T) {
	noLeak(t)
	tr := listen(t, 1, map[int64]string{2: ""}, Options{QueueLen: 4})
	defer tr.Close()
	for i := 0; i < 10; i++ {
		tr.Send(2, msg{Seq: i}) // member 2 never connects
	}
	brokenOne(t, tr, 2)
	tr.Send(9, msg{}) // unknown: dropped, no panic
}

func TestOversizeSendDropsLink(t *testing.T) {
	noLeak(t)
	t1 := listen(t, 1, map[int64]string{2: ""}, Options{MaxFrame: 64})
	defer t1.Close()
	t2 := listen(t, 2, map[int64]string{1: t1.Addr().String()}, Options{MaxFrame: 64})
	defer t2.Close()
	t2.Send(1, msg{Seq: 1})
	recvOne(t, t1)
	t2.Send(1, msg{Body: string(bytes.Repeat([]byte("x"), 100))})
	brokenOne(t, t2, 1)
	t2.Send(1, msg{Seq: 2})
	if e := recvOne(t, t1); e.Msg.Seq != 2 {
		t.Fatalf("got %+v", e)
	}
}

func TestCloseWithoutPeers(t *testing.T) {
	noLeak(t)
	tr := listen(t, 1, map[int64]string{2: "127.0.0.1:1", 3: ""}, Options{})
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr.Close() // twice is fine
	tr.Send(3, msg{})
}

// BenchmarkSend measures messages per second of 100-byte messages from one
// transport to another, with a bounded window so the queue never overflows.
func BenchmarkSend(b *testing.B) {
	opts := Options{QueueLen: 8192, RecvBuffer: 8192}
	t1 := listen(b, 1, map[int64]string{2: ""}, opts)
	defer t1.Close()
	t2 := listen(b, 2, map[int64]string{1: t1.Addr().String()}, opts)
	defer t2.Close()
	m := msg{Body: string(bytes.Repeat([]byte("v"), 100))}
	const window = 4096
	received := 0
	b.SetBytes(100)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for i-received >= window {
			<-t1.Recv()
			received++
		}
		m.Seq = i
		t2.Send(1, m)
	}
	for received < b.N {
		<-t1.Recv()
		received++
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
