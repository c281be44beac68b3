package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/importer"
)

// secret is the content of every file of the server's own data in these
// tests: no blob may ever hold it.
const secret = "SECRET-admin-key-master-key-database"

// layout is where a server keeps its own data, under an import root.
type layout struct {
	name      string
	dataDir   string   // relative to the root (or absolute, outside it)
	blobDir   string   // the blob directory; "" for an S3 blob store
	db        string   // the SQLite file; "" for PostgreSQL
	protected []string // what the server protects, filled by setup
	targets   []string // paths to try to import, filled by setup
	// hardLinkable are the protected files known by their identity (a hard
	// link to them is refused); blobs are not (see decisions.md).
	hardLinkable []string
}

// setupLayout writes the layout's files under root (and outside, at out)
// and returns Sources protecting them, as serve configures them.
func setupLayout(t *testing.T, h *harness, l *layout, out string) {
	t.Helper()
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(h.root, p)
	}
	data := abs(l.dataDir)
	for _, f := range []string{"credentials", "master.key", "project_id"} {
		mustWrite(t, filepath.Join(data, f), secret)
	}
	l.protected = append(l.protected, data)
	for _, f := range []string{"credentials", "master.key", "project_id"} { // as serve lists them
		l.protected = append(l.protected, filepath.Join(data, f))
		l.hardLinkable = append(l.hardLinkable, filepath.Join(data, f))
	}
	l.targets = append(l.targets, data, filepath.Join(data, "master.key"), filepath.Join(data, "credentials"))
	if l.blobDir != "" {
		b := abs(l.blobDir)
		mustWrite(t, filepath.Join(b, "sha256", "ab", "abcdef"), secret)
		l.protected = append(l.protected, b)
		l.targets = append(l.targets, b, filepath.Join(b, "sha256"), filepath.Join(b, "sha256", "ab", "abcdef"))
	}
	if l.db != "" {
		db := abs(l.db)
		for _, sfx := range []string{"", "-wal", "-shm"} {
			mustWrite(t, db+sfx, secret)
		}
		for _, sfx := range []string{"", "-wal", "-shm", "-journal"} {
			l.protected = append(l.protected, db+sfx)
		}
		l.targets = append(l.targets, db, db+"-wal", db+"-shm")
		l.hardLinkable = append(l.hardLinkable, db)
	}
	src, err := importer.NewSourcesFromConfig(importer.SourcesConfig{ImportRoots: []string{h.root, out}, Protected: l.protected})
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
}

// layouts are the typical ones: the embedded defaults (everything in
// ./modelreg-data under the working directory, the default import root);
// PostgreSQL with a --blob-store directory elsewhere (in another import
// root); a SQLite file given with --database outside the data dir.
func layouts(out string) []*layout {
	return []*layout{
		{name: "SQLiteDefault", dataDir: "modelreg-data", blobDir: "modelreg-data/blobs", db: "modelreg-data/modelreg.db"},
		{name: "PostgresBlobDirElsewhere", dataDir: "srv/data", blobDir: filepath.Join(out, "blobstore")},
		{name: "PostgresS3", dataDir: "modelreg-data"},
		{name: "SQLiteDatabaseElsewhere", dataDir: "srv/data", blobDir: "srv/blobs", db: "db/modelreg.db"},
	}
}

// wantNoSecret checks that no blob holds the protected content and that
// model id failed (when not ""). The reason names the protection, or
// another refusal that came first (a link out of the import root, a link
// loop, an absolute link opened through the root).
func (h *harness) wantNoSecret(t *testing.T, id string) {
	t.Helper()
	if id != "" {
		m := h.model(t, id)
		if m.Status != modelreg.ModelFailed {
			t.Fatalf("status = %s (%s), want failed", m.Status, m.FailureReason)
		}
		if !strings.Contains(m.FailureReason, "never imported") && !strings.Contains(m.FailureReason, "outside the import root") &&
			!strings.Contains(m.FailureReason, "loop") && !strings.Contains(m.FailureReason, "escapes from parent") {
			t.Errorf("reason %q names no refusal", m.FailureReason)
		}
		if fs := h.files(t, id); len(fs) != 0 {
			t.Errorf("failed model keeps files %v", fs)
		}
	}
	for _, d := range h.blobDigests(t) {
		if d == sha(secret) || strings.Contains(h.blobContent(t, d), secret) {
			t.Fatalf("blob %s holds the server's own data", d)
		}
	}
}

// importFails creates a model at loc directly in the store (as if the
// request-time check had passed), runs its job and checks it failed.
func (h *harness) importFails(t *testing.T, loc string) {
	t.Helper()
	id := h.createModel(t, "m"+modelreg.NewID()[:8], loc)
	if n := runOnce(t, h.runner(nil)); n != 1 {
		t.Fatalf("ran %d jobs", n)
	}
	h.wantNoSecret(t, id)
}

// TestProtectedData: issue 10 item 1. The server's data dir, blob dir and
// database files are never imported, however a source reaches them: named
// directly, a parent folder that holds them, a symbolic link to them (at
// any depth, or as an intermediate directory), "..", or a link swapped for
// one while the import runs. Every route on every typical layout.
func TestProtectedData(t *testing.T) {
	for _, l := range layouts("") {
		t.Run(l.name, func(t *testing.T) {
			route := func(name string, f func(t *testing.T, h *harness, l *layout)) {
				t.Run(name, func(t *testing.T) {
					h := newHarness(t)
					out := filepath.Join(filepath.Dir(h.root), "other-root")
					if err := os.MkdirAll(out, 0o750); err != nil {
						t.Fatal(err)
					}
					l := *layouts(out)[indexOf(l.name)]
					setupLayout(t, h, &l, out)
					h.write(t, map[string]string{"m/model/w.bin": "weights"})
					f(t, h, &l)
				})
			}
			route("Direct", func(t *testing.T, h *harness, l *layout) {
				for _, target := range l.targets {
					loc := "file://" + target
					if err := h.src.Check(loc); modelreg.ErrorAPICode(err) != modelreg.CodeSourceInvalid ||
						!strings.Contains(modelreg.ErrorMessage(err), "never imported") {
						t.Errorf("Check(%s) = %v, want a 3017 refusal", loc, err)
					}
					h.importFails(t, loc)
				}
			})
			route("Parent", func(t *testing.T, h *harness, l *layout) {
				for _, target := range l.targets {
					for dir := filepath.Dir(target); within(h.root, dir) || within(filepath.Dir(h.root)+"/other-root", dir); dir = filepath.Dir(dir) {
						loc := "file://" + dir
						if err := h.src.Check(loc); modelreg.ErrorAPICode(err) != modelreg.CodeSourceInvalid {
							t.Errorf("Check(%s) = %v, want a 3017 refusal", loc, err)
						}
						h.importFails(t, loc)
					}
				}
			})
			route("Symlink", func(t *testing.T, h *harness, l *layout) {
				for i, target := range l.targets {
					link := filepath.Join(h.root, "links", itoa(i))
					mustWrite(t, filepath.Join(h.root, "links", "keep"), "x")
					mustSymlink(t, target, link)
					if err := h.src.Check("file://" + link); modelreg.ErrorAPICode(err) != modelreg.CodeSourceInvalid {
						t.Errorf("Check(link to %s) = %v, want a 3017 refusal", target, err)
					}
					h.importFails(t, "file://"+link)
					// Deep in a model folder: the model fails.
					deep := filepath.Join(h.root, "deep"+itoa(i), "model", "a", "b")
					mustWrite(t, filepath.Join(deep, "w.bin"), "weights")
					mustSymlink(t, target, filepath.Join(deep, "leak"))
					if err := h.src.Check("file://" + filepath.Dir(filepath.Dir(filepath.Dir(deep)))); err != nil {
						t.Fatalf("Check of the model folder: %v", err) // found by the walk, not the check
					}
					h.importFails(t, "file://"+filepath.Dir(filepath.Dir(filepath.Dir(deep))))
				}
			})
			route("RelativeSymlink", func(t *testing.T, h *harness, l *layout) {
				for i, target := range l.targets {
					dir := filepath.Join(h.root, "rel"+itoa(i), "model")
					mustWrite(t, filepath.Join(dir, "w.bin"), "weights")
					rel, err := filepath.Rel(dir, target)
					if err != nil {
						t.Fatal(err)
					}
					mustSymlink(t, rel, filepath.Join(dir, "up")) // "../../modelreg-data/…"
					h.importFails(t, "file://"+filepath.Dir(dir))
				}
			})
			route("SymlinkedIntermediateDir", func(t *testing.T, h *harness, l *layout) {
				for i, target := range l.targets {
					dir := filepath.Join(h.root, "mid"+itoa(i))
					mustWrite(t, filepath.Join(dir, "w.bin"), "weights")
					// dir/via → the target's parent: dir/via/<target> is the data.
					mustSymlink(t, filepath.Dir(target), filepath.Join(dir, "via"))
					h.importFails(t, "file://"+dir)
					loc := "file://" + filepath.Join(dir, "via", filepath.Base(target))
					if err := h.src.Check(loc); modelreg.ErrorAPICode(err) != modelreg.CodeSourceInvalid {
						t.Errorf("Check(%s) = %v, want a 3017 refusal", loc, err)
					}
					h.importFails(t, loc)
				}
			})
			route("DotDot", func(t *testing.T, h *harness, l *layout) {
				for _, target := range l.targets {
					rel, err := filepath.Rel(filepath.Join(h.root, "m"), target)
					if err != nil {
						t.Fatal(err)
					}
					loc := "file://" + filepath.Join(h.root, "m") + "/" + rel
					if !strings.Contains(loc, "..") {
						continue
					}
					if err := h.src.Check(loc); modelreg.ErrorCode(err) != modelreg.EINVALID {
						t.Errorf("Check(%s) = %v, want a refusal", loc, err)
					}
					id := h.createModel(t, "dd"+modelreg.NewID()[:8], loc)
					runOnce(t, h.runner(nil))
					if m := h.model(t, id); m.Status != modelreg.ModelFailed {
						t.Errorf("%s: status %s", loc, m.Status)
					}
					h.wantNoSecret(t, "")
				}
			})
			route("SwappedDuringImport", func(t *testing.T, h *harness, l *layout) {
				for i, target := range l.targets {
					if fi, err := os.Stat(target); err != nil || fi.IsDir() {
						continue // only files are read
					}
					dir := filepath.Join(h.root, "swap"+itoa(i))
					h.write(t, map[string]string{"swap" + itoa(i) + "/a": "first", "swap" + itoa(i) + "/b": "harmless"})
					id := h.createModel(t, "sw"+itoa(i), "file://"+dir)
					blobs := &hookBlobs{Store: h.blobs}
					blobs.beforeStage = func(n int) error {
						if n == 1 { // a is open; b was listed as a regular file
							os.Remove(filepath.Join(dir, "b"))
							rel, err := filepath.Rel(dir, target)
							if err != nil {
								return err
							}
							return os.Symlink(rel, filepath.Join(dir, "b"))
						}
						return nil
					}
					runOnce(t, h.runner(blobs))
					h.wantNoSecret(t, id)
				}
			})
			route("HardLink", func(t *testing.T, h *harness, l *layout) {
				for i, target := range l.hardLinkable {
					dir := filepath.Join(h.root, "hard"+itoa(i), "model")
					mustWrite(t, filepath.Join(dir, "w.bin"), "weights")
					if err := os.Link(target, filepath.Join(dir, "copy")); err != nil {
						t.Skipf("hard link: %v", err)
					}
					h.importFails(t, "file://"+filepath.Dir(dir))
				}
			})
			route("SwappedSourceAfterCheck", func(t *testing.T, h *harness, l *layout) {
				// The request-time check passed for a harmless folder,
				// which is then replaced by a link to the data.
				dir := filepath.Join(h.root, "later")
				h.write(t, map[string]string{"later/w.bin": "weights"})
				loc := "file://" + dir
				if err := h.src.Check(loc); err != nil {
					t.Fatal(err)
				}
				id := h.createModel(t, "later", loc)
				data := filepath.Join(h.root, l.dataDir)
				if filepath.IsAbs(l.dataDir) {
					data = l.dataDir
				}
				os.RemoveAll(dir)
				rel, err := filepath.Rel(h.root, data)
				if err != nil {
					t.Fatal(err)
				}
				mustSymlink(t, rel, dir)
				runOnce(t, h.runner(nil))
				h.wantNoSecret(t, id)
			})
			route("SwappedDirDuringImport", func(t *testing.T, h *harness, l *layout) {
				// A folder listed as harmless becomes a link to the data's
				// parent before its files are opened.
				dir := filepath.Join(h.root, "swapdir")
				h.write(t, map[string]string{"swapdir/a": "first", "swapdir/sub/master.key": "harmless"})
				data := filepath.Join(h.root, l.dataDir)
				if filepath.IsAbs(l.dataDir) {
					data = l.dataDir
				}
				id := h.createModel(t, "swd", "file://"+dir)
				blobs := &hookBlobs{Store: h.blobs}
				blobs.beforeStage = func(n int) error {
					if n == 1 {
						os.RemoveAll(filepath.Join(dir, "sub"))
						rel, err := filepath.Rel(dir, data)
						if err != nil {
							return err
						}
						return os.Symlink(rel, filepath.Join(dir, "sub"))
					}
					return nil
				}
				runOnce(t, h.runner(blobs))
				h.wantNoSecret(t, id)
			})
		})
	}
}

func indexOf(name string) int {
	for i, l := range layouts("") {
		if l.name == name {
			return i
		}
	}
	panic(name)
}

func itoa(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// TestProtectedRootsReported: serve asks which import roots hold the
// server's data (it logs them) and which lie inside it (it refuses to
// start).
func TestProtectedRootsReported(t *testing.T) {
	tmp := tempDir(t)
	data := filepath.Join(tmp, "modelreg-data")
	mustWrite(t, filepath.Join(data, "master.key"), secret)
	inside := filepath.Join(data, "imports")
	if err := os.MkdirAll(inside, 0o750); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "other")
	if err := os.MkdirAll(other, 0o750); err != nil {
		t.Fatal(err)
	}
	s, err := importer.NewSourcesFromConfig(importer.SourcesConfig{ImportRoots: []string{tmp, inside, other}, Protected: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	holding, in := s.RootsHoldingProtected()
	if len(holding) != 1 || holding[0] != tmp || len(in) != 1 || in[0] != inside {
		t.Errorf("RootsHoldingProtected = %v, %v; want [%s], [%s]", holding, in, tmp, inside)
	}
}

// TestImportNeverBlocksOnFIFO: issue 10 item 4. A file swapped for a FIFO
// during the import fails the import instead of blocking the worker: the
// open is non-blocking and the opened file's type is checked.
func TestImportNeverBlocksOnFIFO(t *testing.T) {
	h := newHarness(t)
	h.write(t, map[string]string{"m/a": "first", "m/b": "second"})
	swapped := filepath.Join(h.root, "m", "b")
	id := h.createModel(t, "m", h.loc("m"))
	blobs := &hookBlobs{Store: h.blobs}
	blobs.beforeStage = func(n int) error {
		if n == 1 { // a is open; b was listed as a regular file
			os.Remove(swapped)
			return syscall.Mkfifo(swapped, 0o600)
		}
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runOnce(t, h.runner(blobs))
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		// Unblock the worker so the test ends.
		if f, err := os.OpenFile(swapped, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("the import blocked on a FIFO")
	}
	h.wantFailed(t, id, modelreg.CodePublishFailed, "The file b", "no longer a regular file")
}
