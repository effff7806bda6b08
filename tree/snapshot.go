package tree

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Snapshot stream: a header, one record per node, a trailer with the
// digest. Each is a msgpack value; the header's node count says where the
// nodes end.
const (
	snapMagic   = "zabkeeper-tree"
	snapVersion = 1
)

type snapHeader struct {
	Magic    string       `codec:"m"`
	Version  int          `codec:"v"`
	Zxid     int64        `codec:"z"`
	Nodes    int          `codec:"n"`
	Sessions []sessionRec `codec:"s"`
}

type sessionRec struct {
	ID      int64 `codec:"i"`
	Timeout int32 `codec:"t"`
}

// nodeRec is a node's persisted form; Cversion is the internal counter.
// It is encoded as a msgpack array (the header's version guards the layout).
type nodeRec struct {
	_struct  bool       `codec:",toarray"` //nolint:unused // codec directive
	Path     string     `codec:"p"`
	Data     []byte     `codec:"d"` // no omitempty: nil and empty differ
	ACL      []jute.ACL `codec:"a"`
	Czxid    int64      `codec:"cz"`
	Mzxid    int64      `codec:"mz"`
	Pzxid    int64      `codec:"pz"`
	Ctime    int64      `codec:"ct"`
	Mtime    int64      `codec:"mt"`
	Version  int32      `codec:"v"`
	Cversion int32      `codec:"cv"`
	Aversion int32      `codec:"av"`
	Kind     uint8      `codec:"k"`
	Owner    int64      `codec:"o"`
	TTL      int64      `codec:"t"`
}

type snapTrailer struct {
	Digest uint64 `codec:"d"`
	Nodes  int    `codec:"n"`
}

// Snapshot streams the tree exactly as it was at BeginSnapshot while Apply
// keeps running: Apply saves the pre-image of any slot the snapshot has not
// written yet on its first change (copy-on-write).
type Snapshot struct {
	t        *Tree
	zxid     zxid.Zxid
	n        int32           // slots that existed at Begin; later slots are skipped
	cursor   int32           // next slot to write
	pre      map[int32]*node // pre-images; nil value = slot was empty at Begin
	nodes    int
	written  int
	sessions []sessionRec
	digest   uint64
	started  bool
}

// BeginSnapshot is O(1) in the node count (it copies only the session
// table). Only one snapshot may be open; a second Begin panics.
func (t *Tree) BeginSnapshot() *Snapshot {
	if t.snap != nil {
		panic("tree: a snapshot is already in progress")
	}
	s := &Snapshot{
		t: t, zxid: t.lastZxid, n: int32(len(t.slots)), pre: make(map[int32]*node),
		nodes: len(t.index), digest: t.digest,
	}
	for _, si := range t.Sessions() {
		s.sessions = append(s.sessions, sessionRec{ID: si.ID, Timeout: si.Timeout})
	}
	t.snap = s
	return s
}

// Zxid is the zxid the snapshot captures.
func (s *Snapshot) Zxid() zxid.Zxid { return s.zxid }

func (s *Snapshot) String() string {
	return fmt.Sprintf("snapshot %v nodes=%d written=%d", s.zxid, s.nodes, s.written)
}

// touch records slot's pre-image before its first change, if the snapshot
// still has to write it.
func (t *Tree) touch(slot int32) {
	s := t.snap
	if s == nil || slot >= s.n || slot < s.cursor {
		return
	}
	if _, ok := s.pre[slot]; ok {
		return
	}
	var cp *node
	if n := t.slots[slot]; n != nil {
		c := *n
		cp = &c
	}
	s.pre[slot] = cp
}

// Abort ends the snapshot early so another may begin.
func (s *Snapshot) Abort() {
	if s.t != nil && s.t.snap == s {
		s.t.snap = nil
	}
	s.t = nil
	s.pre = nil
}

var errSnapClosed = errors.New("tree: snapshot is finished or aborted")

// WriteChunk writes the header (first call), the next maxNodes nodes as
// they were at Begin, and the trailer once all are out (done = true). A
// write error aborts the snapshot.
func (s *Snapshot) WriteChunk(w io.Writer, maxNodes int) (done bool, err error) {
	if s.t == nil {
		return false, errSnapClosed
	}
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, mh)
	var rec nodeRec
	if !s.started {
		s.started = true
		h := snapHeader{Magic: snapMagic, Version: snapVersion, Zxid: int64(s.zxid), Nodes: s.nodes, Sessions: s.sessions}
		if err := enc.Encode(&h); err != nil {
			s.Abort()
			return false, err
		}
	}
	for k := 0; k < maxNodes && s.cursor < s.n; {
		n, ok := s.pre[s.cursor]
		if ok {
			delete(s.pre, s.cursor)
		} else {
			n = s.t.slots[s.cursor]
		}
		s.cursor++
		if n == nil {
			continue
		}
		toRec(n, &rec)
		if err := enc.Encode(&rec); err != nil {
			s.Abort()
			return false, err
		}
		k++
		s.written++
	}
	if s.cursor == s.n {
		if s.written != s.nodes {
			panic(fmt.Sprintf("tree: snapshot wrote %d nodes, expected %d", s.written, s.nodes))
		}
		if err := enc.Encode(&snapTrailer{Digest: s.digest, Nodes: s.written}); err != nil {
			s.Abort()
			return false, err
		}
		done = true
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		s.Abort()
		return false, err
	}
	if done {
		s.Abort()
	}
	return done, nil
}

func toRec(n *node, r *nodeRec) {
	*r = nodeRec{
		Path: n.path, Data: n.data, ACL: n.acl,
		Czxid: n.czxid, Mzxid: n.mzxid, Pzxid: n.pzxid, Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: n.cversion, Aversion: n.aversion,
		Kind: uint8(n.kind), Owner: n.owner, TTL: n.ttl,
	}
}

// Restore rebuilds a tree from a snapshot stream and checks the trailer
// digest against the rebuilt tree.
func Restore(r io.Reader) (*Tree, error) {
	dec := codec.NewDecoder(bufio.NewReaderSize(r, 64<<10), mh)
	var h snapHeader
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("tree: snapshot header: %w", err)
	}
	if h.Magic != snapMagic || h.Version != snapVersion {
		return nil, fmt.Errorf("tree: not a tree snapshot (magic %q version %d)", h.Magic, h.Version)
	}
	t := newEmpty()
	t.lastZxid = zxid.Zxid(h.Zxid)
	for _, s := range h.Sessions {
		t.addSession(s.ID, s.Timeout)
	}
	recs := make([]*node, 0, h.Nodes)
	for i := 0; i < h.Nodes; i++ {
		var rec nodeRec
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("tree: snapshot node %d: %w", i, err)
		}
		n, err := t.fromRec(&rec)
		if err != nil {
			return nil, err
		}
		recs = append(recs, n)
	}
	if err := t.linkAll(recs); err != nil {
		return nil, err
	}
	var tr snapTrailer
	if err := dec.Decode(&tr); err != nil {
		return nil, fmt.Errorf("tree: snapshot trailer: %w", err)
	}
	if tr.Nodes != h.Nodes || tr.Digest != t.digest {
		return nil, fmt.Errorf("tree: snapshot digest mismatch: stream %x, rebuilt %x", tr.Digest, t.digest)
	}
	return t, nil
}

func (t *Tree) fromRec(r *nodeRec) (*node, error) {
	if ValidatePath(r.Path) != nil || r.Kind > uint8(kindTTL) {
		return nil, fmt.Errorf("tree: snapshot has a bad node %q", r.Path)
	}
	n := &node{
		path: r.Path, data: r.Data, acl: t.intern(r.ACL),
		czxid: r.Czxid, mzxid: r.Mzxid, pzxid: r.Pzxid, ctime: r.Ctime, mtime: r.Mtime,
		version: r.Version, cversion: r.Cversion, aversion: r.Aversion,
		kind: kind(r.Kind), owner: r.Owner, ttl: r.TTL, parent: -1,
	}
	if n.kind == kindEphemeral {
		if _, ok := t.sessions[n.owner]; !ok {
			return nil, fmt.Errorf("tree: snapshot ephemeral %s of unknown session 0x%x", n.path, n.owner)
		}
	}
	return n, nil
}

// linkAll places restored nodes parents first (sorted by depth, then path,
// so slot order is deterministic).
func (t *Tree) linkAll(ns []*node) error {
	type byDepth struct {
		d int
		n *node
	}
	order := make([]byDepth, len(ns))
	for i, n := range ns {
		order[i] = byDepth{depth(n.path), n}
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].d != order[j].d {
			return order[i].d < order[j].d
		}
		return order[i].n.path < order[j].n.path
	})
	for _, o := range order {
		n := o.n
		if _, dup := t.index[n.path]; dup {
			return fmt.Errorf("tree: snapshot has %s twice", n.path)
		}
		if n.path != "/" {
			pp, _, _ := splitParent(n.path)
			ps, ok := t.index[pp]
			if !ok {
				return fmt.Errorf("tree: snapshot node %s has no parent", n.path)
			}
			n.parent = ps
		} else if len(t.index) != 0 {
			panic("tree: root sorted after other nodes")
		}
		t.link(n)
	}
	if _, ok := t.index["/"]; !ok && len(ns) > 0 {
		return errors.New("tree: snapshot has no root")
	}
	return nil
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}
