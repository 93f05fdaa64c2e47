package testvm

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// CheckImports fails the test when a non-test Go file in dir imports a
// Berth package not in allowed (an import path, or a prefix ending in "/"),
// so the dependency direction of DESIGN.md cannot rot.
func CheckImports(t *testing.T, dir string, allowed ...string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
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
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/berthhq/berth/") && !slices.ContainsFunc(allowed, func(a string) bool {
				return a == path || strings.HasSuffix(a, "/") && strings.HasPrefix(path, a)
			}) {
				t.Errorf("%s imports %s, which its package may not (DESIGN.md, dependency direction)", name, path)
			}
		}
	}
}
