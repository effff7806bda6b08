package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/server/servertest"
)

// Backup and restore as an operator does it: save from a running member,
// inspect the file, restore it into a new data directory, start a member
// there and read the data back.
func TestSnapshotSaveInspectRestore(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *servertest.ConfigT) {
		c.AdminEnabled, c.AdminPort = true, 0
	}))
	addr := srv.Addr().String()
	must(t, addr, "create", "/app", "root")
	for i := 0; i < 50; i++ {
		must(t, addr, "create", fmt.Sprintf("/app/k%02d", i), strings.Repeat("v", 100))
	}
	file := filepath.Join(t.TempDir(), "backup.snap")
	out := must(t, addr, "snapshot", "save", "-q", "--admin", srv.AdminAddr().String(), file)
	if !strings.Contains(out, "saved snapshot at zxid 0x") {
		t.Fatalf("save printed %q", out)
	}
	out = must(t, addr, "snapshot", "inspect", "-q", file)
	for _, want := range []string{"znodes:     55", "/app ", "digest:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("inspect output lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	must(t, addr, "snapshot", "restore", "-q", file, "--data-dir", dir) // flags after the argument too
	if r := zk(t, addr, "snapshot", "restore", "-q", file, "--data-dir", dir); r.code == 0 ||
		!strings.Contains(r.err, "not empty") {
		t.Fatalf("restoring over data was not refused: %s", r)
	}
	restored := servertest.Start(t, servertest.WithConfig(func(c *servertest.ConfigT) {
		c.DataDir, c.DataLogDir = dir, dir
	}))
	if got := must(t, restored.Addr().String(), "get", "/app/k49"); strings.TrimSpace(got) != strings.Repeat("v", 100) {
		t.Fatalf("restored member reads %q", got)
	}
	if r := zk(t, addr, "snapshot", "save", "-q", "--admin", "127.0.0.1:1", file+".2"); r.code != 8 {
		t.Fatalf("save from an unreachable admin server: %s", r)
	}
	if r := zk(t, addr, "snapshot", "restore", file); r.code != 2 {
		t.Fatalf("restore without --data-dir: %s", r)
	}
}
