package client

import "github.com/zabkeeper/zabkeeper/jute"

// ACL helpers: the ACL lists applications build most often. perms is a mask
// of jute.PermRead, PermWrite, PermCreate, PermDelete, PermAdmin (PermAll).

// WorldACL grants perms to everyone (world:anyone); WorldACL(jute.PermAll) is
// ZooKeeper's OPEN_ACL_UNSAFE, the default when Create gets no ACL.
func WorldACL(perms int32) []jute.ACL {
	return []jute.ACL{{Perms: perms, ID: jute.AnyoneID}}
}

// CreatorACL grants perms to the identities the creating session
// authenticated with (the auth scheme; ZooKeeper's CREATOR_ALL_ACL for
// PermAll). The session must have added credentials (WithAuth or AddAuth).
func CreatorACL(perms int32) []jute.ACL {
	return []jute.ACL{{Perms: perms, ID: jute.AuthIDs}}
}

// DigestACL grants perms to the digest user with this password; the server
// stores only the password's hash.
func DigestACL(perms int32, user, password string) []jute.ACL {
	return []jute.ACL{{Perms: perms, ID: jute.Id{Scheme: "digest", ID: jute.DigestID(user, password)}}}
}

// IPACL grants perms to clients connecting from addr ("10.0.0.7" or a
// network such as "10.0.0.0/8").
func IPACL(perms int32, addr string) []jute.ACL {
	return []jute.ACL{{Perms: perms, ID: jute.Id{Scheme: "ip", ID: addr}}}
}
