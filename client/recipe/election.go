package recipe

// Election: leader election.
//
// Znodes: <dir> holds one ephemeral sequential child per candidate,
// "<dir>/candidate-<seq>", whose data is the candidate's value (a name or
// address). The lowest sequence is the leader. A candidate waits only on the
// candidate just before it; observers read the lowest candidate's data and
// re-read it on every child change of <dir>. A leader whose session ends
// stops being leader when its node goes, and Lost() tells it so.

import (
	"context"
	"errors"
	"sync"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

// Election is one participant's handle on an election under dir.
type Election struct {
	c   *client.Client
	dir string

	mu   sync.Mutex
	node string
	lost <-chan struct{}
	stop chan struct{}
}

// NewElection is a participant in the election under dir.
func NewElection(c *client.Client, dir string) *Election { return &Election{c: c, dir: dir} }

const candidatePrefix = "candidate-"

// Campaign enters the election with value and blocks until this participant
// leads, or ctx ends (then it withdraws). Values should be unique among
// candidates of one session: they identify a node whose create reply was lost.
func (e *Election) Campaign(ctx context.Context, value string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.node != "" {
		return ErrLocked
	}
	p, _, err := createSeq(ctx, e.c, e.dir, candidatePrefix, []byte(value))
	if err != nil {
		return err
	}
	err = waitTurn(ctx, e.c, e.dir, p[len(e.dir)+1:], []string{candidatePrefix}, predecessor)
	if err != nil {
		cleanup(e.c, p)
		return err
	}
	e.node = p
	e.stop = make(chan struct{})
	e.lost = monitor(e.c, p, e.stop)
	return nil
}

// Resign gives up leadership (deletes the candidate node); the next
// candidate takes over.
func (e *Election) Resign(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.node == "" {
		return ErrNotHeld
	}
	err := release(ctx, e.c, e.node, e.stop)
	e.node, e.lost = "", nil
	return err
}

// Lost is closed when leadership ends without Resign (session expired or
// closed, node deleted). Nil when not leading.
func (e *Election) Lost() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lost
}

// Leader is the current leader's value; ErrNoLeader if there is none.
func (e *Election) Leader(ctx context.Context) (string, error) {
	v, _, err := e.leader(ctx, false)
	return v, err
}

// leader reads the lowest candidate; with watch it also returns a channel
// that fires on the next change of the candidate list.
func (e *Election) leader(ctx context.Context, watch bool) (string, <-chan client.Event, error) {
	for {
		var kids []string
		var ch <-chan client.Event
		var err error
		if watch {
			kids, _, ch, err = e.c.ChildrenW(ctx, e.dir)
		} else {
			kids, _, err = e.c.Children(ctx, e.dir)
		}
		if errors.Is(err, jute.ErrNoNode) {
			return "", nil, ErrNoLeader
		}
		if err != nil {
			return "", nil, err
		}
		nodes := sortedSeq(kids, candidatePrefix)
		if len(nodes) == 0 {
			return "", ch, ErrNoLeader
		}
		data, _, err := e.c.Get(ctx, e.dir+"/"+nodes[0].name)
		if isGone(err) {
			continue // the leader just left; read again
		}
		return string(data), ch, err
	}
}

// Observe streams the leader's value each time it changes ("" while there
// is no leader), starting with the current one. The channel closes when ctx
// ends or the session does.
func (e *Election) Observe(ctx context.Context) <-chan string {
	out := make(chan string)
	go func() {
		defer close(out)
		last, first := "", true
		for {
			v, ch, err := e.leader(ctx, true)
			if err != nil && !errors.Is(err, ErrNoLeader) {
				if ctx.Err() != nil || !client.IsRetryable(err) {
					return
				}
				continue
			}
			if ch == nil { // no election directory yet
				if ch, err = e.dirCreated(ctx); err != nil {
					return
				}
			}
			if first || v != last {
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
				last, first = v, false
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return
			case <-e.c.Done():
				return
			}
		}
	}()
	return out
}

// dirCreated watches for the election directory to appear.
func (e *Election) dirCreated(ctx context.Context) (<-chan client.Event, error) {
	_, _, ch, err := e.c.ExistsW(ctx, e.dir)
	return ch, err
}
