package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/importer"
)

// tempDir returns a temporary directory with symlinks resolved (the system
// temp dir may itself be behind one).
func tempDir(tb testing.TB) string {
	tb.Helper()
	d, err := filepath.EvalSymlinks(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func mustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		tb.Fatal(err)
	}
}

func mustSymlink(tb testing.TB, target, link string) {
	tb.Helper()
	if err := os.Symlink(target, link); err != nil {
		tb.Fatal(err)
	}
}

func TestSourcesCheck(t *testing.T) {
	tmp := tempDir(t)
	root := filepath.Join(tmp, "root")
	root2 := filepath.Join(tmp, "root2")
	outside := filepath.Join(tmp, "outside")
	mustWrite(t, filepath.Join(root, "model", "a.bin"), "a")
	mustWrite(t, filepath.Join(root, "file.bin"), "f")
	mustWrite(t, filepath.Join(root2, "m", "b.bin"), "b")
	mustWrite(t, filepath.Join(outside, "secret"), "s")
	mustWrite(t, filepath.Join(tmp, "rootx", "m", "c.bin"), "c") // shares root's prefix
	mustSymlink(t, outside, filepath.Join(root, "link-out"))
	mustSymlink(t, filepath.Join(outside, "secret"), filepath.Join(root, "link-out-file"))
	mustSymlink(t, "model", filepath.Join(root, "link-in"))
	mustSymlink(t, filepath.Join(root2, "m"), filepath.Join(root, "link-root2"))
	mustSymlink(t, filepath.Join(root, "nowhere"), filepath.Join(root, "dangling"))
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The second root is reached through a symlink, resolved by NewSources.
	root2Link := filepath.Join(tmp, "root2-link")
	mustSymlink(t, root2, root2Link)
	s, err := importer.NewSources(root, root2Link)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Roots(); len(got) != 2 || got[0] != root || got[1] != root2 {
		t.Errorf("Roots = %v, want [%s %s]", got, root, root2)
	}

	f := func(p string) string { return "file://" + p }
	tests := []struct {
		name string
		loc  string
		ok   bool
		msg  string // part of the message when refused
	}{
		{"Dir", f(root + "/model"), true, ""},
		{"DirTrailingSlash", f(root + "/model/"), true, ""},
		{"File", f(root + "/file.bin"), true, ""},
		{"RootItself", f(root), true, ""},
		{"Localhost", "file://localhost" + root + "/model", true, ""},
		{"SecondRoot", f(root2 + "/m"), true, ""},
		{"SecondRootViaLink", f(root2Link + "/m"), true, ""},
		{"SymlinkInside", f(root + "/link-in"), true, ""},
		{"SymlinkToOtherRoot", f(root + "/link-root2"), true, ""},
		{"EscapedHost", f(strings.ReplaceAll(root, "/", "%2F")), false, "not a valid URL"},

		{"EscapedSlashes", f(root + "%2Fmodel"), true, ""},
		{"Empty", "", false, "empty"},
		{"DotDot", f(root + "/../outside"), false, `".."`},
		{"DotDotInside", f(root + "/model/../file.bin"), false, `".."`},
		{"DotDotEncoded", f(root + "/%2e%2e/outside"), false, `".."`},
		{"SymlinkOut", f(root + "/link-out"), false, "outside the import roots"},
		{"SymlinkOutFile", f(root + "/link-out-file"), false, "outside the import roots"},
		{"Dangling", f(root + "/dangling"), false, "does not exist"},
		{"Missing", f(root + "/missing"), false, "does not exist"},
		{"Fifo", f(root + "/fifo"), false, "neither a regular file nor a directory"},
		{"OutsideRoots", f(outside), false, "not under an import root"},
		{"SharedPrefix", f(tmp + "/rootx/m"), false, "not under an import root"},
		{"Parent", f(tmp), false, "not under an import root"},
		{"Slash", "file:///", false, "not under an import root"},
		{"RelativePath", "model/a.bin", false, "not a URL"},
		{"DotRelative", "./model", false, "not a URL"},
		{"FileNoSlashes", "file:" + root, false, "not a URL"},
		{"FileHost", "file://model/a.bin", false, "remote host"},
		{"FileRemoteHost", "file://example.com" + root, false, "remote host"},
		{"Query", f(root + "/model?x=1"), false, "query"},
		{"Fragment", f(root + "/model#x"), false, "fragment"},
		{"NUL", f(root + "/model\x00"), false, "NUL"},
		{"OBSPath", "/bucket/path", false, "OBS"},
		{"OBS", "obs://bucket/path", false, "not configured in this server"},
		{"S3", "s3://bucket/path", false, "not configured in this server"},
		{"HTTPS", "https://example.com/model.tar", false, "not configured in this server"},
		{"HTTP", "HTTP://example.com/model.tar", false, "not configured in this server"},
		{"FTP", "ftp://example.com/model", false, "unsupported scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check(tt.loc)
			if tt.ok {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.loc, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%q) = nil, want an error", tt.loc)
			}
			if code := modelreg.ErrorCode(err); code != modelreg.EINVALID {
				t.Errorf("code = %s, want %s", code, modelreg.EINVALID)
			}
			if code := modelreg.ErrorAPICode(err); code != modelreg.CodeSourceInvalid {
				t.Errorf("API code = %s, want %s", code, modelreg.CodeSourceInvalid)
			}
			msg := modelreg.ErrorMessage(err)
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
			// A refusal never shows a server path the user did not give.
			if strings.Contains(msg, outside) && !strings.Contains(tt.loc, outside) {
				t.Errorf("message %q reveals %s", msg, outside)
			}
		})
	}
}

func TestSourcesNone(t *testing.T) {
	root := tempDir(t)
	mustWrite(t, filepath.Join(root, "m", "a"), "a")
	loc := "file://" + root + "/m"
	for name, s := range map[string]*importer.Sources{"Nil": nil, "Zero": {}, "NoRoots": mustSources(t)} {
		t.Run(name, func(t *testing.T) {
			err := s.Check(loc)
			if modelreg.ErrorCode(err) != modelreg.EINVALID || !strings.Contains(modelreg.ErrorMessage(err), "no import root") {
				t.Errorf("Check = %v, want a refusal naming the missing import root", err)
			}
		})
	}
}

func mustSources(tb testing.TB, roots ...string) *importer.Sources {
	tb.Helper()
	s, err := importer.NewSources(roots...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestNewSourcesErrors(t *testing.T) {
	tmp := tempDir(t)
	mustWrite(t, filepath.Join(tmp, "file"), "x")
	for name, root := range map[string]string{
		"Relative":   "relative/root",
		"Missing":    filepath.Join(tmp, "missing"),
		"RootIsFile": filepath.Join(tmp, "file"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := importer.NewSources(root); err == nil {
				t.Errorf("NewSources(%q) succeeded", root)
			}
		})
	}
}

func TestSourcesRecheckSymlinkChange(t *testing.T) {
	tmp := tempDir(t)
	root := filepath.Join(tmp, "root")
	mustWrite(t, filepath.Join(root, "real", "a"), "a")
	mustWrite(t, filepath.Join(tmp, "outside", "a"), "a")
	link := filepath.Join(root, "link")
	mustSymlink(t, filepath.Join(root, "real"), link)
	s := mustSources(t, root)
	loc := "file://" + link
	if err := s.Check(loc); err != nil {
		t.Fatal(err)
	}
	os.Remove(link)
	mustSymlink(t, filepath.Join(tmp, "outside"), link)
	if err := s.Check(loc); modelreg.ErrorCode(err) != modelreg.EINVALID {
		t.Errorf("Check after the link moved out = %v, want EINVALID", err)
	}
}
