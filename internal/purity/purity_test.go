package purity

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cores are the packages that must stay free of I/O, clocks and goroutines.
var cores = []string{"jute", "tree", "watch", "session", "zab", "election"}

// forbidden imports: I/O, the clock, concurrency, logging backends and
// unseeded randomness. A core that needs one of these is doing the driver's job.
var forbidden = []string{"net", "os", "syscall", "time", "sync", "log", "go.uber.org/zap", "math/rand"}

func TestCoresArePure(t *testing.T) {
	for _, core := range cores {
		files, err := filepath.Glob(filepath.Join("..", "..", core, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files found (%v)", core, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			checkFile(t, core, f)
		}
	}
}

func checkFile(t *testing.T, core, path string) {
	t.Helper()
	af, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range af.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		for _, bad := range forbidden {
			if p == bad || strings.HasPrefix(p, bad+"/") {
				t.Errorf("%s: %s imports %s", core, filepath.Base(path), p)
			}
		}
	}
	ast.Inspect(af, func(n ast.Node) bool {
		if _, ok := n.(*ast.GoStmt); ok {
			t.Errorf("%s: %s starts a goroutine", core, filepath.Base(path))
		}
		return true
	})
}
