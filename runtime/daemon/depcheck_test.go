package daemon

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the dependency direction of DESIGN.md: the daemon is
// runtime, which may use the rest of runtime, mirror and distro, and never
// cmd or install.
func TestImports(t *testing.T) {
	allowed := []string{"github.com/berthhq/berth/runtime/", "github.com/berthhq/berth/mirror", "github.com/berthhq/berth/distro"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
	imports:
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, "github.com/berthhq/berth/") {
				continue
			}
			for _, a := range allowed {
				if path == strings.TrimSuffix(a, "/") || strings.HasPrefix(path, a) {
					continue imports
				}
			}
			t.Errorf("%s imports %s", name, path)
		}
	}
}
