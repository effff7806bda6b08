package recipe

// Semaphore: at most N holders at once.
//
// Znodes: <dir> holds one ephemeral sequential child per contender,
// "<dir>/permit-<seq>". The N lowest hold permits; the others wait for a
// child change of <dir> and look again. All contenders must agree on N. A
// holder whose session ends releases its permit with its node.

import (
	"context"

	"github.com/zabkeeper/zabkeeper/client"
)

// Semaphore hands out n permits under dir.
type Semaphore struct {
	c   *client.Client
	dir string
	n   int
}

// NewSemaphore is a semaphore of n permits under dir.
func NewSemaphore(c *client.Client, dir string, n int) *Semaphore {
	return &Semaphore{c: c, dir: dir, n: n}
}

// Lease is one held permit.
type Lease struct {
	c    *client.Client
	node string
}

// Node is the permit node's path.
func (l *Lease) Node() string { return l.node }

// Release gives the permit back.
func (l *Lease) Release(ctx context.Context) error {
	if err := l.c.Delete(ctx, l.node, -1); err != nil && !isGone(err) {
		return err
	}
	return nil
}

const permitPrefix = "permit-"

// Acquire blocks until a permit is held or ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) (*Lease, error) {
	p, _, err := createSeq(ctx, s.c, s.dir, permitPrefix, randomID())
	if err != nil {
		return nil, err
	}
	me := p[len(s.dir)+1:]
	for {
		kids, _, ch, err := s.c.ChildrenW(ctx, s.dir)
		if err != nil {
			cleanup(s.c, p)
			return nil, err
		}
		i := indexOf(sortedSeq(kids, permitPrefix), me)
		if i < 0 {
			return nil, ErrNodeGone
		}
		if i < s.n {
			return &Lease{c: s.c, node: p}, nil
		}
		if err := waitEvent(ctx, s.c, ch); err != nil {
			cleanup(s.c, p)
			return nil, err
		}
	}
}
