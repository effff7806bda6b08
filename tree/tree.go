// Package tree is the znode tree as a deterministic state machine: Apply
// runs a logged write command (validation included, in ZooKeeper's error
// precedence) and returns what the client sees; reads check ACLs; the
// session table is replicated here too. It also keeps an incremental digest
// and streams copy-on-write snapshots. It does no I/O and keeps no clock:
// time comes in the txn. The caller serialises all calls.
package tree

import (
	"sort"
	"strings"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Tree holds the znodes in a slice-backed arena (slot = index) so a
// snapshot can walk slots in chunks while Apply keeps running.
type Tree struct {
	slots    []*node
	free     []int32 // a stack, so an undone create/delete restores it exactly
	index    map[string]int32
	sessions map[int64]*session
	reapable map[int32]struct{} // container and TTL slots
	aclCache map[string][]jute.ACL
	lastACL  []jute.ACL // fast path: consecutive nodes usually share an ACL

	lastZxid zxid.Zxid
	digest   uint64
	dataSize int64
	ephCount int

	recording bool     // inside a multi: mutations log their inverse
	undo      []func() // inverses, run backwards if the multi fails
	snap      *Snapshot
}

type session struct {
	timeout int32
	eph     map[string]struct{}
}

// SessionInfo describes one live session.
type SessionInfo struct {
	ID         int64
	Timeout    int32
	Ephemerals int
}

func (s SessionInfo) String() string {
	return "s:0x" + hex(uint64(s.ID)) + " timeout=" + itoa(int64(s.Timeout)) + " eph=" + itoa(int64(s.Ephemerals))
}

const aclCacheMax = 4096

func newEmpty() *Tree {
	return &Tree{
		index:    make(map[string]int32),
		sessions: make(map[int64]*session),
		reapable: make(map[int32]struct{}),
		aclCache: make(map[string][]jute.ACL),
	}
}

// New holds "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config"
// with ZooKeeper's start-up stats (8.5, 8.8).
func New() *Tree {
	t := newEmpty()
	open := t.intern(jute.OpenACLUnsafe)
	root := &node{path: "/", data: []byte{}, acl: open, parent: -1}
	t.linkAt(t.alloc(), root)
	zk := t.link(&node{path: "/zookeeper", data: []byte{}, acl: open})
	t.link(&node{path: "/zookeeper/quota", data: []byte{}, acl: open, parent: zk})
	t.link(&node{path: "/zookeeper/config", data: []byte{}, acl: t.intern(jute.ReadACLUnsafe), aversion: -1, parent: zk})
	return t
}

// LastZxid is the zxid of the last applied txn.
func (t *Tree) LastZxid() zxid.Zxid { return t.lastZxid }

// NodeCount counts every znode once, the root and system nodes included
// (ZooKeeper's own count shows one more: it stores the root twice).
func (t *Tree) NodeCount() int { return len(t.index) }

// ApproxDataSize is the sum of path and data lengths, as ZooKeeper reports it.
func (t *Tree) ApproxDataSize() int64 { return t.dataSize }

// EphemeralCount is the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int { return t.ephCount }

// Digest is an order-independent hash of every node and session.
func (t *Tree) Digest() uint64 { return t.digest }

// intern shares equal ACL lists between nodes (most trees use a handful).
func (t *Tree) intern(acl []jute.ACL) []jute.ACL {
	if equalACL(acl, t.lastACL) {
		return t.lastACL
	}
	c := t.internSlow(acl)
	t.lastACL = c
	return c
}

func equalACL(a, b []jute.ACL) bool {
	if len(a) != len(b) || b == nil {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (t *Tree) internSlow(acl []jute.ACL) []jute.ACL {
	var b strings.Builder
	for _, a := range acl {
		b.WriteString(itoa(int64(a.Perms)))
		b.WriteByte(0)
		b.WriteString(a.ID.Scheme)
		b.WriteByte(0)
		b.WriteString(a.ID.ID)
		b.WriteByte(0)
	}
	k := b.String()
	if c, ok := t.aclCache[k]; ok {
		return c
	}
	c := append([]jute.ACL(nil), acl...)
	if len(t.aclCache) < aclCacheMax {
		t.aclCache[k] = c
	}
	return c
}

// --- mutation primitives: each keeps digest, counters, snapshot pre-images
// and (inside a multi) the undo log right.

func (t *Tree) alloc() int32 {
	if n := len(t.free); n > 0 {
		s := t.free[n-1]
		t.free = t.free[:n-1]
		return s
	}
	t.slots = append(t.slots, nil)
	return int32(len(t.slots) - 1)
}

// link places a new node (n.parent must be its parent's slot) and returns its slot.
func (t *Tree) link(n *node) int32 {
	s := t.alloc()
	t.linkAt(s, n)
	return s
}

func (t *Tree) linkAt(s int32, n *node) {
	t.touch(s)
	t.slots[s] = n
	t.index[n.path] = s
	if n.parent >= 0 {
		t.setChild(n.parent, childName(t.slots[n.parent].path, n.path), true)
	}
	t.account(s, n)
	if t.recording {
		t.undo = append(t.undo, func() { t.unlink(s) })
	}
}

// unlink removes a node (it must be childless) and frees its slot.
func (t *Tree) unlink(s int32) {
	n := t.slots[s]
	if len(n.children) > 0 {
		panic("tree: unlink of " + n.path + " with children")
	}
	t.touch(s)
	t.setChild(n.parent, childName(t.slots[n.parent].path, n.path), false)
	t.digest -= n.hash()
	t.dataSize -= n.size()
	delete(t.index, n.path)
	switch n.kind {
	case kindEphemeral:
		delete(t.sessions[n.owner].eph, n.path)
		t.ephCount--
	case kindContainer, kindTTL:
		delete(t.reapable, s)
	}
	t.slots[s] = nil
	t.free = append(t.free, s)
	if t.recording {
		t.undo = append(t.undo, func() { t.relink(s, n) })
	}
}

// relink undoes unlink: the slot is on top of the free stack again.
func (t *Tree) relink(s int32, n *node) {
	if k := len(t.free); k == 0 || t.free[k-1] != s {
		panic("tree: undo out of order")
	}
	t.free = t.free[:len(t.free)-1]
	t.linkAt(s, n)
}

func (t *Tree) setChild(parent int32, name string, add bool) {
	p := t.slots[parent]
	t.digest -= p.hash()
	if add {
		if p.children == nil {
			p.children = make(map[string]struct{})
		}
		p.children[name] = struct{}{}
	} else {
		delete(p.children, name)
		if len(p.children) == 0 {
			p.children = nil
		}
	}
	t.digest += p.hash()
}

// update changes a node's fields (never its children); content says data
// or acl changed, so the cached content hash is recomputed.
func (t *Tree) update(s int32, content bool, f func(n *node)) {
	n := t.slots[s]
	t.touch(s)
	if t.recording {
		old := *n
		t.undo = append(t.undo, func() {
			t.update(s, true, func(m *node) { ch := m.children; *m = old; m.children = ch })
		})
	}
	t.digest -= n.hash()
	t.dataSize -= n.size()
	f(n)
	if content {
		n.chash = n.contentHash()
	}
	t.digest += n.hash()
	t.dataSize += n.size()
}

func (t *Tree) addSession(id int64, timeout int32) {
	t.sessions[id] = &session{timeout: timeout, eph: make(map[string]struct{})}
	t.digest += sessionHash(id, timeout)
}

func (t *Tree) removeSession(id int64) {
	s := t.sessions[id]
	if len(s.eph) > 0 {
		panic("tree: session removed with ephemerals")
	}
	delete(t.sessions, id)
	t.digest -= sessionHash(id, s.timeout)
}

func childName(parent, child string) string {
	if parent == "/" {
		return child[1:]
	}
	return child[len(parent)+1:]
}

func childPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// --- reads

func (t *Tree) lookup(path string) (*node, bool) {
	s, ok := t.index[path]
	if !ok {
		return nil, false
	}
	return t.slots[s], true
}

// readable is the read precedence of 8.7: existence, then perm.
func (t *Tree) readable(path string, perm int32, ids []jute.Id) (*node, error) {
	n, ok := t.lookup(path)
	if !ok {
		return nil, jute.ErrNoNode
	}
	if err := checkPerm(n.acl, perm, ids); err != nil {
		return nil, err
	}
	return n, nil
}

// GetData returns the node's data (nil for a null create; callers must not
// modify it) and stat.
func (t *Tree) GetData(path string, ids []jute.Id) ([]byte, jute.Stat, error) {
	n, err := t.readable(path, jute.PermRead, ids)
	if err != nil {
		return nil, jute.Stat{}, err
	}
	return n.data, n.stat(), nil
}

// Exists returns the stat, ErrNoNode, or ErrNoAuth for an unreadable node.
func (t *Tree) Exists(path string, ids []jute.Id) (jute.Stat, error) {
	n, err := t.readable(path, jute.PermRead, ids)
	if err != nil {
		return jute.Stat{}, err
	}
	return n.stat(), nil
}

// Children returns the child names, sorted (ZooKeeper's order is a hash
// set's; sorted is deterministic and a valid instance of it).
func (t *Tree) Children(path string, ids []jute.Id) ([]string, jute.Stat, error) {
	n, err := t.readable(path, jute.PermRead, ids)
	if err != nil {
		return nil, jute.Stat{}, err
	}
	out := make([]string, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, n.stat(), nil
}

// GetACL needs READ or ADMIN; without ADMIN digest hashes are masked (9.7).
func (t *Tree) GetACL(path string, ids []jute.Id) ([]jute.ACL, jute.Stat, error) {
	n, err := t.readable(path, jute.PermRead|jute.PermAdmin, ids)
	if err != nil {
		return nil, jute.Stat{}, err
	}
	acl := append([]jute.ACL(nil), n.acl...)
	if checkPerm(n.acl, jute.PermAdmin, ids) != nil {
		acl = maskACL(acl)
	}
	return acl, n.stat(), nil
}

// AllChildrenNumber counts all descendants; for "/" every node but the root.
func (t *Tree) AllChildrenNumber(path string, ids []jute.Id) (int32, error) {
	n, err := t.readable(path, jute.PermRead, ids)
	if err != nil {
		return 0, err
	}
	if path == "/" {
		return int32(t.NodeCount() - 1), nil
	}
	return int32(t.countBelow(n)), nil
}

func (t *Tree) countBelow(n *node) int {
	c := 0
	for name := range n.children {
		child, _ := t.lookup(childPath(n.path, name))
		c += 1 + t.countBelow(child)
	}
	return c
}

// Ephemerals lists a session's ephemeral paths, sorted. "" and "/" match
// all; any other prefix is a plain string prefix (8.8). No ACL check.
func (t *Tree) Ephemerals(sessionID int64, prefix string) []string {
	s, ok := t.sessions[sessionID]
	if !ok {
		return nil
	}
	out := []string{}
	for p := range s.eph {
		if prefix == "" || prefix == "/" || strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Session reports a live session's negotiated timeout.
func (t *Tree) Session(id int64) (timeoutMs int32, ok bool) {
	s, ok := t.sessions[id]
	if !ok {
		return 0, false
	}
	return s.timeout, true
}

// Sessions lists live sessions sorted by id.
func (t *Tree) Sessions() []SessionInfo {
	out := make([]SessionInfo, 0, len(t.sessions))
	for id, s := range t.sessions {
		out = append(out, SessionInfo{ID: id, Timeout: s.timeout, Ephemerals: len(s.eph)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ReapCandidates lists, sorted, up to max (all if max <= 0) nodes the
// leader should delete with deleteContainer: empty containers that have had
// a child, and childless TTL nodes unmodified for longer than their ttl.
func (t *Tree) ReapCandidates(nowMs int64, max int) []string {
	var out []string
	for s := range t.reapable {
		n := t.slots[s]
		if len(n.children) > 0 {
			continue
		}
		if (n.kind == kindContainer && n.cversion > 0) || (n.kind == kindTTL && ttlExpired(n, nowMs)) {
			out = append(out, n.path)
		}
	}
	sort.Strings(out)
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}

func ttlExpired(n *node, nowMs int64) bool { return nowMs-n.mtime > n.ttl }
