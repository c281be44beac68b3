package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/cli"
	"github.com/modelreg/modelreg/internal/pgtest"
)

// TestRunDataDirNotImportable: issue 10 item 1, end to end. With the
// embedded defaults' layout (the import root is the working directory and
// holds ./modelreg-data) and with PostgreSQL and a --blob-store directory
// elsewhere under the root, no import reaches the credentials, the master
// key, the database or the blobs: directly, through a parent folder, or
// through a symbolic link in a model folder. No byte of them is ever
// downloadable.
func TestRunDataDirNotImportable(t *testing.T) {
	layouts := map[string]func(t *testing.T, root string) []string{
		"SQLiteDefault": func(t *testing.T, root string) []string { return nil },
		"PostgresBlobDir": func(t *testing.T, root string) []string {
			dsn, _ := pgtest.MustDatabase(t)
			return []string{"--database", dsn, "--blob-store", filepath.Join(root, "blobstore")}
		},
	}
	for name, extra := range layouts {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dataDir := filepath.Join(root, "modelreg-data")
			args := append([]string{"--import-root", root}, extra(t, root)...)
			m := MustRunMain(t, dataDir, args...)
			defer m.Close(t)

			// A first model, so the blob store holds something.
			mustWriteRandom(t, filepath.Join(root, "ok", "model", "w.bin"), 1<<10)
			var ok modelreg.Model
			m.mustJSON(t, &ok, "model", "import", filepath.Join(root, "ok"), "--name", "ok", "--version", "1.0.0", "--type", "PyTorch", "--wait")

			blobDir := filepath.Join(dataDir, "blobs")
			if name != "SQLiteDefault" {
				blobDir = filepath.Join(root, "blobstore")
			}
			secrets := []string{filepath.Join(dataDir, "credentials"), filepath.Join(dataDir, "master.key")}
			if name == "SQLiteDefault" {
				secrets = append(secrets, filepath.Join(dataDir, "modelreg.db"))
			}
			targets := append([]string{dataDir, blobDir, root}, secrets...)
			for i, target := range targets {
				out, err := m.cmd(t, "model", "import", target, "--name", "leak", "--version", "1.0."+itoa(i), "--type", "PyTorch", "--wait")
				if err == nil || !strings.Contains(cli.FormatError(err), modelreg.CodeSourceInvalid) || !strings.Contains(cli.FormatError(err), "never imported") {
					t.Errorf("import of %s: %q, %v; want a ModelArts.3017 refusal", target, out, cli.FormatError(err))
				}
			}
			// A symbolic link deep in a model folder: the import fails.
			for i, target := range append([]string{dataDir, blobDir}, secrets...) {
				dir := filepath.Join(root, "linked"+itoa(i))
				mustWriteRandom(t, filepath.Join(dir, "model", "w.bin"), 1<<10)
				if err := os.Symlink(target, filepath.Join(dir, "model", "leak")); err != nil {
					t.Fatal(err)
				}
				_, err := m.cmd(t, "model", "import", dir, "--name", "linked", "--version", "1.0."+itoa(i), "--type", "PyTorch", "--wait")
				if err == nil || !strings.Contains(cli.FormatError(err), "never imported") {
					t.Errorf("import of a folder linking to %s: %v; want a failure", target, cli.FormatError(err))
				}
			}
			// Only the first model was ever published.
			var list struct {
				Models []modelreg.Model `json:"models"`
			}
			m.mustJSON(t, &list, "model", "list")
			if len(list.Models) < 2 {
				t.Fatalf("model list: %d models", len(list.Models))
			}
			for _, mm := range list.Models {
				if mm.Status == modelreg.ModelPublished && mm.ID != ok.ID {
					t.Errorf("model %s %s published", mm.Name, mm.Version)
				}
			}
		})
	}
}

// TestRunRefusesRootInsideDataDir: an import root inside the data dir is a
// mistake the server refuses to start with.
func TestRunRefusesRootInsideDataDir(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "modelreg-data")
	inside := filepath.Join(dataDir, "imports")
	if err := os.MkdirAll(inside, 0o750); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"modelreg", "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--import-root", inside},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(cli.FormatError(err), "lies inside the server's own data") {
		t.Errorf("serve with a root inside the data dir: %v", err)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
