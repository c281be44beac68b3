package importer_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/importer"
)

// stuckReader is a source file whose reads never return until release is
// closed, and ignore cancellation: a hung network file system.
type stuckReader struct {
	io.ReadCloser
	release <-chan struct{}
}

func (r *stuckReader) Read(p []byte) (int, error) {
	<-r.release
	return 0, io.ErrUnexpectedEOF
}

// TestImportStalls: issue 10 item 4. A job whose source makes no progress
// for StallTimeout fails with a clear reason, and the worker moves on even
// though the read never returns.
func TestImportStalls(t *testing.T) {
	h := newHarness(t)
	h.write(t, map[string]string{"m/model/a": "aaaa", "m/model/b": "bbbb"})
	id := h.createModel(t, "m", h.loc("m"))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	r := h.runner(nil, func(c *importer.Config) {
		c.StallTimeout = 100 * time.Millisecond
		importer.SetOpenHook(c, func(rel string, rc io.ReadCloser) io.ReadCloser {
			if rel == "model/b" {
				return &stuckReader{ReadCloser: rc, release: release}
			}
			return rc
		})
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		runOnce(t, r)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the stalled job held its worker")
	}
	h.wantFailed(t, id, modelreg.CodePublishFailed, "no progress for 100ms", "the file model/b")
}

// gateBlobs blocks the staging of every file whose content starts with
// "A" until gate is closed: the imports of project A are stuck.
type gateBlobs struct {
	modelreg.BlobStore
	gate chan struct{}
}

func (b *gateBlobs) Stage(ctx context.Context, r io.Reader, max int64) (modelreg.StagedBlob, error) {
	first := make([]byte, 1)
	n, _ := io.ReadFull(r, first)
	if n == 1 && first[0] == 'A' {
		select {
		case <-b.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.BlobStore.Stage(ctx, io.MultiReader(bytes.NewReader(first[:n]), r), max)
}

// TestProjectCannotStarveOthers: issue 10 item 4. With two workers, two
// stuck imports of project A (queued first) take one worker only; project
// B's import, queued after them, is claimed and published meanwhile.
func TestProjectCannotStarveOthers(t *testing.T) {
	h := newHarness(t)
	h.write(t, map[string]string{"a1/f": "A1", "a2/f": "A2", "b/f": "B"})
	a1 := h.createModel(t, "a1", h.loc("a1"))
	h.clock.Advance(time.Millisecond)
	a2 := h.createModel(t, "a2", h.loc("a2"))
	h.clock.Advance(time.Millisecond)
	const projectB = "fedcba9876543210fedcba9876543210"
	m := &modelreg.Model{
		ModelSummary: modelreg.ModelSummary{ProjectID: projectB, Name: "b", Version: "1.0.0", Type: "PyTorch", WorkspaceID: "0",
			InstallType: []string{"real-time"}},
		SourceLocation: h.loc("b"),
	}
	if err := h.db.CreateModel(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	blobs := &gateBlobs{BlobStore: h.blobs, gate: make(chan struct{})}
	r := h.runner(blobs, func(c *importer.Config) { c.Workers = 2 })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- r.Run(ctx) }()
	defer func() {
		cancel()
		<-errc
	}()

	waitFor(t, func() bool {
		got, err := h.db.FindModelByID(context.Background(), projectB, m.ID)
		return err == nil && got.Status == modelreg.ModelPublished
	})
	if s := h.model(t, a1).Status + h.model(t, a2).Status; !strings.Contains(s, modelreg.ModelPublishing) {
		t.Fatalf("project A's imports = %s, want them stuck", s)
	}
	close(blobs.gate)
	for _, id := range []string{a1, a2} {
		waitFor(t, func() bool { return h.model(t, id).Status == modelreg.ModelPublished })
	}
}
