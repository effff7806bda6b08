// Package recipe builds coordination primitives on the client: Lock, RWLock,
// Election, Barrier, DoubleBarrier, Queue, Semaphore and Counter, one file
// each. Every call takes a context first; each file's header describes the
// znodes it uses, so recipes in other languages can share them.
package recipe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

// Errors shared by the recipes.
var (
	ErrLocked    = errors.New("recipe: held by another owner")
	ErrNotHeld   = errors.New("recipe: not held")
	ErrNoLeader  = errors.New("recipe: no leader")
	ErrNodeGone  = errors.New("recipe: own node vanished (session lost?)")
	ErrBadNumber = errors.New("recipe: node data is not a number")
)

// ensurePath creates p and its missing parents as persistent nodes.
func ensurePath(ctx context.Context, c *client.Client, p string) error {
	if p == "/" || p == "" {
		return nil
	}
	if ok, _, err := c.Exists(ctx, p); err != nil || ok {
		return err
	}
	if err := ensurePath(ctx, c, path.Dir(p)); err != nil {
		return err
	}
	_, err := c.Create(ctx, p, nil, client.Persistent, nil)
	if errors.Is(err, jute.ErrNodeExists) {
		return nil
	}
	return err
}

// seqNode is a child name with its 10-digit sequence suffix parsed.
type seqNode struct {
	name string
	seq  int64
}

// sortedSeq keeps the children whose name starts with one of prefixes and
// ends in a sequence number, ordered by that number (creation order).
func sortedSeq(kids []string, prefixes ...string) []seqNode {
	var out []seqNode
	for _, k := range kids {
		if len(k) < 10 || !hasAnyPrefix(k, prefixes) {
			continue
		}
		n, err := strconv.ParseInt(k[len(k)-10:], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, seqNode{k, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func indexOf(nodes []seqNode, name string) int {
	for i, n := range nodes {
		if n.name == name {
			return i
		}
	}
	return -1
}

// randomID tags a node's data so the creator can find it again after a
// create whose reply was lost with the connection.
func randomID() []byte {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return []byte(hex.EncodeToString(b))
}

// createSeq creates an ephemeral sequential node "<dir>/<prefix><seq>" with
// data. If the connection drops before the reply, the node may exist
// anyway: it is looked up among this session's ephemerals by its data,
// which must therefore be unique (randomID).
func createSeq(ctx context.Context, c *client.Client, dir, prefix string, data []byte) (string, jute.Stat, error) {
	if err := ensurePath(ctx, c, dir); err != nil {
		return "", jute.Stat{}, err
	}
	for {
		p, st, err := c.CreateStat(ctx, dir+"/"+prefix, data, client.EphemeralSequential, nil)
		if !client.IsRetryable(err) {
			return p, st, err
		}
		if p, st, ok := findOwn(ctx, c, dir+"/"+prefix, data); ok {
			return p, st, nil
		}
		if ctx.Err() != nil {
			return "", jute.Stat{}, ctx.Err()
		}
	}
}

func findOwn(ctx context.Context, c *client.Client, prefix string, data []byte) (string, jute.Stat, bool) {
	mine, err := c.Ephemerals(ctx, prefix)
	if err != nil {
		return "", jute.Stat{}, false
	}
	for _, p := range mine {
		d, st, err := c.Get(ctx, p)
		if err == nil && string(d) == string(data) {
			return p, st, true
		}
	}
	return "", jute.Stat{}, false
}

// waitTurn blocks until blocker finds nothing ahead of node me in dir.
// blocker gets the sorted children and my index and names the one node to
// wait for, or "" when my turn has come. Waiting on one node, not on the
// whole directory, avoids waking every waiter on each change.
func waitTurn(ctx context.Context, c *client.Client, dir, me string, prefixes []string, blocker func([]seqNode, int) string) error {
	for {
		kids, _, err := c.Children(ctx, dir)
		if err != nil {
			return err
		}
		nodes := sortedSeq(kids, prefixes...)
		i := indexOf(nodes, me)
		if i < 0 {
			return ErrNodeGone
		}
		b := blocker(nodes, i)
		if b == "" {
			return nil
		}
		ok, _, ch, err := c.ExistsW(ctx, dir+"/"+b)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Done():
			return c.Err()
		}
	}
}

// predecessor blocks on the node just before mine.
func predecessor(nodes []seqNode, i int) string {
	if i == 0 {
		return ""
	}
	return nodes[i-1].name
}

// monitor closes the returned channel when node p disappears or the session
// ends, and stops quietly when stop is closed.
func monitor(c *client.Client, p string, stop <-chan struct{}) <-chan struct{} {
	lost := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	go func() {
		defer cancel()
		for {
			ok, _, ch, err := c.ExistsW(ctx, p)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil && client.IsRetryable(err):
				continue
			case err != nil || !ok:
				close(lost)
				return
			}
			select {
			case ev := <-ch:
				if ev.Err != nil || ev.Type == jute.EventNodeDeleted {
					if ctx.Err() == nil {
						close(lost)
					}
					return
				}
			case <-c.Done():
				close(lost)
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return lost
}

// cleanup deletes a node we gave up on; a fresh context, because the
// caller's may be the reason we gave up.
func cleanup(c *client.Client, p string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.SessionTimeout())
	defer cancel()
	_ = c.Delete(ctx, p, -1)
}

// isGone: the node is already deleted, which is what the caller wanted.
// release stops monitoring a held node and deletes it; a node that is
// already gone (lost with the session) is released too.
func release(ctx context.Context, c *client.Client, node string, stopMonitor chan struct{}) error {
	close(stopMonitor)
	if err := c.Delete(ctx, node, -1); err != nil && !isGone(err) {
		return err
	}
	return nil
}

func isGone(err error) bool { return errors.Is(err, jute.ErrNoNode) }

// parent is the parent path of p.
func parent(p string) string { return path.Dir(p) }
