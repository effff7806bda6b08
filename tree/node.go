package tree

import (
	"encoding/binary"

	"github.com/zabkeeper/zabkeeper/jute"
)

// kind is how a znode lives and dies.
type kind uint8

const (
	kindPersistent kind = iota
	kindEphemeral       // deleted with its owner session
	kindContainer       // reaped when empty after having had a child
	kindTTL             // reaped when childless and unmodified for ttl ms
)

func (k kind) String() string {
	return [...]string{"persistent", "ephemeral", "container", "ttl"}[k]
}

// node is one znode in the arena. data and acl slices are never modified in
// place (they are replaced), so a shallow copy is a faithful pre-image.
type node struct {
	path     string
	data     []byte // nil for a null create
	acl      []jute.ACL
	czxid    int64
	mzxid    int64
	pzxid    int64
	ctime    int64
	mtime    int64
	owner    int64 // owning session of an ephemeral
	ttl      int64 // ms, TTL nodes only
	version  int32
	cversion int32 // internal: child creations only (the sequential counter)
	aversion int32
	parent   int32 // slot of the parent; -1 for the root
	kind     kind
	children map[string]struct{} // child names; nil while childless
	chash    uint64              // hash of path, data, acl, kind, owner, ttl
}

// stat is the client view (8.3, 8.5).
func (n *node) stat() jute.Stat {
	nc := int32(len(n.children))
	st := jute.Stat{
		Czxid: n.czxid, Mzxid: n.mzxid, Pzxid: n.pzxid,
		Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: 2*n.cversion - nc, Aversion: n.aversion,
		DataLength: int32(len(n.data)), NumChildren: nc,
	}
	if n.kind == kindEphemeral {
		st.EphemeralOwner = n.owner
	}
	return st
}

// size is what the node adds to ApproxDataSize (path plus data, as ZooKeeper counts).
func (n *node) size() int64 { return int64(len(n.path) + len(n.data)) }

// Digest maths: FNV-1a over the content that changes rarely (cached in
// chash), then a splitmix finaliser over the stat words, so a child change
// on a parent with large data costs O(1). Node hashes are summed, which
// makes the tree digest independent of iteration order.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvU64(h, v uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return fnvBytes(h, b[:])
}

func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func (n *node) contentHash() uint64 {
	h := fnvString(fnvOffset, n.path)
	if n.data == nil {
		h = fnvU64(h, 1<<63) // null data differs from empty data
	} else {
		h = fnvU64(h, uint64(len(n.data)))
		h = fnvBytes(h, n.data)
	}
	for _, a := range n.acl {
		h = fnvU64(h, uint64(a.Perms))
		h = fnvString(h, a.ID.Scheme)
		h = fnvU64(h, 0)
		h = fnvString(h, a.ID.ID)
		h = fnvU64(h, 0)
	}
	h = fnvU64(h, uint64(n.kind))
	h = fnvU64(h, uint64(n.owner))
	return fnvU64(h, uint64(n.ttl))
}

func (n *node) hash() uint64 {
	h := n.chash
	for _, v := range [...]uint64{
		uint64(n.czxid), uint64(n.mzxid), uint64(n.pzxid), uint64(n.ctime), uint64(n.mtime),
		uint64(uint32(n.version))<<32 | uint64(uint32(n.cversion)),
		uint64(uint32(n.aversion))<<32 | uint64(len(n.children)),
	} {
		h = mix(h ^ v)
	}
	return h
}

func sessionHash(id int64, timeout int32) uint64 {
	return mix(mix(uint64(id)^0x5e55) ^ uint64(uint32(timeout)))
}
