package recipe_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/recipe"
)

// TestElectionOneLeaderAndTakeover: candidates campaign; each leader checks
// it is alone, then its client closes; the next one takes over, until all
// have led once. An observer sees the leaders in turn.
func TestElectionOneLeaderAndTakeover(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	dir := e.path("/elect")
	obs := recipe.NewElection(e.client(), dir)
	if _, err := obs.Leader(ctx); !errors.Is(err, recipe.ErrNoLeader) {
		t.Fatalf("leader before any campaign: %v", err)
	}
	seen := obs.Observe(ctx)
	if v := <-seen; v != "" {
		t.Fatalf("first observation %q", v)
	}
	const n = 5
	var leaders atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		c := e.client()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			el := recipe.NewElection(c, dir)
			value := fmt.Sprintf("node-%d", i)
			if err := el.Campaign(ctx, value); err != nil {
				errs <- err
				return
			}
			if leaders.Add(1) != 1 {
				errs <- errors.New("two leaders at once")
			}
			if v, err := el.Leader(ctx); err != nil || v != value {
				errs <- fmt.Errorf("leader reads %q, %v; I am %q", v, err, value)
			}
			time.Sleep(20 * time.Millisecond)
			leaders.Add(-1)
			lost := el.Lost()
			c.Close() // the leader dies
			if !closedWithin(lost, 10*time.Second) {
				errs <- errors.New("Lost() not closed")
			}
		}(i)
	}
	distinct := map[string]bool{}
	for len(distinct) < n {
		select {
		case v := <-seen:
			if v != "" {
				distinct[v] = true
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("observer saw only %v", distinct)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestElectionResign(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	dir := e.path("/resign")
	a, b := recipe.NewElection(e.client(), dir), recipe.NewElection(e.client(), dir)
	must(t, a.Campaign(ctx, "a"))
	done := make(chan error, 1)
	go func() { done <- b.Campaign(ctx, "b") }()
	must(t, a.Resign(ctx))
	must(t, <-done)
	if v, err := a.Leader(ctx); v != "b" || err != nil {
		t.Fatalf("leader %q %v", v, err)
	}
	if a.Lost() != nil {
		t.Fatal("Lost after resign")
	}
	var _ = client.Persistent
}
