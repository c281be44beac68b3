package importer

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg/internal/s3conn"
)

func TestResolveObject(t *testing.T) {
	s, err := NewSourcesFromConfig(SourcesConfig{Object: ObjectSourceConfig{
		Endpoint: "obs.cn-north-4.example.com", Region: "cn-north-4", AccessKey: "AK", SecretKey: "SK",
	}})
	if err != nil {
		t.Fatal(err)
	}
	home := s3conn.Endpoint{Host: "obs.cn-north-4.example.com", Region: "cn-north-4", AccessKey: "AK", SecretKey: "SK", MaxRetries: DefaultSourceRetries}
	virtual := func(host, region string) s3conn.Endpoint {
		ep := home
		ep.Host, ep.Region, ep.Style = host, region, "virtual"
		return ep
	}
	tests := []struct {
		loc  string
		want objectLoc
	}{
		{"obs://bkt/a/b", objectLoc{ep: home, bucket: "bkt", prefix: "a/b"}},
		{"s3://bkt/a/b/", objectLoc{ep: home, bucket: "bkt", prefix: "a/b", dirOnly: true}},
		{"obs://bkt", objectLoc{ep: home, bucket: "bkt", dirOnly: true}},
		{"/bkt/a b/c", objectLoc{ep: home, bucket: "bkt", prefix: "a b/c"}},
		{"/bkt/", objectLoc{ep: home, bucket: "bkt", dirOnly: true}},
		{"https://models.obs.cn-north-4.example.com/mnist", objectLoc{ep: virtual("obs.cn-north-4.example.com", "cn-north-4"), bucket: "models", prefix: "mnist"}},
		{"https://models.obs.cn-north-4.example.com/my%20model/", objectLoc{ep: virtual("obs.cn-north-4.example.com", "cn-north-4"), bucket: "models", prefix: "my model", dirOnly: true}},
		{"https://Models.OBS.cn-north-4.example.com:443/x", objectLoc{ep: virtual("obs.cn-north-4.example.com", "cn-north-4"), bucket: "models", prefix: "x"}},
	}
	for _, tt := range tests {
		form := ""
		if tt.loc[0] != '/' {
			switch {
			case tt.loc[:3] == "obs":
				form = "obs"
			case tt.loc[:2] == "s3":
				form = "s3"
			default:
				form = "https"
			}
		}
		got, err := s.resolveObject(tt.loc, form)
		if err != nil {
			t.Errorf("resolveObject(%q): %v", tt.loc, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(objectLoc{})); diff != "" {
			t.Errorf("resolveObject(%q) (-want +got):\n%s", tt.loc, diff)
		}
	}
}

func TestValidPath(t *testing.T) {
	for p, want := range map[string]bool{
		"a":          true,
		"a/b.bin":    true,
		"with space": true,
		"":           false,
		"a//b":       false,
		"./a":        false,
		"a/../b":     false,
		"a/\nb":      false,
		"\xff":       false,
		// Issue 10: names that display as other names.
		"evil\u202egnp.exe": false,
		"a\u2066b/c":        false,
		"a/b\u200f":         false,
		"\ufeffa":           false,
	} {
		if got := validPath(p); got != want {
			t.Errorf("validPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestNoBlobStoreImport checks that the importer reads object-store sources
// through internal/s3conn, not through the S3 blob store: its code (tests
// aside, which may import into an S3 blob store) does not import
// internal/blob/s3.
func TestNoBlobStoreImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(p, "/internal/blob/s3") {
				t.Errorf("%s imports %s: use internal/s3conn", path, p)
			}
		}
	}
	if n == 0 {
		t.Fatal("no files checked")
	}
}
