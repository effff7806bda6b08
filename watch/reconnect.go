package watch

import (
	"fmt"

	"github.com/zabkeeper/zabkeeper/jute"
)

// NodeState is what Reconnect needs to know about one path in the tree.
type NodeState struct {
	Exists       bool
	Mzxid, Pzxid int64
}

// SetWatches is the body of setWatches/setWatches2: the paths a reconnecting
// client still watches, by kind.
type SetWatches struct {
	Data, Exist, Child              []string
	Persistent, PersistentRecursive []string
}

func (s SetWatches) String() string {
	return fmt.Sprintf("setWatches(data=%d exist=%d child=%d persistent=%d recursive=%d)",
		len(s.Data), len(s.Exist), len(s.Child), len(s.Persistent), len(s.PersistentRecursive))
}

// Reg is one watch to register for the reconnecting connection.
type Reg struct {
	Path string
	Kind Kind
}

func (r Reg) String() string { return r.Kind.String() + " " + r.Path }

// Reconnect decides, for a client that last saw zxid rel, which events it
// missed while disconnected (sent at once, before the reply) and which
// watches to re-register. Fire.W is left zero: the caller knows the
// connection. Order follows the request: data, exist, child, persistent,
// recursive. A node created and deleted while the client was away is
// invisible to its exist watch, as in ZooKeeper.
func Reconnect(rel int64, lookup func(path string) NodeState, sw SetWatches) (fire []Fire, register []Reg) {
	ev := func(t jute.EventType, p string) { fire = append(fire, Fire{Type: t, Path: p}) }
	reg := func(p string, k Kind) { register = append(register, Reg{Path: p, Kind: k}) }
	for _, p := range sw.Data {
		switch n := lookup(p); {
		case !n.Exists:
			ev(jute.EventNodeDeleted, p)
		case n.Mzxid > rel:
			ev(jute.EventNodeDataChanged, p)
		default:
			reg(p, Data)
		}
	}
	for _, p := range sw.Exist {
		if lookup(p).Exists {
			ev(jute.EventNodeCreated, p)
		} else {
			reg(p, Exist)
		}
	}
	for _, p := range sw.Child {
		switch n := lookup(p); {
		case !n.Exists:
			ev(jute.EventNodeDeleted, p)
		case n.Pzxid > rel:
			ev(jute.EventNodeChildrenChanged, p)
		default:
			reg(p, Child)
		}
	}
	for _, p := range sw.Persistent {
		reg(p, Persistent)
	}
	for _, p := range sw.PersistentRecursive {
		reg(p, PersistentRecursive)
	}
	return fire, register
}
