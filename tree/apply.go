package tree

import (
	"fmt"
	"sort"
	"strings"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Result is what a txn did, for the reply and the watch manager.
type Result struct {
	Err  error     // nil or a jute.Code sentinel
	Path string    // created path, sequential suffix included
	Stat jute.Stat // create*, setData, setACL: the node's new stat
	// Multi holds one result per op of a multi. When the multi fails, Err
	// above is the failing op's code; ops before it carry ErrMultiOK, the
	// failing op its code, later ops jute.ErrRuntimeInconsistency.
	Multi  []Result
	Events []Event // watch triggers, in order; empty on failure
}

func (r Result) String() string {
	s := "ok"
	if r.Err != nil {
		s = r.Err.Error()
	}
	if r.Path != "" {
		s += " " + r.Path
	}
	return fmt.Sprintf("%s events=%d", s, len(r.Events))
}

// ErrMultiOK marks an op that succeeded inside a multi that failed as a
// whole. It is jute.OK held in an error: non-nil (the op was not applied)
// but jute.CodeOf gives 0, which is what the server must put on the wire.
var ErrMultiOK error = jute.OK

// Event is a watch trigger. ACL decides who may receive it (7.4): the
// changed or deleted node's ACL, or the parent's for NodeChildrenChanged.
type Event struct {
	Type jute.EventType
	Path string
	ACL  []jute.ACL
}

func (e Event) String() string { return e.Type.String() + " " + e.Path }

// maxTTL is the largest ttl a TTL node accepts (40 bits of ms).
const maxTTL = 0xFFFFFFFFFF

// Apply runs one committed txn at zxid z and returns the client's result.
// It is deterministic; a failed txn changes nothing but LastZxid. The tree
// keeps op.Data and op.ACL: the caller must not modify the txn afterwards.
func (t *Tree) Apply(z zxid.Zxid, txn *Txn) Result {
	if z <= t.lastZxid {
		panic(fmt.Sprintf("tree: apply at %v after %v", z, t.lastZxid))
	}
	t.lastZxid = z
	var ev []Event
	var r Result
	switch txn.Op.Type {
	case jute.OpCreateSession:
		r = t.createSession(txn)
	case jute.OpCloseSession:
		r = t.closeSession(int64(z), txn, &ev)
	case jute.OpMulti:
		r = t.multi(int64(z), txn, &ev)
	default:
		r = t.applyOp(int64(z), txn, &txn.Op, &ev)
	}
	if r.Err == nil {
		r.Events = ev
	}
	return r
}

// applyOp checks everything before it mutates, so a failing op leaves the
// tree as it was.
func (t *Tree) applyOp(z int64, txn *Txn, op *Op, ev *[]Event) Result {
	switch op.Type {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		return t.create(z, txn, op, ev)
	case jute.OpDelete:
		return t.delete(z, txn, op, ev)
	case jute.OpSetData:
		return t.setData(z, txn, op, ev)
	case jute.OpSetACL:
		return t.setACL(txn, op)
	case jute.OpCheck:
		return t.check(txn, op)
	case jute.OpDeleteContainer:
		return t.deleteContainer(z, txn, op, ev)
	}
	return Result{Err: jute.ErrUnimplemented}
}

func fail(err error) Result { return Result{Err: err} }

func (t *Tree) checkSession(id int64) error {
	if id == 0 {
		return nil
	}
	if _, ok := t.sessions[id]; !ok {
		return jute.ErrSessionExpired
	}
	return nil
}

func checkVersion(want, have int32) error {
	if want != -1 && want != have {
		return jute.ErrBadVersion
	}
	return nil
}

// createKind applies 8.1/8.2: which flags each create opcode accepts.
func createKind(op *Op) (k kind, seq bool, err error) {
	if op.Flags < jute.ModePersistent || op.Flags > jute.ModePersistentSequentialWithTTL {
		return 0, false, jute.ErrBadArguments
	}
	ttlMode := op.Flags == jute.ModePersistentWithTTL || op.Flags == jute.ModePersistentSequentialWithTTL
	switch {
	case op.Type == jute.OpCreateTTL:
		if !ttlMode || op.TTL < 1 || op.TTL > maxTTL {
			return 0, false, jute.ErrBadArguments
		}
		return kindTTL, op.Flags == jute.ModePersistentSequentialWithTTL, nil
	case ttlMode: // opcodes 1, 15, 19 carry ttl -1, which fails the range check
		return 0, false, jute.ErrBadArguments
	case op.Type == jute.OpCreateContainer:
		return kindContainer, false, nil
	}
	seq = op.Flags == jute.ModePersistentSequential || op.Flags == jute.ModeEphemeralSequential
	if op.Flags == jute.ModeEphemeral || op.Flags == jute.ModeEphemeralSequential {
		return kindEphemeral, seq, nil
	}
	return kindPersistent, seq, nil // flag 4 via create(1/15) is a plain node
}

// create follows 8.7: flags, ttl, session, path shape, ACL, parent, CREATE,
// suffix, final path, exists, ephemeral parent.
func (t *Tree) create(z int64, txn *Txn, op *Op, ev *[]Event) Result {
	k, seq, err := createKind(op)
	if err != nil {
		return fail(err)
	}
	if err := t.checkSession(txn.Session); err != nil {
		return fail(err)
	}
	if k == kindEphemeral && txn.Session == 0 {
		return fail(jute.ErrSessionExpired)
	}
	parentPath, _, ok := splitParent(op.Path)
	if !ok || strings.IndexByte(op.Path, 0) >= 0 {
		return fail(jute.ErrBadArguments)
	}
	acl, err := fixupACL(op.ACL, txn.Auth)
	if err != nil {
		return fail(err)
	}
	ps, ok := t.index[parentPath]
	if !ok {
		return fail(jute.ErrNoNode)
	}
	parent := t.slots[ps]
	if err := checkPerm(parent.acl, jute.PermCreate, txn.Auth); err != nil {
		return fail(err)
	}
	path := op.Path
	if seq {
		path += fmt.Sprintf("%010d", parent.cversion)
	}
	if err := ValidatePath(path); err != nil {
		return fail(err)
	}
	if _, exists := t.index[path]; exists {
		return fail(jute.ErrNodeExists)
	}
	if parent.kind == kindEphemeral {
		return fail(jute.ErrNoChildrenForEphemerals)
	}
	t.update(ps, false, func(p *node) { p.cversion++; p.pzxid = z })
	n := &node{
		path: path, data: op.Data, acl: t.intern(acl),
		czxid: z, mzxid: z, pzxid: z, ctime: txn.Time, mtime: txn.Time,
		kind: k, parent: ps,
	}
	switch k {
	case kindEphemeral:
		n.owner = txn.Session
	case kindTTL:
		n.ttl = op.TTL
	}
	t.link(n)
	*ev = append(*ev, Event{jute.EventNodeCreated, path, n.acl},
		Event{jute.EventNodeChildrenChanged, parent.path, parent.acl})
	return Result{Path: path, Stat: n.stat()}
}

// delete follows 8.7: DELETE on the parent is checked before the node's
// existence, so a missing node under a forbidden parent is NoAuth.
func (t *Tree) delete(z int64, txn *Txn, op *Op, ev *[]Event) Result {
	if err := t.checkSession(txn.Session); err != nil {
		return fail(err)
	}
	parentPath, _, ok := splitParent(op.Path)
	if !ok || strings.IndexByte(op.Path, 0) >= 0 || isSystemPath(op.Path) {
		return fail(jute.ErrBadArguments)
	}
	parent, ok := t.lookup(parentPath)
	if !ok {
		return fail(jute.ErrNoNode)
	}
	if err := checkPerm(parent.acl, jute.PermDelete, txn.Auth); err != nil {
		return fail(err)
	}
	s, ok := t.index[op.Path]
	if !ok {
		return fail(jute.ErrNoNode)
	}
	n := t.slots[s]
	if err := checkVersion(op.Version, n.version); err != nil {
		return fail(err)
	}
	if len(n.children) > 0 {
		return fail(jute.ErrNotEmpty)
	}
	t.removeNode(z, s, ev)
	return Result{}
}

// removeNode deletes a childless node: parent pzxid moves, the internal
// cversion does not (so sequential numbers are never reused).
func (t *Tree) removeNode(z int64, s int32, ev *[]Event) {
	n := t.slots[s]
	parent := t.slots[n.parent]
	t.update(n.parent, false, func(p *node) { p.pzxid = z })
	t.unlink(s)
	*ev = append(*ev, Event{jute.EventNodeDeleted, n.path, n.acl},
		Event{jute.EventNodeChildrenChanged, parent.path, parent.acl})
}

// target finds the node a setData or deleteContainer acts on, after the
// checks both share, in ZooKeeper's order: session, path, existence.
func (t *Tree) target(txn *Txn, path string) (int32, *node, error) {
	if err := t.checkSession(txn.Session); err != nil {
		return 0, nil, err
	}
	if err := ValidatePath(path); err != nil {
		return 0, nil, err
	}
	s, ok := t.index[path]
	if !ok {
		return 0, nil, jute.ErrNoNode
	}
	return s, t.slots[s], nil
}

func (t *Tree) setData(z int64, txn *Txn, op *Op, ev *[]Event) Result {
	s, n, err := t.target(txn, op.Path)
	if err != nil {
		return fail(err)
	}
	if err := checkPerm(n.acl, jute.PermWrite, txn.Auth); err != nil {
		return fail(err)
	}
	if err := checkVersion(op.Version, n.version); err != nil {
		return fail(err)
	}
	t.update(s, true, func(n *node) {
		n.data = op.Data
		n.version++
		n.mzxid = z
		n.mtime = txn.Time
	})
	*ev = append(*ev, Event{jute.EventNodeDataChanged, n.path, n.acl})
	return Result{Stat: n.stat()}
}

// setACL fires no watch (7.3).
func (t *Tree) setACL(txn *Txn, op *Op) Result {
	if err := t.checkSession(txn.Session); err != nil {
		return fail(err)
	}
	if err := ValidatePath(op.Path); err != nil {
		return fail(err)
	}
	acl, err := fixupACL(op.ACL, txn.Auth)
	if err != nil {
		return fail(err)
	}
	s, ok := t.index[op.Path]
	if !ok {
		return fail(jute.ErrNoNode)
	}
	n := t.slots[s]
	if err := checkPerm(n.acl, jute.PermAdmin, txn.Auth); err != nil {
		return fail(err)
	}
	if err := checkVersion(op.Version, n.aversion); err != nil {
		return fail(err)
	}
	acl = t.intern(acl)
	t.update(s, true, func(n *node) { n.acl = acl; n.aversion++ })
	return Result{Stat: n.stat()}
}

func (t *Tree) check(txn *Txn, op *Op) Result {
	if err := t.checkSession(txn.Session); err != nil {
		return fail(err)
	}
	if err := ValidatePath(op.Path); err != nil {
		return fail(err)
	}
	n, err := t.readable(op.Path, jute.PermRead, txn.Auth)
	if err != nil {
		return fail(err)
	}
	if err := checkVersion(op.Version, n.version); err != nil {
		return fail(err)
	}
	return Result{}
}

// deleteContainer is the reaper's delete: it re-checks, at the txn's time,
// that the node is still an empty container or an expired childless TTL
// node, and never deletes anything else. No ACL check (server-internal).
func (t *Tree) deleteContainer(z int64, txn *Txn, op *Op, ev *[]Event) Result {
	s, n, err := t.target(txn, op.Path)
	if err != nil {
		return fail(err)
	}
	if n.kind != kindContainer && n.kind != kindTTL {
		return fail(jute.ErrBadArguments)
	}
	if len(n.children) > 0 {
		return fail(jute.ErrNotEmpty)
	}
	if n.kind == kindTTL && !ttlExpired(n, txn.Time) {
		return fail(jute.ErrBadArguments)
	}
	t.removeNode(z, s, ev)
	return Result{}
}

// createSession adds txn.Session with Op.Timeout. An id already in the
// table is ErrNodeExists and changes nothing; id 0 is ErrBadArguments.
func (t *Tree) createSession(txn *Txn) Result {
	if txn.Session == 0 {
		return fail(jute.ErrBadArguments)
	}
	if _, ok := t.sessions[txn.Session]; ok {
		return fail(jute.ErrNodeExists)
	}
	t.addSession(txn.Session, txn.Op.Timeout)
	return Result{}
}

// closeSession (client close and expiry alike) deletes the session's
// ephemerals in path order, then the session. An unknown session is
// ErrSessionExpired.
func (t *Tree) closeSession(z int64, txn *Txn, ev *[]Event) Result {
	s, ok := t.sessions[txn.Session]
	if !ok {
		return fail(jute.ErrSessionExpired)
	}
	paths := make([]string, 0, len(s.eph))
	for p := range s.eph {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		t.removeNode(z, t.index[p], ev)
	}
	t.removeSession(txn.Session)
	return Result{}
}

func multiOp(c jute.OpCode) bool {
	switch c {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL,
		jute.OpDelete, jute.OpSetData, jute.OpCheck:
		return true
	}
	return false
}

// multi applies its ops for real, logging inverses; on the first failure
// it runs the inverses backwards, so nothing of it remains (section 6).
func (t *Tree) multi(z int64, txn *Txn, ev *[]Event) Result {
	ops := txn.Op.Ops
	res := make([]Result, len(ops))
	failed := -1
	t.recording = true
	for i := range ops {
		if !multiOp(ops[i].Type) {
			res[i] = fail(jute.ErrBadArguments)
		} else {
			res[i] = t.applyOp(z, txn, &ops[i], ev)
		}
		if res[i].Err != nil {
			failed = i
			break
		}
	}
	t.recording = false
	if failed >= 0 {
		for i := len(t.undo) - 1; i >= 0; i-- {
			t.undo[i]()
		}
	}
	clear(t.undo)
	t.undo = t.undo[:0]
	if failed < 0 {
		return Result{Multi: res}
	}
	for i := range res {
		switch {
		case i < failed:
			res[i] = Result{Err: ErrMultiOK}
		case i > failed:
			res[i] = Result{Err: jute.ErrRuntimeInconsistency}
		}
	}
	return Result{Err: res[failed].Err, Multi: res}
}
