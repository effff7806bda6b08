package recipe_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/recipe"
)

func TestLockMutualExclusionAndTokens(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	dir := e.path("/lock")
	var inside atomic.Int32
	var mu sync.Mutex
	var lastToken int64
	shared := 0
	var wg sync.WaitGroup
	const workers, rounds = 8, 5
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		c := e.client()
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := recipe.NewLock(c, dir)
			for i := 0; i < rounds; i++ {
				if err := l.Lock(ctx); err != nil {
					errs <- err
					return
				}
				if n := inside.Add(1); n != 1 {
					errs <- errors.New("two holders at once")
				}
				mu.Lock()
				if l.Token() <= lastToken {
					errs <- errors.New("fencing token did not increase")
				}
				lastToken = l.Token()
				mu.Unlock()
				v := shared // unsynchronised on purpose: only the lock protects it
				time.Sleep(time.Millisecond)
				shared = v + 1
				inside.Add(-1)
				if err := l.Unlock(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if shared != workers*rounds {
		t.Fatalf("shared counter %d, want %d", shared, workers*rounds)
	}
}

func TestTryLock(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	dir := e.path("/try")
	a, b := recipe.NewLock(e.client(), dir), recipe.NewLock(e.client(), dir)
	must(t, a.TryLock(ctx))
	if err := b.TryLock(ctx); !errors.Is(err, recipe.ErrLocked) {
		t.Fatalf("TryLock while held: %v", err)
	}
	must(t, a.Unlock(ctx))
	must(t, b.TryLock(ctx))
	if !errors.Is(a.Unlock(ctx), recipe.ErrNotHeld) {
		t.Fatal("double unlock")
	}
	must(t, b.Unlock(ctx))
}

func TestLockLostWhenHolderCloses(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	dir := e.path("/lost")
	ca := e.client()
	a, b := recipe.NewLock(ca, dir), recipe.NewLock(e.client(), dir)
	must(t, a.Lock(ctx))
	tokenA := a.Token()
	lost := a.Lost()
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx) }()
	ca.Close()
	if !closedWithin(lost, 10*time.Second) {
		t.Fatal("Lost() not closed after the holder's session closed")
	}
	must(t, <-got)
	if b.Token() <= tokenA {
		t.Fatalf("token %d after %d", b.Token(), tokenA)
	}
}

func TestLockLostWhenSessionExpires(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	dir := e.path("/expire")
	h := &netHook{}
	ca := e.client(client.WithDialer(h.dial), client.WithSessionTimeout(time.Second))
	a, b := recipe.NewLock(ca, dir), recipe.NewLock(e.client(), dir)
	must(t, a.Lock(ctx))
	var acquired time.Time
	got := make(chan error, 1)
	go func() { err := b.Lock(ctx); acquired = time.Now(); got <- err }()
	start := time.Now()
	h.isolate()
	if !closedWithin(a.Lost(), 30*time.Second) {
		t.Fatal("Lost() not closed after expiry")
	}
	lostAt := time.Now()
	must(t, <-got)
	t.Logf("holder told after %v, next holder in after %v (timeout %v)",
		lostAt.Sub(start), acquired.Sub(start), ca.SessionTimeout())
	if b.Token() <= 0 {
		t.Fatal("no token")
	}
}

func TestRWLock(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	rw1, rw2 := recipe.NewRWLock(e.client(), e.path("/rw")), recipe.NewRWLock(e.client(), e.path("/rw"))
	r1, r2 := rw1.ReadLock(), rw2.ReadLock()
	must(t, r1.Lock(ctx))
	must(t, r2.TryLock(ctx)) // readers share
	w := rw2.WriteLock()
	if err := w.TryLock(ctx); !errors.Is(err, recipe.ErrLocked) {
		t.Fatalf("writer TryLock with readers in: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Lock(ctx) }()
	must(t, r1.Unlock(ctx))
	must(t, r2.Unlock(ctx))
	must(t, <-done)
	r3 := rw1.ReadLock()
	if err := r3.TryLock(ctx); !errors.Is(err, recipe.ErrLocked) {
		t.Fatalf("reader TryLock with a writer in: %v", err)
	}
	must(t, w.Unlock(ctx))
	must(t, r3.TryLock(ctx))
	must(t, r3.Unlock(ctx))
}
