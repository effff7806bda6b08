package procs

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

const (
	restartNodes   = 2000 // znodes each round tries to write
	restartWriters = 8    // goroutines, spread over restartConns sessions
	restartConns   = 4
)

// TestKill9RestartKeepsAcknowledgedWrites writes znodes to a standalone
// member with forceSync on, kills it with SIGKILL at a different point of
// each round, restarts it on the same dataDir and reads back every create it
// had acknowledged, in this round and all earlier ones.
func TestKill9RestartKeepsAcknowledgedWrites(t *testing.T) {
	needProcesses(t)
	addr := freeAddrs(t, 1)[0]
	m := newMember(t, 1, addr)
	m.writeConfig("tickTime=200", "clientPort="+portOf(addr), "clientPortAddress=127.0.0.1",
		"forceSync=yes", "4lw.commands.whitelist=*", "admin.enableServer=false")
	log := newFileLogger(t)
	all := map[string]string{}
	for round, killAt := range []int{restartNodes / 4, restartNodes / 2, restartNodes * 3 / 4} {
		m.start()
		waitServing(t, m, "standalone")
		got := writeUntilKilled(t, log, m, round, killAt)
		for p, d := range got {
			all[p] = d
		}
		m.start()
		waitServing(t, m, "standalone")
		c := connect(t, log, 10*time.Second, addr)
		checkData(t, c, all)
		present := childCount(t, c, fmt.Sprintf("/r%d", round))
		t.Logf("round %d: killed after %d acknowledged creates (asked %d); after restart all %d acknowledged "+
			"znodes of every round are there; round has %d children (the rest were in flight)",
			round, len(got), killAt, len(all), present)
		c.Close()
		m.kill9() // the next round starts it again
	}
}

// writeUntilKilled creates /r<round>/n<i> from several goroutines and kills
// the member once killAt creates were acknowledged; it returns what was.
func writeUntilKilled(t *testing.T, log *fileLogger, m *member, round, killAt int) map[string]string {
	t.Helper()
	var conns []*zk.Conn
	for i := 0; i < restartConns; i++ {
		conns = append(conns, connect(t, log, 10*time.Second, m.clientAddr))
	}
	parent := fmt.Sprintf("/r%d", round)
	if _, err := conns[0].Create(parent, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create %s: %v", parent, err)
	}
	acked := newAcks()
	reached := make(chan struct{})
	var once sync.Once
	var firstErr firstError
	var wg sync.WaitGroup
	t.Cleanup(func() { // on failure too, no writer outlives the test
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	for w := 0; w < restartWriters; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := conns[w%restartConns]
			for i := w; i < restartNodes; i += restartWriters {
				p, d := fmt.Sprintf("%s/n%05d", parent, i), fmt.Sprintf("round %d node %d", round, i)
				if _, err := c.Create(p, []byte(d), 0, zk.WorldACL(zk.PermAll)); err != nil {
					firstErr.set(err)
					return // the member is gone (or broken: reported below)
				}
				acked.add(p, d)
				if acked.count() >= killAt {
					once.Do(func() { close(reached) })
				}
			}
		}(w)
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("round %d: only %d creates acknowledged, never %d; first error %v", round, acked.count(), killAt, firstErr.get())
	}
	m.kill9()
	killedAt := acked.count()
	for _, c := range conns {
		c.Close() // fails the creates still waiting for an answer
	}
	wg.Wait()
	if killedAt >= restartNodes {
		t.Fatalf("round %d: all writes finished before the kill", round)
	}
	return acked.snapshot()
}

// waitServing waits until the member answers srvr in the given mode.
func waitServing(t *testing.T, m *member, mode string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to serve as %s", m, mode), 30*time.Second, func() (bool, string) {
		if !m.running() {
			t.Fatalf("%s exited", m)
		}
		s, err := m.srvr()
		if err != nil {
			return false, err.Error()
		}
		return s.Mode == mode, s.String()
	})
}

// checkData reads every expected znode (in parallel) and compares its data.
func checkData(t *testing.T, c *zk.Conn, want map[string]string) {
	t.Helper()
	paths := make(chan string)
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				got, _, err := c.Get(p)
				if err != nil || string(got) != want[p] {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s: got %q, %v; want %q", p, got, err, want[p]))
					mu.Unlock()
				}
			}
		}()
	}
	for p := range want {
		paths <- p
	}
	close(paths)
	wg.Wait()
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("... %d more", len(bad)-20))
		}
		t.Fatalf("%d of %d acknowledged znodes lost or wrong:\n%v", len(bad), len(want), bad)
	}
}

func childCount(t *testing.T, c *zk.Conn, path string) int {
	t.Helper()
	kids, _, err := c.Children(path)
	if err != nil {
		t.Fatalf("children %s: %v", path, err)
	}
	return len(kids)
}
