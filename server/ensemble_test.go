package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkeeper/zabkeeper/server"
	"github.com/zabkeeper/zabkeeper/server/servertest"
)

func connect(t *testing.T, addrs ...string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(addrs, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("no session with %v (state %v)", addrs, c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(c.Close)
	return c
}

func addrsOf(srvs []*server.Server) []string {
	var out []string
	for _, s := range srvs {
		out = append(out, s.Addr().String())
	}
	return out
}

func leaderOf(t *testing.T, srvs []*server.Server) int {
	t.Helper()
	for i, s := range srvs {
		if s.Mode() == "leader" {
			return i
		}
	}
	t.Fatal("no leader")
	return -1
}

// waitConverged waits until every live member applied the same txns.
func waitConverged(t *testing.T, srvs ...*server.Server) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		z0, d0 := srvs[0].Digest()
		same := true
		for _, s := range srvs[1:] {
			z, d := s.Digest()
			same = same && z == z0 && d == d0
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for _, s := range srvs {
				z, d := s.Digest()
				t.Logf("%s %s: zxid %s digest %x", s.Addr(), s.Mode(), z, d)
			}
			t.Fatal("members did not converge")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEnsembleWritesThroughEveryMember(t *testing.T) {
	srvs := servertest.StartEnsemble(t, 3)
	for i, s := range srvs {
		c := connect(t, s.Addr().String())
		p := fmt.Sprintf("/m%d", i+1)
		if _, err := c.Create(p, []byte(s.Mode()), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create through %s: %v", s.Mode(), err)
		}
		for j := 0; j < 20; j++ {
			if _, err := c.Set(p, []byte(fmt.Sprint(j)), int32(j)); err != nil {
				t.Fatalf("set %d through %s: %v", j, s.Mode(), err)
			}
		}
	}
	// Every member reads every write after sync.
	for _, s := range srvs {
		c := connect(t, s.Addr().String())
		if _, err := c.Sync("/"); err != nil {
			t.Fatal(err)
		}
		for i := range srvs {
			data, st, err := c.Get(fmt.Sprintf("/m%d", i+1))
			if err != nil || string(data) != "19" || st.Version != 20 {
				t.Fatalf("%s reads /m%d = %q v%d, %v", s.Mode(), i+1, data, st.Version, err)
			}
		}
	}
	waitConverged(t, srvs...)
}

func TestEnsembleLeaderFailoverKeepsSessionsAndWrites(t *testing.T) {
	srvs := servertest.StartEnsemble(t, 3)
	li := leaderOf(t, srvs)
	var others []*server.Server
	for i, s := range srvs {
		if i != li {
			others = append(others, s)
		}
	}
	// A client on the leader with an ephemeral; it must survive by moving.
	owner := connect(t, append([]string{srvs[li].Addr().String()}, addrsOf(others)...)...)
	if _, err := owner.Create("/owner", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	w := connect(t, addrsOf(others)...)
	var acked []string
	for i := 0; i < 50; i++ {
		p := fmt.Sprintf("/before-%02d", i)
		if _, err := w.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, p)
	}
	srvs[li].Close()
	// Writes resume through the survivors.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 50; {
		p := fmt.Sprintf("/after-%02d", i)
		_, err := w.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		switch {
		case err == nil || err == zk.ErrNodeExists:
			acked = append(acked, p)
			i++
		case time.Now().After(deadline):
			t.Fatalf("writes did not resume: %v", err)
		default:
			time.Sleep(20 * time.Millisecond)
		}
	}
	servertest.WaitServing(t, others...)
	r := connect(t, others[0].Addr().String())
	if _, err := r.Sync("/"); err != nil {
		t.Fatal(err)
	}
	for _, p := range acked {
		if ok, _, err := r.Exists(p); err != nil || !ok {
			t.Fatalf("acknowledged write %s missing after failover (%v)", p, err)
		}
	}
	// The owner's session moved to a survivor with its ephemeral.
	for owner.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("owner session not re-established: %v", owner.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ok, st, err := r.Exists("/owner"); err != nil || !ok || st.EphemeralOwner != owner.SessionID() {
		t.Fatalf("ephemeral lost in failover: ok=%v owner=%x session=%x err=%v", ok, st.EphemeralOwner, owner.SessionID(), err)
	}
	waitConverged(t, others...)
}

func TestEnsembleFollowerCatchesUpAfterRestart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes int
	}{{"diff", 30}, {"snap", 1200}} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := servertest.EnsembleConfigs(t, 3, servertest.WithConfig(func(c *servertest.ConfigT) { c.SnapCount = 100 }))
			var srvs []*server.Server
			for _, c := range cfgs {
				srvs = append(srvs, servertest.StartConfig(t, c))
			}
			servertest.WaitServing(t, srvs...)
			fi := (leaderOf(t, srvs) + 1) % 3
			srvs[fi].Close()
			var live []*server.Server
			for i, s := range srvs {
				if i != fi {
					live = append(live, s)
				}
			}
			c := connect(t, addrsOf(live)...)
			for i := 0; i < tc.writes; i++ {
				if _, err := c.Create(fmt.Sprintf("/n%04d", i), []byte(strings.Repeat("x", 10)), 0, zk.WorldACL(zk.PermAll)); err != nil {
					t.Fatal(err)
				}
			}
			srvs[fi] = servertest.StartConfig(t, cfgs[fi])
			servertest.WaitServing(t, srvs...)
			waitConverged(t, srvs...)
			rc := connect(t, srvs[fi].Addr().String())
			kids, _, err := rc.Children("/")
			if err != nil || len(kids) != tc.writes+1 {
				t.Fatalf("restarted follower sees %d children, want %d (%v)", len(kids), tc.writes+1, err)
			}
		})
	}
}

// A client that only pings a follower keeps its session: the follower passes
// the pings to the leader, which alone expires sessions.
func TestEnsembleFollowerClientsStayAlive(t *testing.T) {
	srvs := servertest.StartEnsemble(t, 3)
	fi := (leaderOf(t, srvs) + 1) % 3
	c, _, err := zk.Connect([]string{srvs[fi].Addr().String()}, 2*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatal("no session")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sid := c.SessionID()
	if _, err := c.Create("/alive", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// Two and a half session timeouts of nothing but pings (50 ticks).
	time.Sleep(5 * time.Second)
	other := connect(t, srvs[leaderOf(t, srvs)].Addr().String())
	ok, st, err := other.Exists("/alive")
	if err != nil || !ok || st.EphemeralOwner != sid || c.SessionID() != sid {
		t.Fatalf("session of a follower's client expired while it pinged: exists=%v owner=%x session=%x err=%v",
			ok, st.EphemeralOwner, sid, err)
	}
}
