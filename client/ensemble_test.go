package client_test

import (
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/internal/testserver"
	"github.com/zabkeeper/zabkeeper/jute"
)

// A member dies under the client: it moves to another member within its
// session timeout and keeps its session, ephemerals and watches.
func TestReconnectToAnotherMemberKeepsSession(t *testing.T) {
	addrs, stop := testserver.StartEnsemble(t, 3)
	ctx := ctxT(t)
	c, err := client.Connect(ctx, addrs, client.WithSessionTimeout(6*time.Second))
	must(t, err)
	defer c.Close()
	other, err := client.Connect(ctx, addrs)
	must(t, err)
	defer other.Close()
	sid := c.SessionID()
	_, err = c.Create(ctx, "/eph", []byte("x"), client.Ephemeral, nil)
	must(t, err)
	_, err = other.Create(ctx, "/watched", nil, client.Persistent, nil)
	must(t, err)
	must(t, c.Sync(ctx, "/watched")) // c may be on another member: reads are sequential, not linearizable
	_, _, ch, err := c.GetW(ctx, "/watched")
	must(t, err)
	w, err := c.Watch(ctx, "/tree", true)
	must(t, err)
	defer w.Close()

	on := c.Server()
	for i, a := range addrs {
		if a == on {
			stop(i)
		}
	}
	// A call in flight when the member died fails with a retryable
	// connection loss; retried, it waits for the new connection.
	for {
		_, _, err := c.Get(ctx, "/eph")
		if err == nil {
			break
		}
		if !client.IsRetryable(err) {
			t.Fatalf("get after the member died: %v", err)
		}
	}
	if c.SessionID() != sid || c.Server() == on {
		t.Fatalf("session %x on %s, want %x moved off %s", c.SessionID(), c.Server(), sid, on)
	}
	// Watches were re-registered: changes made now still reach us.
	_, err = other.Set(ctx, "/watched", []byte("v2"), -1)
	must(t, err)
	if ev := recvEvent(t, ch); ev.Type != jute.EventNodeDataChanged {
		t.Fatalf("one-shot watch after the move: %v", ev)
	}
	_, err = other.Create(ctx, "/tree", nil, client.Persistent, nil)
	must(t, err)
	select {
	case ev := <-w.Events():
		if ev.Type != jute.EventNodeCreated || ev.Path != "/tree" {
			t.Fatalf("recursive watch after the move: %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("recursive watch lost in the move")
	}
}
