package mirror

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps mirror a leaf: runtime and install import it, so it
// imports no other Berth package (DESIGN.md, "Layout and dependency
// direction").
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "github.com/berthhq/berth" || strings.HasPrefix(path, "github.com/berthhq/berth/") {
				t.Errorf("%s imports %s: mirror must not import other Berth packages", name, path)
			}
		}
	}
}
