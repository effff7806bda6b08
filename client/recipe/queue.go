package recipe

// Queue: a distributed FIFO queue.
//
// Znodes: <dir> holds one persistent sequential child per item,
// "<dir>/qn-<seq>", whose data is the item. Take reads the lowest item and
// deletes it; whoever deletes it owns it, so each item goes to one taker.
// If the connection drops during that delete, the item may be lost (at most
// once delivery).

import (
	"context"

	"github.com/zabkeeper/zabkeeper/client"
)

// Queue is a FIFO queue under dir.
type Queue struct {
	c   *client.Client
	dir string
}

// NewQueue is the queue under dir.
func NewQueue(c *client.Client, dir string) *Queue { return &Queue{c: c, dir: dir} }

const itemPrefix = "qn-"

// Put appends an item and returns its node path.
func (q *Queue) Put(ctx context.Context, data []byte) (string, error) {
	if err := ensurePath(ctx, q.c, q.dir); err != nil {
		return "", err
	}
	return q.c.Create(ctx, q.dir+"/"+itemPrefix, data, client.PersistentSequential, nil)
}

// Take removes and returns the oldest item, blocking while the queue is empty.
func (q *Queue) Take(ctx context.Context) ([]byte, error) {
	if err := ensurePath(ctx, q.c, q.dir); err != nil {
		return nil, err
	}
	for {
		kids, _, ch, err := q.c.ChildrenW(ctx, q.dir)
		if err != nil {
			return nil, err
		}
		for _, n := range sortedSeq(kids, itemPrefix) {
			p := q.dir + "/" + n.name
			data, _, err := q.c.Get(ctx, p)
			if isGone(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			err = q.c.Delete(ctx, p, -1)
			if isGone(err) {
				continue // another taker won it
			}
			return data, err
		}
		if err := waitEvent(ctx, q.c, ch); err != nil {
			return nil, err
		}
	}
}

// Len is the number of items now.
func (q *Queue) Len(ctx context.Context) (int, error) {
	kids, _, err := q.c.Children(ctx, q.dir)
	if isGone(err) {
		return 0, nil
	}
	return len(sortedSeq(kids, itemPrefix)), err
}
