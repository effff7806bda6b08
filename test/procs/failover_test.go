package procs

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

const (
	ensembleSize   = 3
	sessionTimeout = 8 * time.Second
	writersPerConn = 3
	writesAround   = 300 // acknowledged writes wanted before the kill and after it
)

// startEnsemble writes a zoo.cfg per member (server lines with client ports
// on loopback, myid files), starts every member and waits for one leader.
func startEnsemble(t *testing.T) []*member {
	t.Helper()
	addrs := freeAddrs(t, 3*ensembleSize)
	var serverLines []string
	ms := make([]*member, ensembleSize)
	for i := range ms {
		peer, elect, client := addrs[3*i], addrs[3*i+1], addrs[3*i+2]
		serverLines = append(serverLines, fmt.Sprintf("server.%d=127.0.0.1:%s:%s;127.0.0.1:%s",
			i+1, portOf(peer), portOf(elect), portOf(client)))
		ms[i] = newMember(t, int64(i+1), client)
	}
	for _, m := range ms {
		if err := writeFile(m.dataDir()+"/myid", fmt.Sprintf("%d\n", m.id)); err != nil {
			t.Fatal(err)
		}
		m.writeConfig(append([]string{"tickTime=200", "initLimit=10", "syncLimit=4", "forceSync=yes",
			"maxSessionTimeout=20000", "4lw.commands.whitelist=*", "admin.enableServer=false"}, serverLines...)...)
		m.start()
	}
	waitRoles(t, ms)
	return ms
}

// waitRoles waits until exactly one of the running members leads and every
// other running member follows, and returns the leader.
func waitRoles(t *testing.T, ms []*member) *member {
	t.Helper()
	var leader *member
	waitFor(t, "one leader and followers", 30*time.Second, func() (bool, string) {
		leader = nil
		var state []string
		ok := true
		for _, m := range ms {
			if !m.running() {
				continue
			}
			s, err := m.srvr()
			if err != nil {
				state = append(state, fmt.Sprintf("%d: %v", m.id, err))
				ok = false
				continue
			}
			state = append(state, fmt.Sprintf("%d: %s", m.id, s))
			switch {
			case s.Mode == "leader" && leader == nil:
				leader = m
			case s.Mode != "follower":
				ok = false
			}
		}
		return ok && leader != nil, strings.Join(state, "; ")
	})
	return leader
}

// TestKill9LeaderDuringWrites kills the leader of a three-member ensemble
// with SIGKILL while two sessions write: one started on the leader (so it
// must move), one on a follower (whose forwarded writes lose their leader).
// Writes must resume, no acknowledged write may be missing, both sessions
// and their ephemerals must survive, and the restarted member must catch up.
func TestKill9LeaderDuringWrites(t *testing.T) {
	needProcesses(t)
	ms := startEnsemble(t)
	leader := waitRoles(t, ms)
	var followers []*member
	for _, m := range ms {
		if m != leader {
			followers = append(followers, m)
		}
	}
	log := newFileLogger(t)
	f0, f1, l := followers[0].clientAddr, followers[1].clientAddr, leader.clientAddr
	onLeader := connect(t, log, sessionTimeout, l, f0, f1)
	onFollower := connect(t, log, sessionTimeout, f0, f1, l)
	sessions := map[string]*zk.Conn{"/eph-leader": onLeader, "/eph-follower": onFollower}
	ids := map[string]int64{}
	for p, c := range sessions {
		if _, err := c.Create(p, []byte(p), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
		ids[p] = c.SessionID()
	}
	if _, err := onLeader.Create("/w", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %s; session %#x on %s, session %#x on %s", leader, ids["/eph-leader"],
		onLeader.Server(), ids["/eph-follower"], onFollower.Server())

	acked := newAcks()
	stop := make(chan struct{})
	var fatal firstError
	var wg sync.WaitGroup
	for _, c := range []*zk.Conn{onLeader, onFollower} {
		for w := 0; w < writersPerConn; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := writeSequential(c, acked, stop); err != nil {
					fatal.set(err)
				}
			}()
		}
	}
	stopWriters := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	t.Cleanup(func() { // on failure: unblock the writers before the members die
		onLeader.Close()
		onFollower.Close()
		stopWriters()
	})

	waitFor(t, fmt.Sprintf("%d writes before the kill", writesAround), 30*time.Second, func() (bool, string) {
		return acked.count() >= writesAround, fmt.Sprintf("%d acknowledged", acked.count())
	})
	killed := time.Now()
	leader.kill9()
	before := acked.count()
	t.Logf("SIGKILL %s after %d acknowledged writes", leader, before)
	var elected time.Time // when a survivor first answered srvr as leader
	waitFor(t, "writes to resume", 30*time.Second, func() (bool, string) {
		if err := fatal.get(); err != nil {
			t.Fatalf("writer: %v", err)
		}
		for _, m := range followers {
			if s, err := m.srvr(); elected.IsZero() && err == nil && s.Mode == "leader" {
				elected = time.Now()
			}
		}
		n := acked.since(killed)
		return n >= writesAround && !elected.IsZero(), fmt.Sprintf("%d acknowledged since the kill", n)
	})
	stopWriters()
	if err := fatal.get(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	ms1 := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	t.Logf("failover: a survivor led (srvr, polled every 20 ms) %v after the kill; longest gap between "+
		"acknowledged writes %v, ending %v after the kill; %d writes acknowledged in all",
		ms1(elected.Sub(killed)), ms1(acked.maxGap), ms1(acked.gapEnd.Sub(killed)), acked.count())

	newLeader := waitRoles(t, ms)
	t.Logf("new leader %s", newLeader)
	want := acked.snapshot()
	for _, m := range followers {
		checkMember(t, log, m, want, ids)
	}
	for p, c := range sessions {
		if c.SessionID() != ids[p] || c.State() != zk.StateHasSession {
			t.Fatalf("session of %s: id %#x state %v, want id %#x with a session", p, c.SessionID(), c.State(), ids[p])
		}
		if _, err := c.Set(p, []byte("still here"), -1); err != nil {
			t.Fatalf("session of %s cannot write after the failover: %v", p, err)
		}
		t.Logf("session %#x kept, now on %s", ids[p], c.Server())
	}

	leader.start()
	waitRoles(t, ms)
	waitConverged(t, ms)
	checkMember(t, log, leader, want, ids)
}

// writeSequential creates sequential znodes under /w until stop closes,
// recording each acknowledged one. Errors while the leader is gone are
// expected and retried; a lost session is not.
func writeSequential(c *zk.Conn, acked *acks, stop <-chan struct{}) error {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		data := fmt.Sprintf("session %#x write %d", c.SessionID(), i)
		p, err := c.Create("/w/n-", []byte(data), zk.FlagSequence, zk.WorldACL(zk.PermAll))
		switch {
		case err == nil:
			acked.add(p, data)
		case errors.Is(err, zk.ErrSessionExpired), errors.Is(err, zk.ErrNoAuth):
			return fmt.Errorf("create: %w", err)
		default:
			time.Sleep(10 * time.Millisecond) // no leader yet, or reconnecting
		}
	}
}

// checkMember reads through a fresh session on m alone: after a sync, every
// acknowledged child of /w exists, and each ephemeral belongs to its
// original session.
func checkMember(t *testing.T, log *fileLogger, m *member, want map[string]string, ids map[string]int64) {
	t.Helper()
	c := connect(t, log, sessionTimeout, m.clientAddr)
	defer c.Close()
	if _, err := c.Sync("/w"); err != nil {
		t.Fatalf("%s: sync: %v", m, err)
	}
	kids, _, err := c.Children("/w")
	if err != nil {
		t.Fatalf("%s: children: %v", m, err)
	}
	have := map[string]bool{}
	for _, k := range kids {
		have["/w/"+k] = true
	}
	var missing []string
	for p := range want {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%s: %d of %d acknowledged writes missing, e.g. %v", m, len(missing), len(want), missing[:min(10, len(missing))])
	}
	for p, id := range ids {
		_, st, err := c.Get(p)
		if err != nil || st.EphemeralOwner != id {
			t.Fatalf("%s: ephemeral %s: %v, owner %#x, want owner %#x", m, p, err, ephemeralOwner(st), id)
		}
	}
	t.Logf("%s: all %d acknowledged writes and both ephemerals present (%d children)", m, len(want), len(kids))
}

func ephemeralOwner(st *zk.Stat) int64 {
	if st == nil {
		return 0
	}
	return st.EphemeralOwner
}

// waitConverged waits until every member reports the same zxid, node count
// and tree digest (the hash four-letter word).
func waitConverged(t *testing.T, ms []*member) {
	t.Helper()
	waitFor(t, "members to converge", 30*time.Second, func() (bool, string) {
		var state []string
		same := true
		var first string
		for i, m := range ms {
			s, err := m.srvr()
			h, herr := fourLetter(m.clientAddr, "hash")
			if err != nil || herr != nil {
				return false, fmt.Sprintf("%s: %v %v", m, err, herr)
			}
			key := fmt.Sprintf("zxid=%s nodes=%d hash=%s", s.Zxid, s.Nodes, strings.TrimSpace(h))
			state = append(state, fmt.Sprintf("%d: %s %s", m.id, s.Mode, key))
			if i == 0 {
				first = key
			}
			same = same && key == first
		}
		if same {
			t.Logf("converged: %s", strings.Join(state, "; "))
		}
		return same, strings.Join(state, "; ")
	})
}
