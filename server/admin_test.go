package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zabkeeper/zabkeeper/server/servertest"
)

func TestAdminServesMetricsAndSnapshots(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *servertest.ConfigT) {
		c.AdminEnabled, c.AdminPort = true, 0
	}))
	c := connect(t, srv.Addr().String())
	if _, err := c.Create("/m", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get("http://" + srv.AdminAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	_, metrics := get("/metrics")
	for _, want := range []string{"zabkeeper_znode_count 5", "zabkeeper_sessions 1", "zabkeeper_is_leader 1", "zabkeeper_txns_applied_total"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	resp, snap := get("/commands/snapshot")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Zabkeeper-Zxid") == "" || len(snap) < 100 {
		t.Fatalf("snapshot: %s zxid=%q %d bytes", resp.Status, resp.Header.Get("X-Zabkeeper-Zxid"), len(snap))
	}
	if resp, _ := get("/nope"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/nope: %s", resp.Status)
	}
}
