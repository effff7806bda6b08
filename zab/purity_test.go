package zab

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPureCore keeps zab free of I/O, goroutine machinery and the clock:
// time arrives as Tick, messages as arguments, output as Ready.
func TestPureCore(t *testing.T) {
	forbidden := []string{"net", "os", "os/exec", "time", "sync", "log", "go.uber.org/zap", "math/rand"}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}
