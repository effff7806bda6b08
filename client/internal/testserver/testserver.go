// Package testserver gives client and recipe tests a server to talk to: an
// in-process zabkeeper server by default, or the external servers named in
// ZABKEEPER_TEST_SERVERS ("127.0.0.1:2181,...") so the same tests run
// against Apache ZooKeeper (scripts/client-vs-zookeeper.sh).
package testserver

import (
	"os"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/server/servertest"
)

// EnvServers names the variable holding the external servers.
const EnvServers = "ZABKEEPER_TEST_SERVERS"

// External reports whether the tests run against external servers.
func External() bool { return strings.TrimSpace(os.Getenv(EnvServers)) != "" }

// Start returns the addresses of a running server (or ensemble).
func Start(t testing.TB) (addrs []string) {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(EnvServers))
	if v == "" {
		return []string{servertest.Start(t).Addr().String()}
	}
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// StartEnsemble runs an in-process ensemble of n members and returns their
// client addresses and a function that stops member i. With external
// servers it skips: the test needs to stop members.
func StartEnsemble(t testing.TB, n int) (addrs []string, stop func(i int)) {
	t.Helper()
	if External() {
		t.Skip("needs an in-process ensemble to stop members")
	}
	srvs := servertest.StartEnsemble(t, n)
	for _, s := range srvs {
		addrs = append(addrs, s.Addr().String())
	}
	return addrs, func(i int) { srvs[i].Close() }
}
