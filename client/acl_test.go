package client_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/internal/testserver"
	"github.com/zabkeeper/zabkeeper/jute"
)

func TestACLHelpers(t *testing.T) {
	servers := testserver.Start(t)
	ctx := ctxT(t)
	bob, err := client.Connect(ctx, servers, client.WithAuth("digest", []byte("bob:secret")))
	must(t, err)
	defer bob.Close()
	anon, err := client.Connect(ctx, servers)
	must(t, err)
	defer anon.Close()

	acl := append(client.DigestACL(jute.PermAll, "bob", "secret"), client.WorldACL(jute.PermRead)...)
	_, err = bob.Create(ctx, "/acl-helpers", []byte("x"), client.Persistent, acl)
	must(t, err)
	if _, _, err := anon.Get(ctx, "/acl-helpers"); err != nil {
		t.Fatalf("world read: %v", err)
	}
	if _, err := anon.Set(ctx, "/acl-helpers", []byte("y"), -1); !errors.Is(err, jute.ErrNoAuth) {
		t.Fatalf("anonymous write: %v, want NoAuth", err)
	}
	if _, err := bob.Set(ctx, "/acl-helpers", []byte("y"), -1); err != nil {
		t.Fatalf("digest write: %v", err)
	}
	_, err = bob.Create(ctx, "/acl-creator", nil, client.Persistent, client.CreatorACL(jute.PermAll))
	must(t, err)
	got, _, err := bob.GetACL(ctx, "/acl-creator")
	must(t, err)
	if !slices.Equal(got, client.DigestACL(jute.PermAll, "bob", "secret")) {
		t.Fatalf("creator ACL became %v", got)
	}
	_, err = bob.Create(ctx, "/acl-ip", nil, client.Persistent, client.IPACL(jute.PermAll, "127.0.0.0/8"))
	must(t, err)
	if _, err := anon.Set(ctx, "/acl-ip", []byte("z"), -1); err != nil {
		t.Fatalf("write from 127.0.0.1 under an ip ACL: %v", err)
	}
}
