// Package jute is the ZooKeeper client wire protocol: the jute binary
// encoding, every request and response record, opcodes, event types and
// error codes. It does no I/O; server/ and client/ move the bytes.
package jute

import "fmt"

// Stat is a znode's metadata as clients see it (68 bytes on the wire).
type Stat struct {
	Czxid          int64 // zxid of the create
	Mzxid          int64 // zxid of the last setData (or the create)
	Ctime          int64 // leader wall clock of the create, ms
	Mtime          int64 // leader wall clock of the last setData, ms
	Version        int32 // number of setData since create
	Cversion       int32 // child creates plus child deletes
	Aversion       int32 // number of setACL since create
	EphemeralOwner int64 // owning session of an ephemeral, else 0
	DataLength     int32
	NumChildren    int32
	Pzxid          int64 // zxid of the last child create or delete
}

// String is a short stable form for logs and test scripts.
func (s Stat) String() string {
	return fmt.Sprintf("czxid=0x%x mzxid=0x%x pzxid=0x%x v=%d cv=%d av=%d owner=0x%x len=%d children=%d",
		s.Czxid, s.Mzxid, s.Pzxid, s.Version, s.Cversion, s.Aversion, s.EphemeralOwner, s.DataLength, s.NumChildren)
}

// Id names an identity under an auth scheme ("world:anyone", "digest:u:hash").
type Id struct {
	Scheme string
	ID     string
}

func (i Id) String() string { return i.Scheme + ":" + i.ID }

// ACL grants Perms to the identities matching ID.
type ACL struct {
	Perms int32
	ID    Id
}

func (a ACL) String() string { return a.ID.String() + ":" + PermString(a.Perms) }

// Permission bits (ZooDefs.Perms).
const (
	PermRead   int32 = 1 << 0
	PermWrite  int32 = 1 << 1
	PermCreate int32 = 1 << 2
	PermDelete int32 = 1 << 3
	PermAdmin  int32 = 1 << 4
	PermAll    int32 = PermRead | PermWrite | PermCreate | PermDelete | PermAdmin
)

// PermString prints perms the way zkCli does: a subset of "crwda".
func PermString(p int32) string {
	out := make([]byte, 0, 5)
	for _, b := range []struct {
		bit int32
		c   byte
	}{{PermCreate, 'c'}, {PermDelete, 'd'}, {PermRead, 'r'}, {PermWrite, 'w'}, {PermAdmin, 'a'}} {
		if p&b.bit != 0 {
			out = append(out, b.c)
		}
	}
	return string(out)
}

// Well-known ids and ACL lists (ZooDefs.Ids).
var (
	AnyoneID = Id{Scheme: "world", ID: "anyone"}
	AuthIDs  = Id{Scheme: "auth", ID: ""}

	OpenACLUnsafe = []ACL{{Perms: PermAll, ID: AnyoneID}}
	CreatorAllACL = []ACL{{Perms: PermAll, ID: AuthIDs}}
	ReadACLUnsafe = []ACL{{Perms: PermRead, ID: AnyoneID}}
)
