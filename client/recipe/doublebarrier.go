package recipe

// DoubleBarrier: N participants enter together and leave together.
//
// Znodes: <dir> holds one ephemeral sequential child per participant,
// "<dir>/member-<seq>", and, once N members are present, the persistent
// marker "<dir>/ready". Enter returns when ready exists. To leave, members
// other than the lowest delete their node and wait for the lowest to go; the
// lowest waits for the highest remaining one, and when it is alone deletes
// ready and itself in one multi, so the next round starts clean.

import (
	"context"
	"errors"
	"sync"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

// DoubleBarrier is one participant's handle; create one per participant.
type DoubleBarrier struct {
	c   *client.Client
	dir string
	n   int

	mu   sync.Mutex
	node string // my member name while entered
}

// NewDoubleBarrier is a barrier for n participants under dir.
func NewDoubleBarrier(c *client.Client, dir string, n int) *DoubleBarrier {
	return &DoubleBarrier{c: c, dir: dir, n: n}
}

const memberPrefix = "member-"

// Enter joins and blocks until n participants have joined.
func (d *DoubleBarrier) Enter(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, _, err := createSeq(ctx, d.c, d.dir, memberPrefix, randomID())
	if err != nil {
		return err
	}
	d.node = p[len(d.dir)+1:]
	ready := d.dir + "/ready"
	for {
		ok, _, ch, err := d.c.ExistsW(ctx, ready)
		if err != nil || ok {
			return err
		}
		kids, _, err := d.c.Children(ctx, d.dir)
		if err != nil {
			return err
		}
		if len(sortedSeq(kids, memberPrefix)) >= d.n {
			_, err := d.c.Create(ctx, ready, nil, client.Persistent, nil)
			if err == nil || errors.Is(err, jute.ErrNodeExists) {
				return nil
			}
			return err
		}
		if err := waitEvent(ctx, d.c, ch); err != nil {
			return err
		}
	}
}

// Leave blocks until every participant has left.
func (d *DoubleBarrier) Leave(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		kids, _, err := d.c.Children(ctx, d.dir)
		if err != nil {
			return err
		}
		nodes := sortedSeq(kids, memberPrefix)
		i := indexOf(nodes, d.node)
		var wait string
		switch {
		case len(nodes) == 0:
			return nil
		case i < 0: // already left: wait for the lowest to finish the round
			wait = nodes[0].name
		case len(nodes) == 1:
			return d.leaveLast(ctx)
		case i == 0:
			wait = nodes[len(nodes)-1].name
		default:
			if err := d.c.Delete(ctx, d.dir+"/"+d.node, -1); err != nil && !isGone(err) {
				return err
			}
			continue
		}
		ok, _, ch, err := d.c.ExistsW(ctx, d.dir+"/"+wait)
		if err != nil {
			return err
		}
		if ok {
			if err := waitEvent(ctx, d.c, ch); err != nil {
				return err
			}
		}
	}
}

// leaveLast removes the ready marker and my node together.
func (d *DoubleBarrier) leaveLast(ctx context.Context) error {
	me := d.dir + "/" + d.node
	_, err := d.c.Multi(ctx, client.DeleteOp(d.dir+"/ready", -1), client.DeleteOp(me, -1))
	if errors.Is(err, jute.ErrNoNode) {
		err = d.c.Delete(ctx, me, -1)
	}
	if err != nil && !isGone(err) {
		return err
	}
	return nil
}

// waitEvent waits for one watch event, ctx, or the end of the session.
func waitEvent(ctx context.Context, c *client.Client, ch <-chan client.Event) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.Done():
		return c.Err()
	}
}
