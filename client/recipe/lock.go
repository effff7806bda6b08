package recipe

// Lock: a mutual-exclusion lock.
//
// Znodes: <dir> (persistent, created if missing) holds one ephemeral
// sequential child per contender, "<dir>/lock-<10-digit seq>", whose data is
// a random id of the contender. The lowest sequence holds the lock; every
// other contender watches only the node just before its own, so a release
// wakes exactly one waiter. The holder's node czxid is its fencing token:
// later holders created their nodes later, so tokens strictly increase.
// Because the nodes are ephemeral, a holder whose session ends loses the
// lock, and Lost() tells it so.

import (
	"context"
	"sync"

	"github.com/zabkeeper/zabkeeper/client"
)

// Lock is a distributed mutex under a directory. One Lock value is held at
// most once at a time; use one value per goroutine that contends.
type Lock struct {
	c        *client.Client
	dir      string
	prefix   string
	prefixes []string // the node kinds that take part in ordering
	blocker  func([]seqNode, int) string

	mu    sync.Mutex
	node  string // full path while held
	token int64
	lost  <-chan struct{}
	stop  chan struct{}
}

// NewLock is a lock on dir.
func NewLock(c *client.Client, dir string) *Lock {
	return &Lock{c: c, dir: dir, prefix: "lock-", prefixes: []string{"lock-"}, blocker: predecessor}
}

// Lock blocks until the lock is held or ctx ends; on failure it leaves no node behind.
func (l *Lock) Lock(ctx context.Context) error { return l.acquire(ctx, true) }

// TryLock takes the lock only if no one holds or waits for it; ErrLocked otherwise.
func (l *Lock) TryLock(ctx context.Context) error { return l.acquire(ctx, false) }

func (l *Lock) acquire(ctx context.Context, wait bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node != "" {
		return ErrLocked
	}
	p, st, err := createSeq(ctx, l.c, l.dir, l.prefix, randomID())
	if err != nil {
		return err
	}
	me := p[len(l.dir)+1:]
	if wait {
		err = waitTurn(ctx, l.c, l.dir, me, l.prefixes, l.blocker)
	} else {
		err = l.checkFree(ctx, me)
	}
	if err != nil {
		cleanup(l.c, p)
		return err
	}
	l.node, l.token = p, st.Czxid
	l.stop = make(chan struct{})
	l.lost = monitor(l.c, p, l.stop)
	return nil
}

// checkFree re-reads the queue for TryLock: anything ahead of me means busy.
func (l *Lock) checkFree(ctx context.Context, me string) error {
	kids, _, err := l.c.Children(ctx, l.dir)
	if err != nil {
		return err
	}
	nodes := sortedSeq(kids, l.prefixes...)
	i := indexOf(nodes, me)
	if i < 0 {
		return ErrNodeGone
	}
	if l.blocker(nodes, i) != "" {
		return ErrLocked
	}
	return nil
}

// Unlock releases the lock by deleting its node; ErrNotHeld if not held.
// A lock that was lost can still be unlocked, which just forgets it.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node == "" {
		return ErrNotHeld
	}
	err := release(ctx, l.c, l.node, l.stop)
	l.node, l.token, l.lost = "", 0, nil
	return err
}

// Token is the fencing token of the current hold (the lock node's czxid),
// 0 when not held. Pass it to the resources the lock protects, which reject
// any token lower than the highest they have seen.
func (l *Lock) Token() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

// Node is the lock node's path while held.
func (l *Lock) Node() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.node
}

// Lost is closed when the current hold ends without Unlock: the session
// expired or closed, or the node was deleted. Nil when not held.
func (l *Lock) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}
