package recipe

// RWLock: a readers-writer lock.
//
// Znodes: <dir> holds ephemeral sequential children "<dir>/read-<seq>" and
// "<dir>/write-<seq>", ordered by the shared sequence counter of <dir>. A
// reader holds the lock once no write- node precedes it, and waits on the
// nearest preceding write- node. A writer holds it once it is first, and
// waits on the node just before it, of either kind. Waiters are thus served
// in arrival order and neither side starves. Tokens and Lost() are as for Lock.

import "github.com/zabkeeper/zabkeeper/client"

// RWLock hands out read and write locks on one directory.
type RWLock struct {
	c   *client.Client
	dir string
}

// NewRWLock is a readers-writer lock on dir.
func NewRWLock(c *client.Client, dir string) *RWLock { return &RWLock{c: c, dir: dir} }

var rwPrefixes = []string{"read-", "write-"}

// ReadLock is a new shared lock: any number of readers hold it together.
func (rw *RWLock) ReadLock() *Lock {
	return &Lock{c: rw.c, dir: rw.dir, prefix: "read-", prefixes: rwPrefixes, blocker: lastWriterBefore}
}

// WriteLock is a new exclusive lock: it excludes readers and other writers.
func (rw *RWLock) WriteLock() *Lock {
	return &Lock{c: rw.c, dir: rw.dir, prefix: "write-", prefixes: rwPrefixes, blocker: predecessor}
}

func lastWriterBefore(nodes []seqNode, i int) string {
	for j := i - 1; j >= 0; j-- {
		if len(nodes[j].name) > 6 && nodes[j].name[:6] == "write-" {
			return nodes[j].name
		}
	}
	return ""
}
