package tree

import (
	"crypto/sha1"
	"encoding/base64"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
)

func TestDigestID(t *testing.T) {
	sum := sha1.Sum([]byte("super:adminsecret"))
	want := "super:" + base64.StdEncoding.EncodeToString(sum[:])
	if got := jute.DigestID("super", "adminsecret"); got != want {
		t.Fatalf("DigestID = %q, want %q", got, want)
	}
}

func TestCheckPerm(t *testing.T) {
	tr := New()
	alice := jute.Id{Scheme: "digest", ID: jute.DigestID("alice", "pw")}
	for _, tc := range []struct {
		name string
		acl  []jute.ACL
		perm int32
		ids  []jute.Id
		ok   bool
	}{
		{"empty ACL allows", nil, jute.PermAdmin, nil, true},
		{"world anyone", jute.OpenACLUnsafe, jute.PermWrite, nil, true},
		{"world perms limit", jute.ReadACLUnsafe, jute.PermWrite, nil, false},
		{"world other id grants nothing", []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "x"}}}, jute.PermRead, []jute.Id{{Scheme: "world", ID: "x"}}, false},
		{"digest equal", []jute.ACL{{Perms: jute.PermRead, ID: alice}}, jute.PermRead, []jute.Id{alice}, true},
		{"digest wrong password", []jute.ACL{{Perms: jute.PermRead, ID: alice}}, jute.PermRead, []jute.Id{{Scheme: "digest", ID: jute.DigestID("alice", "no")}}, false},
		{"super passes all", []jute.ACL{{Perms: jute.PermRead, ID: alice}}, jute.PermAdmin, []jute.Id{{Scheme: "super", ID: ""}}, true},
		{"read or admin: admin suffices", []jute.ACL{{Perms: jute.PermAdmin, ID: alice}}, jute.PermRead | jute.PermAdmin, []jute.Id{alice}, true},
		{"ip exact", ipACL("10.0.0.1"), jute.PermRead, ipID("10.0.0.1"), true},
		{"ip exact other", ipACL("10.0.0.1"), jute.PermRead, ipID("10.0.0.2"), false},
		{"ip /24 inside", ipACL("10.0.0.0/24"), jute.PermRead, ipID("10.0.0.77"), true},
		{"ip /24 outside", ipACL("10.0.0.0/24"), jute.PermRead, ipID("10.0.1.77"), false},
		{"ip /20 inside", ipACL("10.1.16.0/20"), jute.PermRead, ipID("10.1.31.255"), true},
		{"ip /20 outside", ipACL("10.1.16.0/20"), jute.PermRead, ipID("10.1.32.0"), false},
		{"ip /0 matches any v4", ipACL("0.0.0.0/0"), jute.PermRead, ipID("192.168.1.1"), true},
		{"ip v4 acl vs v6 client", ipACL("0.0.0.0/0"), jute.PermRead, ipID("::1"), false},
		{"ip v6 loopback", ipACL("::1"), jute.PermRead, ipID("0:0:0:0:0:0:0:1"), true},
		{"ip v6 /64 inside", ipACL("2001:db8:1:2::/64"), jute.PermRead, ipID("2001:db8:1:2:aaaa::5"), true},
		{"ip v6 /64 outside", ipACL("2001:db8:1:2::/64"), jute.PermRead, ipID("2001:db8:1:3::5"), false},
		{"ip v6 with v4 tail", ipACL("::ffff:10.0.0.0/120"), jute.PermRead, ipID("::ffff:10.0.0.9"), true},
	} {
		err := tr.CheckPerm(tc.acl, tc.perm, tc.ids)
		if (err == nil) != tc.ok || (err != nil && err != jute.ErrNoAuth) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func ipACL(id string) []jute.ACL {
	return []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "ip", ID: id}}}
}
func ipID(addr string) []jute.Id { return []jute.Id{{Scheme: "ip", ID: addr}} }

func TestFixupACL(t *testing.T) {
	alice := jute.Id{Scheme: "digest", ID: jute.DigestID("alice", "pw")}
	session := []jute.Id{{Scheme: "ip", ID: "127.0.0.1"}, alice, {Scheme: "super"}}
	acl := func(scheme, id string) []jute.ACL {
		return []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: scheme, ID: id}}}
	}
	for _, tc := range []struct {
		name string
		in   []jute.ACL
		ids  []jute.Id
		want []jute.ACL // nil = InvalidACL
	}{
		{"empty", nil, session, nil},
		{"world anyone", jute.OpenACLUnsafe, nil, jute.OpenACLUnsafe},
		{"world other", acl("world", "someone"), nil, nil},
		{"unknown scheme", acl("bogus", "x"), nil, nil},
		{"super is no ACL scheme", acl("super", ""), nil, nil},
		{"digest ok", acl("digest", "u:hash"), nil, acl("digest", "u:hash")},
		{"digest no colon", acl("digest", "uhash"), nil, nil},
		{"digest two colons", acl("digest", "u:h:x"), nil, nil},
		{"digest empty hash", acl("digest", "u:"), nil, nil},
		{"ip ok", acl("ip", "10.0.0.1"), nil, acl("ip", "10.0.0.1")},
		{"ip mask ok", acl("ip", "10.0.0.0/8"), nil, acl("ip", "10.0.0.0/8")},
		{"ip mask too long", acl("ip", "10.0.0.0/33"), nil, nil},
		{"ip mask negative", acl("ip", "10.0.0.0/-1"), nil, nil},
		{"ip bad octet", acl("ip", "10.0.0.256"), nil, nil},
		{"ip hostname", acl("ip", "localhost"), nil, nil},
		{"ip v6", acl("ip", "fe80::/10"), nil, acl("ip", "fe80::/10")},
		{"ip v6 bad", acl("ip", "fe80:::1"), nil, nil},
		{"auth without ids", jute.CreatorAllACL, []jute.Id{{Scheme: "ip", ID: "1.2.3.4"}}, nil},
		{"auth expands to digest ids only", jute.CreatorAllACL, session, []jute.ACL{{Perms: jute.PermAll, ID: alice}}},
		{"duplicates dropped", append(acl("ip", "1.1.1.1"), acl("ip", "1.1.1.1")...), nil, acl("ip", "1.1.1.1")},
	} {
		got, err := fixupACL(tc.in, tc.ids)
		if tc.want == nil {
			if err != jute.ErrInvalidACL {
				t.Errorf("%s: %v %v, want InvalidACL", tc.name, got, err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) || got[0] != tc.want[0] {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
}
