package importer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/sqlite"
)

const project = "0123456789abcdef0123456789abcdef"

// clock is a store clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a real SQLite store, a real disk blob store and an import root.
type harness struct {
	db    *sqlite.DB
	blobs *disk.Store
	clock *clock
	root  string
	src   *importer.Sources
	logs  *syncBuffer
	log   *slog.Logger
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	dir := tempDir(tb)
	clk := &clock{t: time.Now().Truncate(time.Millisecond)}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "db", "modelreg.db"), sqlite.Options{Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.IntegrityCheck(context.Background()); err != nil {
			tb.Errorf("IntegrityCheck: %v", err)
		}
		db.Close()
	})
	blobs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	root := filepath.Join(dir, "imports")
	if err := os.MkdirAll(root, 0o750); err != nil {
		tb.Fatal(err)
	}
	logs := &syncBuffer{}
	return &harness{
		db: db, blobs: blobs, clock: clk, root: root, src: mustSources(tb, root), logs: logs,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (h *harness) config(blobs modelreg.BlobStore) importer.Config {
	if blobs == nil {
		blobs = h.blobs
	}
	return importer.Config{
		Store: h.db, Blobs: blobs, Sources: h.src, Owner: "test-runner",
		Lease: 30 * time.Second, Now: h.clock.Now, Logger: h.log,
		PollInterval: 10 * time.Millisecond,
	}
}

func (h *harness) runner(blobs modelreg.BlobStore, opts ...func(*importer.Config)) *importer.Runner {
	cfg := h.config(blobs)
	for _, o := range opts {
		o(&cfg)
	}
	return importer.New(cfg)
}

func (h *harness) collector() *collector.Collector {
	return collector.New(collector.Config{Store: h.db, Blobs: h.blobs, Owner: "test-gc", Now: h.clock.Now, Logger: h.log})
}

// write creates files under the import root: path → content.
func (h *harness) write(tb testing.TB, files map[string]string) {
	tb.Helper()
	for p, c := range files {
		mustWrite(tb, filepath.Join(h.root, filepath.FromSlash(p)), c)
	}
}

func (h *harness) loc(rel string) string { return "file://" + filepath.Join(h.root, rel) }

// createModel stores a publishing model importing from loc.
func (h *harness) createModel(tb testing.TB, name, loc string) string {
	tb.Helper()
	m := &modelreg.Model{
		ModelSummary: modelreg.ModelSummary{
			ProjectID: project, Name: name, Version: "1.0.0", Type: "PyTorch", WorkspaceID: "0",
			InstallType: []string{"real-time"},
		},
		SourceLocation: loc,
	}
	if err := h.db.CreateModel(context.Background(), m); err != nil {
		tb.Fatal(err)
	}
	return m.ID
}

func (h *harness) model(tb testing.TB, id string) *modelreg.Model {
	tb.Helper()
	m, err := h.db.FindModelByID(context.Background(), project, id)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func (h *harness) files(tb testing.TB, id string) []modelreg.ModelFile {
	tb.Helper()
	fs, err := h.db.FindModelFiles(context.Background(), project, id)
	if err != nil {
		tb.Fatal(err)
	}
	return fs
}

// runOnce runs due jobs and returns how many ran.
func runOnce(tb testing.TB, r *importer.Runner) int {
	tb.Helper()
	n, err := r.RunOnce(context.Background())
	if err != nil {
		tb.Fatalf("RunOnce: %v", err)
	}
	return n
}

func collect(tb testing.TB, c *collector.Collector) int {
	tb.Helper()
	n, err := c.RunOnce(context.Background())
	if err != nil {
		tb.Fatalf("collector RunOnce: %v", err)
	}
	return n
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// blobDigests returns every committed blob.
func (h *harness) blobDigests(tb testing.TB) []string {
	tb.Helper()
	var ds []string
	err := h.blobs.Walk(context.Background(), func(d string, _ int64, _ time.Time) error {
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(ds)
	return ds
}

func (h *harness) stagingEmpty(tb testing.TB) {
	tb.Helper()
	es, err := os.ReadDir(filepath.Join(h.blobs.Dir(), "staging"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(es) != 0 {
		tb.Errorf("staging holds %d files", len(es))
	}
}

func (h *harness) pending(tb testing.TB) int {
	tb.Helper()
	n, err := h.db.PendingBlobDeletions(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func (h *harness) blobContent(tb testing.TB, d string) string {
	tb.Helper()
	rc, err := h.blobs.Open(context.Background(), d)
	if err != nil {
		tb.Fatalf("blob %s: %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// wantPublished checks that model id is published with exactly files
// (path → content), each held by a blob with that content.
func (h *harness) wantPublished(tb testing.TB, id string, files map[string]string) *modelreg.Model {
	tb.Helper()
	m := h.model(tb, id)
	if m.Status != modelreg.ModelPublished {
		tb.Fatalf("status = %s (reason %q), want published", m.Status, m.FailureReason)
	}
	var size int64
	for _, c := range files {
		size += int64(len(c))
	}
	if m.Size != size {
		tb.Errorf("model_size = %d, want %d", m.Size, size)
	}
	got := h.files(tb, id)
	if len(got) != len(files) {
		tb.Errorf("model has %d files, want %d: %v", len(got), len(files), got)
	}
	for _, f := range got {
		c, ok := files[f.Path]
		if !ok {
			tb.Errorf("unexpected file %s", f.Path)
			continue
		}
		if f.Digest != sha(c) || f.Size != int64(len(c)) {
			tb.Errorf("file %s = %s/%d, want %s/%d", f.Path, f.Digest, f.Size, sha(c), len(c))
		}
		if b := h.blobContent(tb, f.Digest); b != c {
			tb.Errorf("blob of %s = %q, want %q", f.Path, b, c)
		}
	}
	return m
}

func (h *harness) wantFailed(tb testing.TB, id string, parts ...string) *modelreg.Model {
	tb.Helper()
	m := h.model(tb, id)
	if m.Status != modelreg.ModelFailed {
		tb.Fatalf("status = %s, want failed", m.Status)
	}
	for _, p := range parts {
		if !strings.Contains(m.FailureReason, p) {
			tb.Errorf("reason %q does not contain %q", m.FailureReason, p)
		}
	}
	// Readable: no Go error dumps, no server paths beyond the source.
	for _, bad := range []string{"Internal error", "openat", "lstat", "*fs.", "errors."} {
		if strings.Contains(m.FailureReason, bad) {
			tb.Errorf("reason %q contains %q", m.FailureReason, bad)
		}
	}
	if rest := strings.ReplaceAll(m.FailureReason, m.SourceLocation, ""); strings.Contains(rest, h.root) {
		tb.Errorf("reason %q reveals a server path", m.FailureReason)
	}
	if m.Size != 0 || len(h.files(tb, id)) != 0 {
		tb.Errorf("failed model keeps size %d and files %v", m.Size, h.files(tb, id))
	}
	return m
}

func TestImportDir(t *testing.T) {
	h := newHarness(t)
	files := map[string]string{
		"model/config.json":    `{"model_type": "PyTorch", "runtime": "python3.7"}`,
		"model/weights.bin":    strings.Repeat("w", 3000),
		"model/sub/deep/x.txt": "x",
		"model/empty":          "",
		"README.md":            "# model",
	}
	h.write(t, prefixed("m1/", files))
	id := h.createModel(t, "m1", h.loc("m1"))
	if n := runOnce(t, h.runner(nil)); n != 1 {
		t.Fatalf("ran %d jobs, want 1", n)
	}
	m := h.wantPublished(t, id, files)
	if m.Config != files["model/config.json"] {
		t.Errorf("config = %q", m.Config)
	}
	if got := len(h.blobDigests(t)); got != 5 {
		t.Errorf("blob store holds %d blobs, want 5", got)
	}
	h.stagingEmpty(t)
	if n := h.pending(t); n != 0 {
		t.Errorf("%d blobs queued for collection", n)
	}
	if n := runOnce(t, h.runner(nil)); n != 0 {
		t.Errorf("ran %d jobs after the import ended", n)
	}
}

func prefixed(prefix string, files map[string]string) map[string]string {
	m := map[string]string{}
	for p, c := range files {
		m[prefix+p] = c
	}
	return m
}

// TestImportLongestPath: a path of exactly modelreg.MaxFilePathLen bytes is
// imported (and so can be downloaded).
func TestImportLongestPath(t *testing.T) {
	h := newHarness(t)
	p := strings.Repeat(strings.Repeat("d", 254)+"/", 4)
	p += strings.Repeat("f", modelreg.MaxFilePathLen-len(p))
	h.write(t, map[string]string{"m/" + p: "x"})
	id := h.createModel(t, "m", h.loc("m"))
	runOnce(t, h.runner(nil))
	h.wantPublished(t, id, map[string]string{p: "x"})
}

func TestImportSingleFile(t *testing.T) {
	h := newHarness(t)
	h.write(t, map[string]string{"dir/model.onnx": "onnx bytes"})
	id := h.createModel(t, "single", h.loc("dir/model.onnx"))
	runOnce(t, h.runner(nil))
	m := h.wantPublished(t, id, map[string]string{"model.onnx": "onnx bytes"})
	if m.Config != "" {
		t.Errorf("config = %q, want none", m.Config)
	}
}

func TestImportTopLevelConfig(t *testing.T) {
	h := newHarness(t)
	files := map[string]string{"config.json": `{"metrics": {"acc": 1}}`, "w.bin": "w"}
	h.write(t, prefixed("m/", files))
	id := h.createModel(t, "top", h.loc("m"))
	runOnce(t, h.runner(nil))
	if m := h.wantPublished(t, id, files); m.Config != files["config.json"] {
		t.Errorf("config = %q", m.Config)
	}
}

func TestImportSymlinks(t *testing.T) {
	h := newHarness(t)
	h.write(t, map[string]string{"shared/blob": "shared content", "m/model/own": "own"})
	mustSymlink(t, "../../shared/blob", filepath.Join(h.root, "m", "model", "rel-link"))
	mustSymlink(t, filepath.Join(h.root, "shared", "blob"), filepath.Join(h.root, "m", "model", "abs-link"))
	mustSymlink(t, "../shared", filepath.Join(h.root, "m", "dir-link"))
	if err := syscall.Mkfifo(filepath.Join(h.root, "m", "model", "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := h.createModel(t, "links", h.loc("m"))
	runOnce(t, h.runner(nil))
	h.wantPublished(t, id, map[string]string{
		"model/own":      "own",
		"model/rel-link": "shared content",
		"model/abs-link": "shared content",
		"dir-link/blob":  "shared content",
	})
	if got := len(h.blobDigests(t)); got != 2 {
		t.Errorf("blob store holds %d blobs, want 2", got)
	}
}

func TestImportFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, h *harness) string // returns source_location
		max   int64
		parts []string
	}{
		{"Missing", func(t *testing.T, h *harness) string {
			return h.loc("missing")
		}, 0, []string{modelreg.CodeSourceInvalid, "does not exist"}},
		{"EmptyDir", func(t *testing.T, h *harness) string {
			os.MkdirAll(filepath.Join(h.root, "empty", "sub"), 0o750)
			return h.loc("empty")
		}, 0, []string{modelreg.CodeSourceInvalid, "holds no files"}},
		{"NotAllowed", func(t *testing.T, h *harness) string {
			return "obs://bucket/model"
		}, 0, []string{modelreg.CodeSourceInvalid, "not configured"}},
		{"ConfigInvalid", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/config.json": `{"model_type": "PyTorch",`, "m/model/w.bin": "w"})
			return h.loc("m")
		}, 0, []string{"ModelArts.3015: model/config.json does not conform: "}},
		{"ConfigWrongType", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/config.json": `{"apis": "all"}`, "m/model/w.bin": "w"})
			return h.loc("m")
		}, 0, []string{"ModelArts.3016: ", "apis must be a JSON array"}},
		{"FileTooLarge", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/small": "0123456789", "m/model/big.bin": "0123456789A"})
			return h.loc("m")
		}, 10, []string{"ModelArts.3044: ", "model/big.bin", "10 bytes"}},
		{"SymlinkOut", func(t *testing.T, h *harness) string {
			out := tempDir(t)
			mustWrite(t, filepath.Join(out, "secret"), "secret")
			h.write(t, map[string]string{"m/model/w.bin": "w"})
			mustSymlink(t, filepath.Join(out, "secret"), filepath.Join(h.root, "m", "model", "leak"))
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "model/leak", "outside the import root"}},
		{"BrokenSymlink", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/w.bin": "w"})
			mustSymlink(t, "nothing", filepath.Join(h.root, "m", "model", "broken"))
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "model/broken", "broken symbolic link"}},
		{"SymlinkLoop", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/w.bin": "w"})
			mustSymlink(t, "..", filepath.Join(h.root, "m", "model", "up"))
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "model/up", "loop"}},
		{"LinkCycle", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/w.bin": "w"})
			mustSymlink(t, "b", filepath.Join(h.root, "m", "model", "a"))
			mustSymlink(t, "a", filepath.Join(h.root, "m", "model", "b"))
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "model/a", "loop"}},
		{"ControlCharName", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/w.bin": "w", "m/model/bad\nname": "x"})
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "control character"}},
		// Issue 10: names that display as other names are refused as
		// control characters are.
		{"BidiOverrideName", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/w.bin": "w", "m/model/evil\u202egnp.exe": "x"})
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "invisible formatting character"}},
		{"BidiIsolateDir", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/w.bin": "w", "m/model/a\u2066b/c": "x"})
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "invisible formatting character"}},
		{"RightToLeftMarkName", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"m/model/w.bin": "w", "m/model/x\u200f.bin": "x"})
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "invisible formatting character"}},
		{"BidiSingleFile", func(t *testing.T, h *harness) string {
			h.write(t, map[string]string{"s/w\u202a.bin": "w"})
			return h.loc("s/w\u202a.bin")
		}, 0, []string{modelreg.CodeSourceInvalid, "invisible formatting character"}},
		// Issue 10: a path the download API would refuse (over 1024
		// bytes) fails the import.
		{"PathTooLong", func(t *testing.T, h *harness) string {
			long := strings.Repeat("d", 200)
			h.write(t, map[string]string{"m/model/w.bin": "w", "m/" + strings.Repeat(long+"/", 6) + "file.bin": "x"})
			return h.loc("m")
		}, 0, []string{modelreg.CodeSourceInvalid, "longer than 1024 bytes"}},
		{"Unreadable", func(t *testing.T, h *harness) string {
			if os.Geteuid() == 0 {
				t.Skip("root reads every file")
			}
			h.write(t, map[string]string{"m/model/w.bin": "w", "m/model/locked": "l"})
			os.Chmod(filepath.Join(h.root, "m", "model", "locked"), 0)
			return h.loc("m")
		}, 0, []string{"model/locked", "permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			loc := tt.setup(t, h)
			id := h.createModel(t, "m", loc)
			r := h.runner(nil, func(c *importer.Config) { c.MaxFileSize = tt.max })
			if n := runOnce(t, r); n != 1 {
				t.Fatalf("ran %d jobs", n)
			}
			h.wantFailed(t, id, tt.parts...)
			h.stagingEmpty(t)
			// Whatever the job committed is collected.
			collect(t, h.collector())
			if ds := h.blobDigests(t); len(ds) != 0 {
				t.Errorf("blobs left after a failed import: %v", ds)
			}
		})
	}
}

func TestDedupAndCollect(t *testing.T) {
	h := newHarness(t)
	shared := strings.Repeat("shared weights ", 100)
	h.write(t, map[string]string{
		"a/model/w.bin": shared, "a/model/a.txt": "only a",
		"b/model/w.bin": shared, "b/model/b.txt": "only b",
	})
	a := h.createModel(t, "a", h.loc("a"))
	b := h.createModel(t, "b", h.loc("b"))
	if n := runOnce(t, h.runner(nil)); n != 2 {
		t.Fatalf("ran %d jobs, want 2", n)
	}
	h.wantPublished(t, a, map[string]string{"model/w.bin": shared, "model/a.txt": "only a"})
	h.wantPublished(t, b, map[string]string{"model/w.bin": shared, "model/b.txt": "only b"})
	if ds := h.blobDigests(t); len(ds) != 3 {
		t.Fatalf("blob store holds %d blobs, want 3 (shared content once)", len(ds))
	}

	ctx := context.Background()
	gc := h.collector()
	if err := modelreg.DeleteModel(ctx, h.db, project, a); err != nil {
		t.Fatal(err)
	}
	if n := collect(t, gc); n != 1 {
		t.Errorf("freed %d blobs after deleting a, want 1 (its own file)", n)
	}
	if got := h.blobContent(t, sha(shared)); got != shared {
		t.Error("shared blob damaged")
	}
	h.wantPublished(t, b, map[string]string{"model/w.bin": shared, "model/b.txt": "only b"})

	if err := modelreg.DeleteModel(ctx, h.db, project, b); err != nil {
		t.Fatal(err)
	}
	if n := collect(t, gc); n != 2 {
		t.Errorf("freed %d blobs after deleting b, want 2", n)
	}
	if ds := h.blobDigests(t); len(ds) != 0 {
		t.Errorf("blobs left: %v", ds)
	}
	if blobs, bytes := gc.Freed(); blobs != 3 || bytes != int64(len(shared)+len("only a")+len("only b")) {
		t.Errorf("Freed = %d, %d", blobs, bytes)
	}
	if n := h.pending(t); n != 0 {
		t.Errorf("%d still queued", n)
	}
}

// hookBlobs is a disk blob store that runs hooks in the middle of an import:
// a seam to interleave a delete, a crash or a failure with the protocol.
type hookBlobs struct {
	*disk.Store
	mu          sync.Mutex
	stages      int
	beforeStage func(n int) error                         // n counts Stage calls from 1
	afterStage  func(n int)                               // after a successful Stage
	beforeCommt func(st modelreg.StagedBlob, n int) error // n counts Commit calls from 1
	commits     int
}

func (b *hookBlobs) Stage(ctx context.Context, r io.Reader, max int64) (modelreg.StagedBlob, error) {
	b.mu.Lock()
	b.stages++
	n := b.stages
	b.mu.Unlock()
	if b.beforeStage != nil {
		if err := b.beforeStage(n); err != nil {
			return nil, err
		}
	}
	st, err := b.Store.Stage(ctx, r, max)
	if err != nil {
		return nil, err
	}
	if b.afterStage != nil {
		b.afterStage(n)
	}
	return &hookStaged{StagedBlob: st, b: b}, nil
}

type hookStaged struct {
	modelreg.StagedBlob
	b *hookBlobs
}

func (s *hookStaged) Commit(ctx context.Context) error {
	s.b.mu.Lock()
	s.b.commits++
	n := s.b.commits
	s.b.mu.Unlock()
	if s.b.beforeCommt != nil {
		if err := s.b.beforeCommt(s.StagedBlob, n); err != nil {
			return err
		}
	}
	return s.StagedBlob.Commit(ctx)
}

func TestDeleteWhilePublishing(t *testing.T) {
	files := map[string]string{"model/1": "one", "model/2": "two", "model/3": "three"}
	tests := []struct {
		name string
		hook func(t *testing.T, h *harness, blobs *hookBlobs, del func())
	}{
		// Deleted before the second file is attached: Attach says ENOTFOUND.
		{"BeforeAttach", func(t *testing.T, h *harness, blobs *hookBlobs, del func()) {
			blobs.afterStage = func(n int) {
				if n == 2 {
					del()
				}
			}
		}},
		// Deleted between Attach and Commit of the first file, and the
		// collector runs in between: the blob appears after its queue
		// entry was completed, and only the job's TrackBlob catches it.
		{"BetweenAttachAndCommit", func(t *testing.T, h *harness, blobs *hookBlobs, del func()) {
			blobs.beforeCommt = func(_ modelreg.StagedBlob, n int) error {
				if n == 1 {
					del()
					collect(t, h.collector())
				}
				return nil
			}
		}},
		// Deleted just before the last commit: FinishImport says ENOTFOUND.
		{"BeforeFinish", func(t *testing.T, h *harness, blobs *hookBlobs, del func()) {
			blobs.beforeCommt = func(_ modelreg.StagedBlob, n int) error {
				if n == 3 {
					del()
					collect(t, h.collector())
				}
				return nil
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.write(t, prefixed("m/", files))
			id := h.createModel(t, "m", h.loc("m"))
			blobs := &hookBlobs{Store: h.blobs}
			tt.hook(t, h, blobs, func() {
				if err := modelreg.DeleteModel(context.Background(), h.db, project, id); err != nil {
					t.Errorf("DeleteModel: %v", err)
				}
			})
			if n := runOnce(t, h.runner(blobs)); n != 1 {
				t.Fatalf("ran %d jobs", n)
			}
			if _, err := h.db.FindModelByID(context.Background(), project, id); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
				t.Fatalf("model after delete: %v", err)
			}
			h.stagingEmpty(t)
			collect(t, h.collector())
			if ds := h.blobDigests(t); len(ds) != 0 {
				t.Errorf("orphan blobs after a collector pass: %v", ds)
			}
			if n := h.pending(t); n != 0 {
				t.Errorf("%d still queued", n)
			}
			if !strings.Contains(h.logs.String(), "import stopped: the model was deleted") {
				t.Errorf("no cancellation logged:\n%s", h.logs)
			}
		})
	}
}

func TestLeaseExpiryResumes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	files := map[string]string{"model/a": "aaa", "model/b": "bbb"}
	h.write(t, prefixed("m/", files))
	id := h.createModel(t, "m", h.loc("m"))

	// A runner that died after attaching model/a, before committing its blob.
	job, err := h.db.ClaimImportJob(ctx, "dead-runner", 30*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.AttachModelFile(ctx, job.ModelID, "dead-runner", modelreg.ModelFile{Path: "model/a", Digest: sha("aaa"), Size: 3}); err != nil {
		t.Fatal(err)
	}

	r := h.runner(nil)
	if n := runOnce(t, r); n != 0 {
		t.Fatalf("claimed a job under a live lease")
	}
	h.clock.Advance(31 * time.Second)
	if n := runOnce(t, r); n != 1 {
		t.Fatalf("ran %d jobs after the lease expired, want 1", n)
	}
	h.wantPublished(t, id, files)
}

func TestShutdownResumes(t *testing.T) {
	h := newHarness(t)
	files := map[string]string{"model/a": "aaa", "model/b": "bbb", "model/c": "ccc"}
	h.write(t, prefixed("m/", files))
	id := h.createModel(t, "m", h.loc("m"))

	ctx, cancel := context.WithCancel(context.Background())
	blobs := &hookBlobs{Store: h.blobs}
	blobs.beforeCommt = func(_ modelreg.StagedBlob, n int) error {
		if n == 2 {
			cancel() // the process stops while the second file commits
		}
		return nil
	}
	r := h.runner(blobs)
	if _, err := r.RunOnce(ctx); err == nil {
		t.Fatal("RunOnce returned no error after its context was canceled")
	}
	if m := h.model(t, id); m.Status != modelreg.ModelPublishing {
		t.Fatalf("status = %s, want publishing", m.Status)
	}
	h.stagingEmpty(t)

	r2 := h.runner(nil, func(c *importer.Config) { c.Owner = "restarted" })
	if n := runOnce(t, r2); n != 0 {
		t.Fatal("claimed a job under a live lease")
	}
	h.clock.Advance(time.Minute)
	if n := runOnce(t, r2); n != 1 {
		t.Fatalf("ran %d jobs", n)
	}
	h.wantPublished(t, id, files)
}

func TestSourceChangedBetweenAttempts(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.write(t, map[string]string{"m/model/a": "a", "m/model/b": "b"})
	id := h.createModel(t, "m", h.loc("m"))
	job, err := h.db.ClaimImportJob(ctx, "dead-runner", time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.AttachModelFile(ctx, job.ModelID, "dead-runner", modelreg.ModelFile{Path: "model/b", Digest: sha("b"), Size: 1}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(h.root, "m", "model", "b"))
	h.clock.Advance(2 * time.Second)
	runOnce(t, h.runner(nil))
	h.wantFailed(t, id, modelreg.CodePublishFailed, "model/b", "changed")
}

func TestTransientErrors(t *testing.T) {
	h := newHarness(t)
	files := map[string]string{"model/a": "aaa", "model/b": "bbb"}
	h.write(t, prefixed("ok/", files))
	h.write(t, prefixed("bad/", files))
	ok := h.createModel(t, "ok", h.loc("ok"))

	// The blob store fails the second file of the first two attempts.
	var failing = map[int]bool{2: true, 4: true}
	blobs := &hookBlobs{Store: h.blobs}
	blobs.beforeStage = func(n int) error {
		if failing[n] {
			return modelreg.Errorf(modelreg.EUNAVAILABLE, "", "disk unavailable")
		}
		return nil
	}
	r := h.runner(blobs, func(c *importer.Config) { c.MaxAttempts = 3; c.RetryBase = time.Second })
	for attempt := 1; attempt <= 2; attempt++ {
		if n := runOnce(t, r); n != 1 {
			t.Fatalf("attempt %d: ran %d jobs", attempt, n)
		}
		if m := h.model(t, ok); m.Status != modelreg.ModelPublishing {
			t.Fatalf("attempt %d: status %s", attempt, m.Status)
		}
		if n := runOnce(t, r); n != 0 {
			t.Fatalf("attempt %d: retried before the backoff", attempt)
		}
		h.clock.Advance(time.Duration(attempt) * time.Second) // 1s, then 2s
	}
	if n := runOnce(t, r); n != 1 {
		t.Fatal("third attempt did not run")
	}
	h.wantPublished(t, ok, files)

	// A job that always fails is failed after MaxAttempts.
	bad := h.createModel(t, "bad", h.loc("bad"))
	blobs.beforeStage = func(int) error { return modelreg.Errorf(modelreg.EUNAVAILABLE, "", "disk unavailable") }
	for range 3 {
		runOnce(t, r)
		h.clock.Advance(time.Minute)
	}
	h.wantFailed(t, bad, modelreg.CodePublishFailed, "after 3 attempts")
	collect(t, h.collector())
	if ds := h.blobDigests(t); len(ds) != 2 {
		t.Errorf("blob store holds %v, want the 2 blobs of ok", ds)
	}
}

// TestAttachWaitsForCollector: an import of content the collector is
// deleting at that moment waits for the deletion, then commits the blob
// again.
func TestAttachWaitsForCollector(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	files := map[string]string{"model/w": "weights"}
	h.write(t, prefixed("a/", files))
	h.write(t, prefixed("b/", files))
	a := h.createModel(t, "a", h.loc("a"))
	runOnce(t, h.runner(nil))
	h.wantPublished(t, a, files)
	if err := modelreg.DeleteModel(ctx, h.db, project, a); err != nil {
		t.Fatal(err)
	}
	// Another collector claims the digest and is about to delete it.
	claimed, err := h.db.ClaimBlobDeletions(ctx, "other-gc", time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0] != sha("weights") {
		t.Fatalf("ClaimBlobDeletions = %v, %v", claimed, err)
	}

	b := h.createModel(t, "b", h.loc("b"))
	done := make(chan int)
	go func() {
		n, _ := h.runner(nil).RunOnce(ctx)
		done <- n
	}()
	waitFor(t, func() bool { return strings.Contains(h.logs.String(), "waiting to attach") })
	if err := h.blobs.Delete(ctx, claimed[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.db.CompleteBlobDeletion(ctx, claimed[0], "other-gc"); err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 1 {
		t.Fatalf("ran %d jobs", n)
	}
	h.wantPublished(t, b, files)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met before the deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunAndWake(t *testing.T) {
	h := newHarness(t)
	r := h.runner(nil, func(c *importer.Config) { c.PollInterval = time.Hour; c.Workers = 3 })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- r.Run(ctx) }()

	var ids []string
	for i, name := range []string{"x", "y", "z", "w"} {
		h.write(t, map[string]string{name + "/model/f": name})
		ids = append(ids, h.createModel(t, name, h.loc(name)))
		if i%2 == 1 {
			r.Wake() // one wake for two models: the baton passes on
		}
	}
	for _, id := range ids {
		waitFor(t, func() bool { return h.model(t, id).Status != modelreg.ModelPublishing })
	}
	for i, id := range ids {
		name := []string{"x", "y", "z", "w"}[i]
		h.wantPublished(t, id, map[string]string{"model/f": name})
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestRunRequiresStores(t *testing.T) {
	r := importer.New(importer.Config{})
	if err := r.Run(context.Background()); err == nil {
		t.Error("Run without a store succeeded")
	}
	if r.Owner() == "" {
		t.Error("no default owner")
	}
}

// TestFileGrows: a file that grows past the limit after the walk measured it
// is caught while staging.
func TestFileGrows(t *testing.T) {
	h := newHarness(t)
	h.write(t, map[string]string{"m/model/a": "0123456789"})
	id := h.createModel(t, "m", h.loc("m"))
	blobs := &hookBlobs{Store: h.blobs}
	blobs.beforeStage = func(int) error {
		f, err := os.OpenFile(filepath.Join(h.root, "m", "model", "a"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString("more")
		return err
	}
	runOnce(t, h.runner(blobs, func(c *importer.Config) { c.MaxFileSize = 10 }))
	h.wantFailed(t, id, "ModelArts.3044: ", "model/a")
	h.stagingEmpty(t)
}
