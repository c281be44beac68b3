package importer_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/importer"
)

// uploads returns Uploads over the harness's stores (blobs when not nil).
func (h *harness) uploads(blobs modelreg.BlobStore, opts ...func(*importer.UploadConfig)) *importer.Uploads {
	if blobs == nil {
		blobs = h.blobs
	}
	cfg := importer.UploadConfig{Store: h.db, Blobs: blobs, Logger: h.log}
	for _, o := range opts {
		o(&cfg)
	}
	return importer.NewUploads(cfg)
}

// begin starts the upload of a model named name.
func begin(tb testing.TB, u *importer.Uploads, name string) string {
	tb.Helper()
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{
		ProjectID: project, Name: name, Version: "1.0.0", Type: "PyTorch", WorkspaceID: "0", InstallType: []string{"real-time"},
	}}
	up, err := u.BeginUpload(context.Background(), m)
	if err != nil {
		tb.Fatalf("BeginUpload: %v", err)
	}
	if up.UploadID != m.ID || up.ModelID != m.ID || up.IdleTimeout < 1 {
		tb.Fatalf("upload %+v for model %s", up, m.ID)
	}
	return up.UploadID
}

// put uploads files (path → content) and returns what the server reported.
func put(tb testing.TB, u *importer.Uploads, id string, files map[string]string) []modelreg.FileInfo {
	tb.Helper()
	var infos []modelreg.FileInfo
	for p, c := range files {
		fi, err := u.PutUploadFile(context.Background(), project, id, p, strings.NewReader(c), int64(len(c)), "")
		if err != nil {
			tb.Fatalf("PutUploadFile(%s): %v", p, err)
		}
		if fi != (modelreg.FileInfo{Path: p, Size: int64(len(c)), SHA256: sha(c)}) {
			tb.Fatalf("PutUploadFile(%s) = %+v", p, fi)
		}
		infos = append(infos, fi)
	}
	return infos
}

func wantCode(tb testing.TB, what string, err error, code, apiCode string) {
	tb.Helper()
	if modelreg.ErrorCode(err) != code || apiCode != "" && modelreg.ErrorAPICode(err) != apiCode {
		tb.Fatalf("%s: error %v (%s %s), want %s %s", what, err, modelreg.ErrorCode(err), modelreg.ErrorAPICode(err), code, apiCode)
	}
}

func TestUpload(t *testing.T) {
	h := newHarness(t)
	u := h.uploads(nil)
	id := begin(t, u, "pushed")
	m := h.model(t, id)
	if m.Status != modelreg.ModelPublishing || m.SourceLocation != "upload://"+id {
		t.Fatalf("model %s, source %s", m.Status, m.SourceLocation)
	}
	// No runner takes an upload's job while it lives.
	if n := runOnce(t, h.runner(nil)); n != 0 {
		t.Fatalf("a runner ran %d jobs", n)
	}
	files := map[string]string{
		"model/config.json":  `{"model_type":"PyTorch","runtime":"python3.10"}`,
		"model/weights.bin":  strings.Repeat("w", 5000),
		"model/sub/é x.txt":  "unicode and a space",
		"model/empty":        "",
		"README.md":          "# pushed",
		"model/replaced.bin": "first",
	}
	put(t, u, id, files)
	// Uploading a path again replaces the file; the first blob goes.
	files["model/replaced.bin"] = "second"
	infos := put(t, u, id, map[string]string{"model/replaced.bin": "second"})
	var want []modelreg.FileInfo
	for p, c := range files {
		want = append(want, modelreg.FileInfo{Path: p, Size: int64(len(c)), SHA256: sha(c)})
	}
	if infos[0].SHA256 != sha("second") {
		t.Fatal(infos)
	}
	got, err := u.CommitUpload(context.Background(), project, id, want)
	if err != nil {
		t.Fatalf("CommitUpload: %v", err)
	}
	if got.Status != modelreg.ModelPublished || got.Runtime != "python3.10" || !strings.Contains(got.Config, "python3.10") {
		t.Errorf("committed model: status %s runtime %q config %q", got.Status, got.Runtime, got.Config)
	}
	h.wantPublished(t, id, files)
	if n := collect(t, h.collector()); n != 1 {
		t.Errorf("collected %d blobs, want 1 (the replaced file)", n)
	}
	if len(h.blobDigests(t)) != len(files) {
		t.Errorf("%d blobs, want %d", len(h.blobDigests(t)), len(files))
	}
	h.stagingEmpty(t)

	// A committed upload takes no more files and no second commit.
	_, err = u.PutUploadFile(context.Background(), project, id, "late", strings.NewReader("x"), 1, "")
	wantCode(t, "put after commit", err, modelreg.ESTATE, modelreg.CodeModelAbnormal)
	_, err = u.CommitUpload(context.Background(), project, id, nil)
	wantCode(t, "second commit", err, modelreg.ESTATE, modelreg.CodeModelAbnormal)
	wantCode(t, "abort after commit", u.AbortUpload(context.Background(), project, id), modelreg.ESTATE, modelreg.CodeModelAbnormal)
	h.wantPublished(t, id, files)
}

// errReader fails after n bytes.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func TestUploadFileErrors(t *testing.T) {
	h := newHarness(t)
	u := h.uploads(nil, func(c *importer.UploadConfig) { c.MaxFileSize = 100 })
	id := begin(t, u, "pushed")
	imported := h.createModel(t, "imported", h.loc("x"))
	ctx := context.Background()
	big := strings.Repeat("b", 101)
	for _, tt := range []struct {
		name      string
		project   string
		id, path  string
		body      io.Reader
		size      int64
		sha256    string
		code, api string
	}{
		{"UnknownModel", project, modelreg.NewID(), "a", strings.NewReader("a"), 1, "", modelreg.ENOTFOUND, modelreg.CodeModelNotFound},
		{"OtherProject", "fedcba9876543210fedcba9876543210", id, "a", strings.NewReader("a"), 1, "", modelreg.ENOTFOUND, modelreg.CodeModelNotFound},
		{"ImportedModel", project, imported, "a", strings.NewReader("a"), 1, "", modelreg.ESTATE, modelreg.CodeModelAbnormal},
		{"DotDot", project, id, "model/../a", strings.NewReader("a"), 1, "", modelreg.EINVALID, modelreg.CodeInvalidArgument},
		{"Absolute", project, id, "/etc/passwd", strings.NewReader("a"), 1, "", modelreg.EINVALID, modelreg.CodeInvalidArgument},
		{"TooLargeAnnounced", project, id, "big", strings.NewReader(big), 101, "", modelreg.ETOOLARGE, modelreg.CodeFileTooLarge},
		{"TooLargeStreamed", project, id, "big", strings.NewReader(big), -1, "", modelreg.ETOOLARGE, modelreg.CodeFileTooLarge},
		{"DigestMismatch", project, id, "a", strings.NewReader("a"), 1, sha("b"), modelreg.EINVALID, modelreg.CodeInvalidArgument},
		{"BadDigest", project, id, "a", strings.NewReader("a"), 1, "abc", modelreg.EINVALID, modelreg.CodeInvalidArgument},
		{"SizeMismatch", project, id, "a", strings.NewReader("ab"), 1, "", modelreg.EINVALID, modelreg.CodeInvalidArgument},
		{"BodyCut", project, id, "a", &errReader{n: 50}, -1, "", modelreg.EINVALID, modelreg.CodeInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := u.PutUploadFile(ctx, tt.project, tt.id, tt.path, tt.body, tt.size, tt.sha256)
			wantCode(t, tt.name, err, tt.code, tt.api)
		})
	}
	if err := func() error {
		_, err := u.PutUploadFile(ctx, project, id, "too-big", strings.NewReader(big), -1, "")
		return err
	}(); !strings.Contains(modelreg.ErrorMessage(err), "The file too-big is larger than the limit of 100 bytes") {
		t.Errorf("message %q", modelreg.ErrorMessage(err))
	}
	// Nothing was stored, and the upload is still open.
	if ds := h.blobDigests(t); len(ds) != 0 || len(h.files(t, id)) != 0 {
		t.Errorf("blobs %v, files %v after refused uploads", ds, h.files(t, id))
	}
	h.stagingEmpty(t)
	put(t, u, id, map[string]string{"a": "a"})
	// An upload with a matching digest is taken.
	if _, err := u.PutUploadFile(ctx, project, id, "b", strings.NewReader("b"), -1, strings.ToUpper(sha("b"))); err != nil {
		t.Fatal(err)
	}
	if _, err := u.CommitUpload(ctx, project, id, nil); err != nil {
		t.Fatal(err)
	}
}

func TestUploadCommitChecks(t *testing.T) {
	h := newHarness(t)
	failCommit := false
	blobs := &hookBlobs{Store: h.blobs, beforeCommt: func(modelreg.StagedBlob, int) error {
		if failCommit {
			return modelreg.Errorf(modelreg.EUNAVAILABLE, "", "The object store cannot be reached.")
		}
		return nil
	}}
	u := h.uploads(blobs)
	ctx := context.Background()
	id := begin(t, u, "pushed")
	commit := func(want []modelreg.FileInfo) error {
		_, err := u.CommitUpload(ctx, project, id, want)
		return err
	}
	wantCode(t, "empty upload", commit(nil), modelreg.EINVALID, modelreg.CodeParamInvalid)

	files := map[string]string{"model/config.json": `{"model_type": 3}`, "model/a.bin": "a"}
	put(t, u, id, files)
	a := modelreg.FileInfo{Path: "model/a.bin", Size: 1, SHA256: sha("a")}
	cfg := modelreg.FileInfo{Path: "model/config.json", Size: int64(len(files["model/config.json"])), SHA256: sha(files["model/config.json"])}
	for name, want := range map[string][]modelreg.FileInfo{
		"Missing":     {a},
		"Extra":       {a, cfg, {Path: "model/c.bin", Size: 1, SHA256: sha("c")}},
		"WrongSize":   {{Path: a.Path, Size: 2, SHA256: a.SHA256}, cfg},
		"WrongSHA":    {{Path: a.Path, Size: 1, SHA256: sha("b")}, cfg},
		"ListedTwice": {a, a, cfg},
	} {
		if err := commit(want); modelreg.ErrorAPICode(err) != modelreg.CodeParamInvalid {
			t.Errorf("%s: %v, want ModelArts.3037", name, err)
		}
	}
	// A bad config.json is refused like an import's, and can be replaced.
	err := commit([]modelreg.FileInfo{a, cfg})
	wantCode(t, "bad config", err, modelreg.EINVALID, modelreg.CodeConfigUnsupported)
	if !strings.Contains(modelreg.ErrorMessage(err), "model/config.json field model_type must be a JSON string") {
		t.Errorf("message %q", modelreg.ErrorMessage(err))
	}
	put(t, u, id, map[string]string{"model/config.json": `{"model_type":"PyTorch"}`})

	// A file whose blob was attached but never committed is refused until
	// it is uploaded again.
	failCommit = true
	if _, err := u.PutUploadFile(ctx, project, id, "model/b.bin", strings.NewReader("b"), 1, ""); modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
		t.Fatalf("put with a failing commit: %v", err)
	}
	failCommit = false
	if err := commit(nil); err == nil || !strings.Contains(modelreg.ErrorMessage(err), "model/b.bin was not stored completely") {
		t.Fatalf("commit with a file not stored: %v", err)
	}
	put(t, u, id, map[string]string{"model/b.bin": "b", "model": "a file named like a folder"})
	err = commit(nil)
	if err == nil || !strings.Contains(modelreg.ErrorMessage(err), "model is a file and also a folder") {
		t.Fatalf("commit with a file that is a folder: %v", err)
	}
	if err := u.AbortUpload(ctx, project, id); err != nil {
		t.Fatal(err)
	}
	// Aborted: the model is gone, its blobs are collected.
	if _, err := h.db.FindModelByID(ctx, project, id); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Fatalf("model after abort: %v", err)
	}
	_, err = u.PutUploadFile(ctx, project, id, "x", strings.NewReader("x"), 1, "")
	wantCode(t, "put after abort", err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	collect(t, h.collector())
	if ds := h.blobDigests(t); len(ds) != 0 {
		t.Errorf("blobs left after abort: %v", ds)
	}
	h.stagingEmpty(t)
}

// TestUploadAbandoned checks that an upload whose client stopped sending is
// given up after its idle timeout: a runner fails the model and its blobs
// are collected.
func TestUploadAbandoned(t *testing.T) {
	h := newHarness(t)
	u := h.uploads(nil)
	ctx := context.Background()
	id := begin(t, u, "pushed")
	put(t, u, id, map[string]string{"a.bin": "abandoned"})
	h.clock.Advance(importer.DefaultUploadIdleTimeout + time.Second)
	if n := runOnce(t, h.runner(nil)); n != 1 {
		t.Fatalf("runner ran %d jobs, want 1", n)
	}
	h.wantFailed(t, id, "ModelArts.3006", "upload was given up")
	_, err := u.PutUploadFile(ctx, project, id, "b", strings.NewReader("b"), 1, "")
	wantCode(t, "put after expiry", err, modelreg.ESTATE, modelreg.CodeModelAbnormal)
	if !strings.Contains(modelreg.ErrorMessage(err), "status is failed (ModelArts.3006: The upload was given up") {
		t.Errorf("message %q", modelreg.ErrorMessage(err))
	}
	_, err = u.CommitUpload(ctx, project, id, nil)
	wantCode(t, "commit after expiry", err, modelreg.ESTATE, modelreg.CodeModelAbnormal)
	if n := collect(t, h.collector()); n != 1 {
		t.Errorf("collected %d, want 1", n)
	}
}

// TestUploadDeletedMidStream deletes the model while a file streams in: the
// stream stops, nothing is kept.
func TestUploadDeletedMidStream(t *testing.T) {
	h := newHarness(t)
	u := h.uploads(nil, func(c *importer.UploadConfig) { c.IdleTimeout = 60 * time.Millisecond })
	ctx := context.Background()
	id := begin(t, u, "pushed")
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := u.PutUploadFile(ctx, project, id, "big.bin", pr, -1, "")
		errc <- err
	}()
	if _, err := pw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := modelreg.DeleteModel(ctx, h.db, project, id); err != nil {
		t.Fatal(err)
	}
	go func() { // keep the body coming until the server stops reading
		buf := make([]byte, 64<<10)
		for {
			if _, err := pw.Write(buf); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-errc:
		wantCode(t, "put of a deleted model", err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	case <-time.After(20 * time.Second):
		t.Fatal("the stream did not stop after the model was deleted")
	}
	pr.Close()
	collect(t, h.collector())
	if ds := h.blobDigests(t); len(ds) != 0 {
		t.Errorf("blobs left: %v", ds)
	}
	h.stagingEmpty(t)
}

// TestUploadDeletedBeforeCommit deletes the model, and collects, between the
// attach of a file and the commit of its blob: the upload queues the blob it
// then commits, so it does not stay orphaned.
func TestUploadDeletedBeforeCommit(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var id string
	blobs := &hookBlobs{Store: h.blobs, beforeCommt: func(modelreg.StagedBlob, int) error {
		if err := modelreg.DeleteModel(ctx, h.db, project, id); err != nil {
			t.Error(err)
		}
		collect(t, h.collector())
		return nil
	}}
	u := h.uploads(blobs)
	id = begin(t, u, "pushed")
	if _, err := u.PutUploadFile(ctx, project, id, "a", strings.NewReader("orphan?"), -1, ""); err != nil {
		t.Fatalf("put: %v", err) // the blob was stored; the model is gone
	}
	if h.pending(t) != 1 {
		t.Fatalf("%d blobs queued, want 1", h.pending(t))
	}
	blobs.beforeCommt = nil
	collect(t, h.collector())
	if ds := h.blobDigests(t); len(ds) != 0 {
		t.Errorf("orphan blob left: %v", ds)
	}
}
