package recipe

// Barrier: holds processes back until it is removed.
//
// Znodes: one persistent node, <path>. While it exists the barrier is up and
// Wait blocks; deleting it releases every waiter (each holds an exists watch).

import (
	"context"
	"errors"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

// Barrier is a single-node barrier at path.
type Barrier struct {
	c    *client.Client
	path string
}

// NewBarrier is the barrier at path.
func NewBarrier(c *client.Client, path string) *Barrier { return &Barrier{c: c, path: path} }

// Set raises the barrier (idempotent).
func (b *Barrier) Set(ctx context.Context) error {
	if err := ensurePath(ctx, b.c, parent(b.path)); err != nil {
		return err
	}
	_, err := b.c.Create(ctx, b.path, nil, client.Persistent, nil)
	if errors.Is(err, jute.ErrNodeExists) {
		return nil
	}
	return err
}

// Remove lowers the barrier, releasing all waiters (idempotent).
func (b *Barrier) Remove(ctx context.Context) error {
	if err := b.c.Delete(ctx, b.path, -1); err != nil && !isGone(err) {
		return err
	}
	return nil
}

// Wait blocks while the barrier is up.
func (b *Barrier) Wait(ctx context.Context) error {
	for {
		ok, _, ch, err := b.c.ExistsW(ctx, b.path)
		if err != nil || !ok {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-b.c.Done():
			return b.c.Err()
		}
	}
}
