package sim

import (
	"slices"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// quiesce delivers every message and fsyncs every member until nothing moves.
func quiesce(t *testing.T, c *Cluster) {
	t.Helper()
	for i := 0; i < 100; i++ {
		for _, p := range c.Queued() {
			for len(c.queues[p]) > 0 {
				if err := c.Deliver(p, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		busy := false
		for _, id := range c.ids {
			if len(c.members[id].Disk.ops) > 0 {
				busy = true
				if err := c.Persist(id); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !busy && len(c.Queued()) == 0 {
			return
		}
	}
	t.Fatal("cluster does not quiesce")
}

func submit(t *testing.T, c *Cluster, id int64, txn *tree.Txn) {
	t.Helper()
	if ok, err := c.Submit(id, txn); err != nil || !ok {
		t.Fatalf("submit at %d: ok=%v err=%v", id, ok, err)
	}
}

// TestRepliesExpiryAndReplay drives a session through a follower: its
// replies are recorded at the follower, the leader expires it once its
// client stops pinging (removing its ephemeral everywhere), the trees agree
// with a replay of the committed log, and a reply that differs from the
// replay is caught.
func TestRepliesExpiryAndReplay(t *testing.T) {
	c := New(3, Options{SyncLimit: 5, InitLimit: 10})
	if err := c.ElectAs(1, []int64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	quiesce(t, c)
	const s = 0x200000000000001
	submit(t, c, 2, &tree.Txn{Session: s, Op: tree.Op{Type: jute.OpCreateSession, Timeout: 1000}})
	quiesce(t, c)
	submit(t, c, 2, &tree.Txn{Session: s, Op: tree.Op{Type: jute.OpCreate, Path: "/e", ACL: jute.OpenACLUnsafe, Flags: jute.ModeEphemeral}})
	submit(t, c, 2, &tree.Txn{Session: s, Op: tree.Op{Type: jute.OpCreate, Path: "/e", ACL: jute.OpenACLUnsafe}})
	submit(t, c, 3, &tree.Txn{Session: s, Op: tree.Op{Type: jute.OpMulti, Ops: []tree.Op{
		{Type: jute.OpCreate, Path: "/m", ACL: jute.OpenACLUnsafe},
		{Type: jute.OpCheck, Path: "/e", Version: 5},
	}}})
	quiesce(t, c)
	var zs []zxid.Zxid
	for z := range c.acked {
		zs = append(zs, z)
	}
	slices.Sort(zs)
	var got []string
	for _, z := range zs {
		got = append(got, c.acked[z].outcome)
	}
	want := []string{"ok", "ok /e", "NodeExists", "BadVersion [OK; BadVersion]"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("replies %q, want %q", got, want)
	}

	// The client keeps pinging member 2 for a while, then goes silent.
	for i := 0; i < 5; i++ {
		c.Now += 300
		if err := c.Touch(2, []int64{s}); err != nil {
			t.Fatal(err)
		}
		for _, id := range c.ids {
			if err := c.Tick(id); err != nil {
				t.Fatal(err)
			}
		}
		quiesce(t, c)
	}
	if _, ok := c.members[3].Tree.Session(s); !ok {
		t.Fatal("session expired while its client pinged")
	}
	for i := 0; i < 5; i++ {
		c.Now += 300
		for _, id := range c.ids {
			if err := c.Tick(id); err != nil {
				t.Fatal(err)
			}
		}
		quiesce(t, c)
	}
	for _, id := range c.ids {
		m := c.members[id]
		if _, ok := m.Tree.Session(s); ok {
			t.Fatalf("member %d still has the silent session", id)
		}
		if _, err := m.Tree.Exists("/e", nil); err != jute.ErrNoNode {
			t.Fatalf("member %d: ephemeral /e after expiry: %v", id, err)
		}
	}

	z := c.members[1].Applied()
	rt, err := c.replay(z)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.ids {
		if m := c.members[id]; rt.Digest() != m.Digest() {
			t.Fatalf("member %d digest %x, replay %x", id, m.Digest(), rt.Digest())
		}
		if bt, err := c.rebuild(c.members[id].Disk, z); err != nil || bt.Digest() != rt.Digest() {
			t.Fatalf("member %d rebuilt from disk: %v", id, err)
		}
	}
	for at, a := range c.acked {
		a.outcome = "ok"
		c.acked[at] = a
	}
	if _, err := c.replay(z); err == nil || !strings.Contains(err.Error(), "its client was told") {
		t.Fatalf("a wrong reply went unnoticed: %v", err)
	}
}
