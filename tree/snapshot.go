package tree

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// Snapshot stream, version 2: a hand-written compact encoding (varints,
// length-prefixed bytes, ACL lists written once and then referenced), since
// reflection-based msgpack dominated both writing and restoring millions of
// nodes.
//
//	header   magic "ZKTREE\x00\x02" | uvarint zxid | uvarint nodes |
//	         uvarint sessions | sessions × (uvarint id, varint timeout)
//	node     uvarint len | path | uvarint data len+1 (0 = nil) | data |
//	         uvarint acl ref (0 = a new list follows: uvarint count, count ×
//	         (varint perms, uvarint len, scheme, uvarint len, id); k = the
//	         k-th list defined earlier) | varint czxid | varint mzxid-czxid |
//	         varint pzxid-czxid | varint ctime | varint mtime-ctime |
//	         varint version, cversion, aversion | byte kind | varint owner |
//	         varint ttl
//	trailer  digest (8 bytes, big-endian) | uvarint nodes
//
// Restore still reads version 1 (a msgpack header, msgpack node arrays and a
// msgpack trailer), so data directories written before keep working.
const snapMagic = "ZKTREE\x00\x02"

// Bounds that keep a damaged stream from asking for absurd allocations.
const (
	maxSnapPath  = 1 << 16
	maxSnapData  = 1 << 30
	maxSnapACL   = 1 << 16
	maxSnapPre   = 1 << 24 // nodes preallocated from the header's count
	snapChunkMax = 1 << 20 // buffered bytes before WriteChunk flushes early
)

// aclKey identifies an interned ACL list by its backing array.
type aclKey struct {
	p *jute.ACL
	n int
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
	sessions []SessionInfo
	digest   uint64
	started  bool
	buf      []byte            // encoding buffer, reused across chunks
	acls     map[aclKey]uint64 // ACL lists already in the stream -> their ref
}

// BeginSnapshot is O(1) in the node count (it copies only the session
// table). Only one snapshot may be open; a second Begin panics.
func (t *Tree) BeginSnapshot() *Snapshot {
	if t.snap != nil {
		panic("tree: a snapshot is already in progress")
	}
	s := &Snapshot{
		t: t, zxid: t.lastZxid, n: int32(len(t.slots)), pre: make(map[int32]*node),
		nodes: len(t.index), digest: t.digest, sessions: t.Sessions(), acls: make(map[aclKey]uint64),
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
	b := s.buf[:0]
	if !s.started {
		s.started = true
		b = s.appendHeader(b)
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
		b = s.appendNode(b, n)
		k++
		s.written++
		if len(b) >= snapChunkMax {
			if b, err = s.flush(w, b); err != nil {
				return false, err
			}
		}
	}
	if s.cursor == s.n {
		if s.written != s.nodes {
			panic(fmt.Sprintf("tree: snapshot wrote %d nodes, expected %d", s.written, s.nodes))
		}
		b = binary.BigEndian.AppendUint64(b, s.digest)
		b = binary.AppendUvarint(b, uint64(s.written))
		done = true
	}
	if b, err = s.flush(w, b); err != nil {
		return false, err
	}
	s.buf = b
	if done {
		s.Abort()
	}
	return done, nil
}

// flush writes b out and returns it emptied for reuse; an error aborts.
func (s *Snapshot) flush(w io.Writer, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return b, nil
	}
	if _, err := w.Write(b); err != nil {
		s.Abort()
		return nil, err
	}
	return b[:0], nil
}

func (s *Snapshot) appendHeader(b []byte) []byte {
	b = append(b, snapMagic...)
	b = binary.AppendUvarint(b, uint64(s.zxid))
	b = binary.AppendUvarint(b, uint64(s.nodes))
	b = binary.AppendUvarint(b, uint64(len(s.sessions)))
	for _, si := range s.sessions {
		b = binary.AppendUvarint(b, uint64(si.ID))
		b = binary.AppendVarint(b, int64(si.Timeout))
	}
	return b
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendString(b []byte, p string) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func (s *Snapshot) appendNode(b []byte, n *node) []byte {
	b = appendString(b, n.path)
	if n.data == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(n.data))+1)
		b = append(b, n.data...)
	}
	b = s.appendACL(b, n.acl)
	b = binary.AppendVarint(b, n.czxid)
	b = binary.AppendVarint(b, n.mzxid-n.czxid)
	b = binary.AppendVarint(b, n.pzxid-n.czxid)
	b = binary.AppendVarint(b, n.ctime)
	b = binary.AppendVarint(b, n.mtime-n.ctime)
	b = binary.AppendVarint(b, int64(n.version))
	b = binary.AppendVarint(b, int64(n.cversion))
	b = binary.AppendVarint(b, int64(n.aversion))
	b = append(b, byte(n.kind))
	b = binary.AppendVarint(b, n.owner)
	return binary.AppendVarint(b, n.ttl)
}

// appendACL writes a reference to an ACL list already in the stream, or
// the list itself the first time (trees share a handful of interned lists).
func (s *Snapshot) appendACL(b []byte, acl []jute.ACL) []byte {
	var k aclKey
	if len(acl) > 0 {
		k = aclKey{&acl[0], len(acl)}
	}
	if ref, ok := s.acls[k]; ok {
		return binary.AppendUvarint(b, ref)
	}
	s.acls[k] = uint64(len(s.acls) + 1)
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(acl)))
	for _, a := range acl {
		b = binary.AppendVarint(b, int64(a.Perms))
		b = appendString(b, a.ID.Scheme)
		b = appendString(b, a.ID.ID)
	}
	return b
}

// Restore rebuilds a tree from a snapshot stream (version 2, or version 1
// from older data directories) and checks the trailer digest against the
// rebuilt tree.
func Restore(r io.Reader) (*Tree, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if m, err := br.Peek(len(snapMagic)); err == nil && string(m) == snapMagic {
		_, _ = br.Discard(len(snapMagic))
		return restoreV2(br)
	}
	return restoreV1(br)
}

// snapReader decodes version 2; the first error sticks, so callers check
// once per record.
type snapReader struct {
	r   *bufio.Reader
	err error
	buf []byte
}

func (d *snapReader) fail(err error) {
	if d.err == nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.err = err
	}
}

func (d *snapReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		d.fail(err)
	}
	return v
}

func (d *snapReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(d.r)
	if err != nil {
		d.fail(err)
	}
	return v
}

func (d *snapReader) int32() int32 {
	v := d.varint()
	if v != int64(int32(v)) {
		d.fail(errors.New("tree: snapshot value out of range"))
	}
	return int32(v)
}

// bytes reads n bytes into a fresh slice.
func (d *snapReader) bytes(n uint64, limit uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > limit {
		d.fail(fmt.Errorf("tree: snapshot field of %d bytes (limit %d)", n, limit))
		return nil
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(d.r, out); err != nil {
		d.fail(err)
	}
	return out
}

// string reads a length-prefixed string through a scratch buffer.
func (d *snapReader) string(limit uint64) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > limit {
		d.fail(fmt.Errorf("tree: snapshot string of %d bytes (limit %d)", n, limit))
		return ""
	}
	if uint64(cap(d.buf)) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail(err)
		return ""
	}
	return string(b)
}

func restoreV2(r *bufio.Reader) (*Tree, error) {
	d := &snapReader{r: r}
	t := newEmpty()
	t.lastZxid = zxid.Zxid(d.uvarint())
	count := d.uvarint()
	for i, ns := uint64(0), d.uvarint(); i < ns && d.err == nil; i++ {
		id, timeout := int64(d.uvarint()), d.int32()
		if d.err == nil {
			t.addSession(id, timeout)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("tree: snapshot header: %w", d.err)
	}
	nodes := make([]*node, 0, min(count, maxSnapPre))
	var acls [][]jute.ACL
	for i := uint64(0); i < count; i++ {
		n := d.node(t, &acls)
		if d.err != nil {
			return nil, fmt.Errorf("tree: snapshot node %d: %w", i, d.err)
		}
		if err := t.checkRestored(n); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if err := t.linkRestored(nodes); err != nil {
		return nil, err
	}
	var tr [8]byte
	if _, err := io.ReadFull(r, tr[:]); err != nil {
		return nil, fmt.Errorf("tree: snapshot trailer: %w", err)
	}
	digest, tn := binary.BigEndian.Uint64(tr[:]), d.uvarint()
	if d.err != nil {
		return nil, fmt.Errorf("tree: snapshot trailer: %w", d.err)
	}
	if tn != count || digest != t.digest {
		return nil, fmt.Errorf("tree: snapshot digest mismatch: stream %x, rebuilt %x", digest, t.digest)
	}
	return t, nil
}

// node decodes one node record; acls holds the lists defined so far.
func (d *snapReader) node(t *Tree, acls *[][]jute.ACL) *node {
	n := &node{parent: -1}
	n.path = d.string(maxSnapPath)
	if dl := d.uvarint(); dl > 0 {
		n.data = d.bytes(dl-1, maxSnapData)
	}
	n.acl = d.acl(t, acls)
	n.czxid = d.varint()
	n.mzxid = n.czxid + d.varint()
	n.pzxid = n.czxid + d.varint()
	n.ctime = d.varint()
	n.mtime = n.ctime + d.varint()
	n.version, n.cversion, n.aversion = d.int32(), d.int32(), d.int32()
	if d.err == nil {
		k, err := d.r.ReadByte()
		d.fail(err)
		n.kind = kind(k)
	}
	n.owner = d.varint()
	n.ttl = d.varint()
	return n
}

func (d *snapReader) acl(t *Tree, acls *[][]jute.ACL) []jute.ACL {
	ref := d.uvarint()
	if d.err != nil {
		return nil
	}
	if ref > 0 {
		if ref > uint64(len(*acls)) {
			d.fail(fmt.Errorf("tree: snapshot refers to ACL list %d of %d", ref, len(*acls)))
			return nil
		}
		return (*acls)[ref-1]
	}
	cnt := d.uvarint()
	if cnt > maxSnapACL {
		d.fail(fmt.Errorf("tree: snapshot ACL list of %d entries", cnt))
		return nil
	}
	list := make([]jute.ACL, 0, cnt)
	for i := uint64(0); i < cnt && d.err == nil; i++ {
		perms := d.int32()
		scheme := d.string(maxSnapPath)
		id := d.string(maxSnapPath)
		list = append(list, jute.ACL{Perms: perms, ID: jute.Id{Scheme: scheme, ID: id}})
	}
	c := t.intern(list)
	*acls = append(*acls, c)
	return c
}

// checkRestored rejects a node no Apply could have made.
func (t *Tree) checkRestored(n *node) error {
	if ValidatePath(n.path) != nil || n.kind > kindTTL {
		return fmt.Errorf("tree: snapshot has a bad node %q", n.path)
	}
	if n.kind == kindEphemeral {
		if _, ok := t.sessions[n.owner]; !ok {
			return fmt.Errorf("tree: snapshot ephemeral %s of unknown session 0x%x", n.path, n.owner)
		}
	}
	return nil
}

// linkRestored places restored nodes in stream order (slot i = node i, so
// the layout follows from the stream alone) and links them in passes
// instead of one link per node: index, parents, exactly sized child maps,
// then hashes and counters. The result equals linking them one by one.
func (t *Tree) linkRestored(ns []*node) error {
	t.slots = ns
	t.index = make(map[string]int32, len(ns))
	for i, n := range ns {
		if _, dup := t.index[n.path]; dup {
			return fmt.Errorf("tree: snapshot has %s twice", n.path)
		}
		t.index[n.path] = int32(i)
	}
	if _, ok := t.index["/"]; !ok && len(ns) > 0 {
		return errors.New("tree: snapshot has no root")
	}
	kids := make([]int32, len(ns))
	for _, n := range ns {
		if n.path == "/" {
			continue
		}
		pp, _, _ := splitParent(n.path)
		ps, ok := t.index[pp]
		if !ok {
			return fmt.Errorf("tree: snapshot node %s has no parent", n.path)
		}
		n.parent = ps
		kids[ps]++
	}
	for i, n := range ns {
		if kids[i] > 0 {
			n.children = make(map[string]struct{}, kids[i])
		}
	}
	for _, n := range ns {
		if n.parent >= 0 {
			p := ns[n.parent]
			p.children[childName(p.path, n.path)] = struct{}{}
		}
	}
	for i, n := range ns {
		t.account(int32(i), n)
	}
	return nil
}

// account adds a linked node to the digest, counters and side tables.
func (t *Tree) account(s int32, n *node) {
	n.chash = n.contentHash()
	t.digest += n.hash()
	t.dataSize += n.size()
	switch n.kind {
	case kindEphemeral:
		t.sessions[n.owner].eph[n.path] = struct{}{}
		t.ephCount++
	case kindContainer, kindTTL:
		t.reapable[s] = struct{}{}
	}
}

// --- version 1 (msgpack), read only.

const (
	snapMagicV1   = "zabkeeper-tree"
	snapVersionV1 = 1
)

type snapHeaderV1 struct {
	Magic    string         `codec:"m"`
	Version  int            `codec:"v"`
	Zxid     int64          `codec:"z"`
	Nodes    int            `codec:"n"`
	Sessions []sessionRecV1 `codec:"s"`
}

type sessionRecV1 struct {
	ID      int64 `codec:"i"`
	Timeout int32 `codec:"t"`
}

// nodeRecV1 is a node's version-1 form, a msgpack array.
type nodeRecV1 struct {
	_struct  bool       `codec:",toarray"` //nolint:unused // codec directive
	Path     string     `codec:"p"`
	Data     []byte     `codec:"d"`
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

type snapTrailerV1 struct {
	Digest uint64 `codec:"d"`
	Nodes  int    `codec:"n"`
}

func restoreV1(r io.Reader) (*Tree, error) {
	dec := codec.NewDecoder(r, mh)
	var h snapHeaderV1
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("tree: snapshot header: %w", err)
	}
	if h.Magic != snapMagicV1 || h.Version != snapVersionV1 {
		return nil, fmt.Errorf("tree: not a tree snapshot (magic %q version %d)", h.Magic, h.Version)
	}
	t := newEmpty()
	t.lastZxid = zxid.Zxid(h.Zxid)
	for _, s := range h.Sessions {
		t.addSession(s.ID, s.Timeout)
	}
	nodes := make([]*node, 0, min(max(h.Nodes, 0), maxSnapPre))
	for i := 0; i < h.Nodes; i++ {
		var rec nodeRecV1
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("tree: snapshot node %d: %w", i, err)
		}
		n := &node{
			path: rec.Path, data: rec.Data, acl: t.intern(rec.ACL),
			czxid: rec.Czxid, mzxid: rec.Mzxid, pzxid: rec.Pzxid, ctime: rec.Ctime, mtime: rec.Mtime,
			version: rec.Version, cversion: rec.Cversion, aversion: rec.Aversion,
			kind: kind(rec.Kind), owner: rec.Owner, ttl: rec.TTL, parent: -1,
		}
		if err := t.checkRestored(n); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if err := t.linkRestored(nodes); err != nil {
		return nil, err
	}
	var tr snapTrailerV1
	if err := dec.Decode(&tr); err != nil {
		return nil, fmt.Errorf("tree: snapshot trailer: %w", err)
	}
	if tr.Nodes != h.Nodes || tr.Digest != t.digest {
		return nil, fmt.Errorf("tree: snapshot digest mismatch: stream %x, rebuilt %x", tr.Digest, t.digest)
	}
	return t, nil
}
