package tree

import "github.com/zabkeeper/zabkeeper/jute"

// Walk calls f for every znode, in no particular order, until f returns
// false. f must not change the tree. For offline tools (snapshot inspect).
func (t *Tree) Walk(f func(path string, st jute.Stat) bool) {
	for _, n := range t.slots {
		if n != nil && !f(n.path, n.stat()) {
			return
		}
	}
}
