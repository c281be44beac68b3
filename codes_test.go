package modelreg_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCodesNamedOnce checks that the server names every ModelArts code
// through the constants of error.go: outside error.go no non-test file of
// the root package or internal/ has a string literal that is a code, and
// none of the root package or internal/httpapi mentions one in any literal
// (a message or a help text). The client names its own codes.
func TestCodesNamedOnce(t *testing.T) {
	code := regexp.MustCompile(`(?i)\b(ModelArts|ModelReg)\.[0-9]{4}\b`)
	value := regexp.MustCompile(`(?i)^(ModelArts|ModelReg)\.[0-9]{4}$|"error_code"`)
	fset := token.NewFileSet()
	check := func(path string) {
		strict := !strings.Contains(path, "/") || strings.HasPrefix(path, "internal/httpapi/")
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			if m := code.FindString(s); m != "" && (strict || value.MatchString(s)) {
				t.Errorf("%s: the literal %s spells out %s: use the constant of error.go", fset.Position(lit.Pos()), lit.Value, m)
			}
			return true
		})
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir("internal", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") || path == "error.go" {
			continue
		}
		n++
		check(path)
	}
	if n < 20 {
		t.Fatalf("checked only %d files", n)
	}
}
