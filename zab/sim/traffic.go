package sim

import (
	"fmt"
	"math/rand"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
)

// client is one ZooKeeper client session as the traffic generator sees it:
// which member it talks to and whether it still uses its session.
type client struct {
	id      int64
	timeout int32
	member  int64
	born    int64 // ms when it sent createSession
	live    bool  // its member's tree has held the session
	gone    bool  // closed, expired or never created: it sends nothing more
	quiet   bool  // abandoned: no pings, no writes, so the leader expires it
}

func (cl *client) String() string {
	return fmt.Sprintf("s:0x%x@%d", cl.id, cl.member)
}

// traffic generates client requests from the seed: session creation,
// pings, closes and abandonment, and writes under a few parents chosen so
// that they often collide (exists, no node, bad version, not empty).
type traffic struct {
	rng     *rand.Rand
	c       *Cluster
	clients []*client
	next    int64 // session counter
	// counts: sessions and requests taken by a member, writes sent
	sessions, closes, writes, accepted int
}

var parents = []string{"/p0", "/p1", "/p2"}

// refresh learns what happened to a client's session from its member's
// tree, as a client learns it from replies and session events.
func (tr *traffic) refresh(cl *client) {
	if cl.gone {
		return
	}
	m := tr.c.members[cl.member]
	if m.Alive {
		_, ok := m.Tree.Session(cl.id)
		switch {
		case ok:
			cl.live = true
		case cl.live:
			cl.gone = true // closed or expired (or the member restarted behind)
		}
	}
	if !cl.live && tr.c.Now-cl.born > 10*int64(cl.timeout) {
		cl.gone = true // its createSession was lost
	}
}

// active picks a client whose session was created and that still uses
// it, or nil. (A client writes only after createSession's reply.)
func (tr *traffic) active() *client {
	for tries := 0; tries < 4 && len(tr.clients) > 0; tries++ {
		cl := tr.clients[tr.rng.Intn(len(tr.clients))]
		tr.refresh(cl)
		if cl.live && !cl.gone && !cl.quiet {
			return cl
		}
	}
	return nil
}

// ping touches the sessions of member id's clients, after moving clients
// of crashed members to it (a client reconnects elsewhere in time).
func (tr *traffic) ping(id int64) error {
	var ids []int64
	for _, cl := range tr.clients {
		if cl.gone || cl.quiet {
			continue
		}
		if !tr.c.members[cl.member].Alive && tr.rng.Intn(2) == 0 {
			cl.member = id
		}
		if cl.member == id {
			ids = append(ids, cl.id)
		}
	}
	return tr.c.Touch(id, ids)
}

// burst sends one to three client requests at once, so several are in
// flight.
func (tr *traffic) burst(member int64) error {
	for n := 1 + tr.rng.Intn(3); n > 0; n-- {
		if err := tr.step(member); err != nil {
			return err
		}
	}
	return nil
}

// step sends one client request, or changes a client's behaviour.
func (tr *traffic) step(member int64) error {
	x := tr.rng.Intn(100)
	cl := tr.active()
	if x < 6 || cl == nil && x < 30 {
		return tr.createSession(member)
	}
	if cl == nil {
		return nil
	}
	switch {
	case x < 8:
		tr.closes++
		cl.gone = true // whether or not the close commits, it stops pinging
		_, err := tr.submit(cl.member, &tree.Txn{Session: cl.id, Op: tree.Op{Type: jute.OpCloseSession}})
		return err
	case x < 10:
		cl.quiet = true
		return nil
	}
	tr.writes++
	var op tree.Op
	if x < 25 {
		op = tr.multi()
	} else {
		op = tr.op(tr.rng.Intn(3))
	}
	_, err := tr.submit(cl.member, &tree.Txn{Session: cl.id, Op: op})
	return err
}

func (tr *traffic) createSession(member int64) error {
	tr.next++
	cl := &client{
		id: member<<56 | tr.next, timeout: int32(400 + 200*tr.rng.Intn(7)),
		member: member, born: tr.c.Now,
	}
	ok, err := tr.submit(member, &tree.Txn{Session: cl.id, Op: tree.Op{Type: jute.OpCreateSession, Timeout: cl.timeout}})
	if ok { // a refused client tries again later, as a new one
		tr.clients = append(tr.clients, cl)
		tr.sessions++
	}
	return err
}

func (tr *traffic) submit(member int64, txn *tree.Txn) (bool, error) {
	ok, err := tr.c.Submit(member, txn)
	if ok {
		tr.accepted++
	}
	return ok, err
}

// op is a create (kind 0), setData (1) or delete (2) on a colliding path.
func (tr *traffic) op(kind int) tree.Op {
	rng := tr.rng
	switch kind {
	case 0:
		flags := []int32{jute.ModePersistent, jute.ModePersistent, jute.ModeEphemeral,
			jute.ModePersistentSequential, jute.ModeEphemeralSequential}[rng.Intn(5)]
		path := tr.path()
		switch {
		case rng.Intn(4) == 0:
			path, flags = parents[rng.Intn(len(parents))], jute.ModePersistent
		case flags == jute.ModePersistentSequential || flags == jute.ModeEphemeralSequential:
			path = parents[rng.Intn(len(parents))] + "/s-"
		}
		return tree.Op{Type: jute.OpCreate, Path: path, Data: tr.data(), ACL: jute.OpenACLUnsafe, Flags: flags}
	case 1:
		return tree.Op{Type: jute.OpSetData, Path: tr.path(), Data: tr.data(), Version: tr.version()}
	}
	path := tr.path()
	if rng.Intn(4) == 0 {
		path = fmt.Sprintf("%s/s-%010d", parents[rng.Intn(len(parents))], rng.Intn(8))
	}
	return tree.Op{Type: jute.OpDelete, Path: path, Version: tr.version()}
}

// multi bundles two to four ops; a check with a guessed version makes some
// fail as a whole.
func (tr *traffic) multi() tree.Op {
	n := 2 + tr.rng.Intn(3)
	ops := make([]tree.Op, n)
	for i := range ops {
		if tr.rng.Intn(5) == 0 {
			ops[i] = tree.Op{Type: jute.OpCheck, Path: tr.path(), Version: tr.version()}
		} else {
			ops[i] = tr.op(tr.rng.Intn(3))
		}
	}
	return tree.Op{Type: jute.OpMulti, Ops: ops}
}

// path is a parent (one in five) or one of four children of a parent.
func (tr *traffic) path() string {
	p := parents[tr.rng.Intn(len(parents))]
	if tr.rng.Intn(5) == 0 {
		return p
	}
	return fmt.Sprintf("%s/n%d", p, tr.rng.Intn(4))
}

// version is -1 (any) half the time, else a guess.
func (tr *traffic) version() int32 {
	if tr.rng.Intn(2) == 0 {
		return -1
	}
	return int32(tr.rng.Intn(3))
}

// data is nil, empty or a few bytes.
func (tr *traffic) data() []byte {
	n := tr.rng.Intn(6)
	if n == 0 {
		return nil
	}
	return fmt.Appendf(nil, "v%03d", tr.rng.Intn(1000))[:n-1]
}
