package tree

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// harness applies txns at consecutive zxids, the way a follower would.
type harness struct {
	t  *testing.T
	tr *Tree
	z  zxid.Zxid
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, tr: New(), z: zxid.New(1, 0)}
}

const now = int64(1_700_000_000_000)

func (h *harness) apply(txn Txn) Result {
	h.z++
	if txn.Time == 0 {
		txn.Time = now
	}
	return h.tr.Apply(h.z, &txn)
}

func (h *harness) must(txn Txn) Result {
	h.t.Helper()
	r := h.apply(txn)
	if r.Err != nil {
		h.t.Fatalf("%s: %v", txn.String(), r.Err)
	}
	return r
}

func (h *harness) session(id int64) {
	h.t.Helper()
	h.must(Txn{Session: id, Op: Op{Type: jute.OpCreateSession, Timeout: 30000}})
}

func createOp(path string, flags int32) Op {
	return Op{Type: jute.OpCreate, Path: path, Data: []byte("x"), ACL: jute.OpenACLUnsafe, Flags: flags}
}

func (h *harness) create(path string) Result {
	h.t.Helper()
	return h.must(Txn{Op: createOp(path, 0)})
}

func (h *harness) stat(path string) jute.Stat {
	h.t.Helper()
	st, err := h.tr.Exists(path, nil)
	if err != nil {
		h.t.Fatalf("exists %s: %v", path, err)
	}
	return st
}

func events(r Result) string {
	var s []string
	for _, e := range r.Events {
		s = append(s, e.String())
	}
	return strings.Join(s, ", ")
}

// dump is a full, sorted text form of a tree's nodes and sessions.
func dump(tr *Tree) string {
	var paths []string
	for p := range tr.index {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		n, _ := tr.lookup(p)
		fmt.Fprintf(&b, "%s data=%q null=%v acl=%v %s kind=%v owner=%x ttl=%d icv=%d\n",
			p, n.data, n.data == nil, n.acl, n.stat(), n.kind, n.owner, n.ttl, n.cversion)
	}
	for _, s := range tr.Sessions() {
		fmt.Fprintf(&b, "%s\n", s)
	}
	return b.String()
}
