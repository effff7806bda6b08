package recipe_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client/recipe"
)

func TestBarrier(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	b := recipe.NewBarrier(e.client(), e.path("/gate"))
	must(t, b.Set(ctx))
	must(t, b.Set(ctx))
	released := make(chan error, 3)
	for i := 0; i < 3; i++ {
		w := recipe.NewBarrier(e.client(), e.path("/gate"))
		go func() { released <- w.Wait(ctx) }()
	}
	select {
	case <-released:
		t.Fatal("released while the barrier is up")
	case <-time.After(100 * time.Millisecond):
	}
	must(t, b.Remove(ctx))
	for i := 0; i < 3; i++ {
		must(t, <-released)
	}
}

func TestDoubleBarrier(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	const n = 3
	var entered, left atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		d := recipe.NewDoubleBarrier(e.client(), e.path("/db"), n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			entered.Add(1)
			if err := d.Enter(ctx); err != nil {
				errs <- err
				return
			}
			if entered.Load() != n {
				errs <- fmt.Errorf("entered with %d of %d", entered.Load(), n)
			}
			if err := d.Leave(ctx); err != nil {
				errs <- err
				return
			}
			left.Add(1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestQueue(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	q := recipe.NewQueue(e.client(), e.path("/q"))
	for i := 0; i < 5; i++ {
		_, err := q.Put(ctx, []byte(fmt.Sprint(i)))
		must(t, err)
	}
	for i := 0; i < 5; i++ {
		d, err := q.Take(ctx)
		must(t, err)
		if string(d) != fmt.Sprint(i) {
			t.Fatalf("took %q, want %d", d, i)
		}
	}
	// Concurrent takers each get distinct items, and Take blocks until Put.
	const items = 20
	got := make(chan string, items)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		tq := recipe.NewQueue(e.client(), e.path("/q"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < items/4; i++ {
				d, err := tq.Take(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				got <- string(d)
			}
		}()
	}
	for i := 0; i < items; i++ {
		_, err := q.Put(ctx, []byte(fmt.Sprint("item", i)))
		must(t, err)
	}
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	for d := range got {
		if seen[d] {
			t.Fatalf("%s taken twice", d)
		}
		seen[d] = true
	}
	if len(seen) != items {
		t.Fatalf("%d items taken", len(seen))
	}
	if n, err := q.Len(ctx); n != 0 || err != nil {
		t.Fatalf("len %d %v", n, err)
	}
}

func TestSemaphore(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	const permits, workers = 2, 6
	var inside, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		s := recipe.NewSemaphore(e.client(), e.path("/sem"), permits)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.Acquire(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			inside.Add(-1)
			if err := l.Release(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > permits || peak.Load() == 0 {
		t.Fatalf("peak holders %d with %d permits", peak.Load(), permits)
	}
}

func TestCounter(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		k := recipe.NewCounter(e.client(), e.path("/count"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if _, err := k.Add(ctx, 2); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := recipe.NewCounter(e.client(), e.path("/count")).Get(ctx)
	must(t, err)
	if v != 100 {
		t.Fatalf("counter %d, want 100", v)
	}
}
