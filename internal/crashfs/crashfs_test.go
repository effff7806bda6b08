package crashfs

import (
	"io"
	"testing"
)

func TestUnsyncedWritesDieWithThePower(t *testing.T) {
	fs := New()
	f, err := fs.Create("/a")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("kept"))
	f.Sync()
	d, err := fs.OpenDir("/") // a strict filesystem keeps a new file only once its directory is synced
	if err != nil {
		t.Fatal(err)
	}
	d.Sync()
	d.Close()
	fs.Arm(1)
	f.Write([]byte("-lost")) // the armed operation: the power goes with it
	f.Sync()                 // ignored
	f.Close()
	if !fs.Frozen() {
		t.Fatal("not frozen after the countdown")
	}
	fs.Restart()
	g, err := fs.Open("/a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(g)
	if string(b) != "kept" {
		t.Fatalf("after the power cut the file holds %q, want %q", b, "kept")
	}
}
