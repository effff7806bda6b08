package tree

import (
	"strconv"
	"strings"

	"github.com/zabkeeper/zabkeeper/jute"
)

// CheckPerm is ZooKeeper's checkACL (9.2): nil if ids grant any bit of perm
// on a node with this acl, else ErrNoAuth.
func (t *Tree) CheckPerm(acl []jute.ACL, perm int32, ids []jute.Id) error {
	return checkPerm(acl, perm, ids)
}

func checkPerm(acl []jute.ACL, perm int32, ids []jute.Id) error {
	if len(acl) == 0 || isSuper(ids) {
		return nil
	}
	for _, a := range acl {
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID.Scheme == "world" && a.ID.ID == "anyone" {
			return nil
		}
		for _, id := range ids {
			if id.Scheme == a.ID.Scheme && idMatches(a.ID, id) {
				return nil
			}
		}
	}
	return jute.ErrNoAuth
}

func isSuper(ids []jute.Id) bool {
	for _, id := range ids {
		if id.Scheme == "super" {
			return true
		}
	}
	return false
}

// idMatches asks the scheme's provider whether the session's id satisfies the
// ACL's id. world has no provider (only world:anyone grants anything).
func idMatches(acl, have jute.Id) bool {
	switch acl.Scheme {
	case "ip":
		return ipMatches(acl.ID, have.ID)
	case "digest", "sasl", "x509":
		return acl.ID == have.ID
	}
	return false
}

// fixupACL validates and rewrites a create/setACL list (9.3): duplicates
// dropped, auth expanded to the requester's authenticated ids, every other
// entry checked by its scheme. Any problem is ErrInvalidACL.
func fixupACL(acl []jute.ACL, ids []jute.Id) ([]jute.ACL, error) {
	if len(acl) == 0 {
		return nil, jute.ErrInvalidACL
	}
	out := make([]jute.ACL, 0, len(acl))
	for _, a := range dedupACL(acl) {
		switch {
		case a.ID.Scheme == "world" && a.ID.ID == "anyone":
			out = append(out, a)
		case a.ID.Scheme == "auth":
			n := len(out)
			for _, id := range ids {
				if authenticatedScheme(id.Scheme) {
					out = append(out, jute.ACL{Perms: a.Perms, ID: id})
				}
			}
			if len(out) == n {
				return nil, jute.ErrInvalidACL
			}
		case validACLID(a.ID):
			out = append(out, a)
		default:
			return nil, jute.ErrInvalidACL
		}
	}
	return dedupACL(out), nil
}

// authenticatedScheme: ids that "auth" may expand to (ip is not an
// authentication, super has no provider).
func authenticatedScheme(s string) bool { return s == "digest" || s == "sasl" || s == "x509" }

func dedupACL(acl []jute.ACL) []jute.ACL {
	out := make([]jute.ACL, 0, len(acl))
	for _, a := range acl {
		dup := false
		for _, b := range out {
			if a == b {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, a)
		}
	}
	return out
}

func validACLID(id jute.Id) bool {
	switch id.Scheme {
	case "digest":
		return javaSplitLen(id.ID, ":") == 2
	case "ip":
		_, _, ok := parseIPACL(id.ID)
		return ok
	}
	return false
}

// javaSplitLen counts the parts Java's String.split would return (trailing
// empty parts dropped), which is how ZooKeeper validates digest ids.
func javaSplitLen(s, sep string) int {
	parts := strings.Split(s, sep)
	if s == "" {
		return 1
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return len(parts)
}

// maskACL hides digest hashes from readers without ADMIN (9.7).
func maskACL(acl []jute.ACL) []jute.ACL {
	out := make([]jute.ACL, len(acl))
	for i, a := range acl {
		if a.ID.Scheme == "digest" {
			if j := strings.IndexByte(a.ID.ID, ':'); j >= 0 {
				a.ID.ID = a.ID.ID[:j] + ":x"
			}
		}
		out[i] = a
	}
	return out
}

// ipMatches: the ACL id is "addr" or "addr/bits"; the session's id is an
// address of the same family.
func ipMatches(aclID, addr string) bool {
	want, bits, ok := parseIPACL(aclID)
	if !ok {
		return false
	}
	have, ok := parseIP(addr)
	if !ok || len(have) != len(want) {
		return false
	}
	for i := 0; i < len(want) && bits > 0; i++ {
		m := byte(0xff)
		if bits < 8 {
			m = byte(0xff << (8 - bits))
		}
		if want[i]&m != have[i]&m {
			return false
		}
		bits -= 8
	}
	return true
}

func parseIPACL(s string) (addr []byte, bits int, ok bool) {
	a, b, hasBits := strings.Cut(s, "/")
	addr, ok = parseIP(a)
	if !ok {
		return nil, 0, false
	}
	bits = len(addr) * 8
	if hasBits {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 || n > bits {
			return nil, 0, false
		}
		bits = n
	}
	return addr, bits, true
}

// parseIP reads dotted IPv4 (4 bytes) or IPv6 text (16 bytes). It is written
// here because the pure cores may not import net packages.
func parseIP(s string) ([]byte, bool) {
	if strings.Contains(s, ":") {
		return parseIPv6(s)
	}
	return parseIPv4(s)
}

func parseIPv4(s string) ([]byte, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil, false
	}
	out := make([]byte, 4)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || p == "" || len(p) > 3 || n < 0 || n > 255 {
			return nil, false
		}
		out[i] = byte(n)
	}
	return out, true
}

func parseIPv6(s string) ([]byte, bool) {
	if i := strings.IndexByte(s, '%'); i >= 0 { // zone
		s = s[:i]
	}
	head, tail, compressed := strings.Cut(s, "::")
	if compressed && strings.Contains(tail, "::") {
		return nil, false
	}
	h, ok1 := ipv6Groups(head)
	tl, ok2 := ipv6Groups(tail)
	if !ok1 || !ok2 {
		return nil, false
	}
	n := len(h) + len(tl)
	if (compressed && n > 14) || (!compressed && n != 16) {
		return nil, false
	}
	out := make([]byte, 16)
	copy(out, h)
	copy(out[16-len(tl):], tl)
	return out, true
}

// ipv6Groups parses colon-separated hex groups, the last may be dotted IPv4.
func ipv6Groups(s string) ([]byte, bool) {
	if s == "" {
		return nil, true
	}
	parts := strings.Split(s, ":")
	var out []byte
	for i, p := range parts {
		if i == len(parts)-1 && strings.Contains(p, ".") {
			v4, ok := parseIPv4(p)
			if !ok {
				return nil, false
			}
			return append(out, v4...), true
		}
		n, err := strconv.ParseUint(p, 16, 16)
		if err != nil || p == "" || len(p) > 4 {
			return nil, false
		}
		out = append(out, byte(n>>8), byte(n))
	}
	return out, true
}
