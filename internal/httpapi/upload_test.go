package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/blob/s3"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/s3test"
)

// blobStores returns the blob stores the file tests run on: a directory,
// and a bucket of the test S3 server (that case skips without one).
func blobStores(t *testing.T) map[string]func(t *testing.T) modelreg.BlobStore {
	stores := map[string]func(t *testing.T) modelreg.BlobStore{
		"Disk": func(t *testing.T) modelreg.BlobStore {
			b, err := disk.Open(filepath.Join(t.TempDir(), "blobs"))
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
	// Without a server the S3 case skips, naming the variables (a CI failure).
	stores["S3"] = func(t *testing.T) modelreg.BlobStore {
		srv := s3test.Get(t)
		cfg := s3.Config{
			Endpoint: s3.Endpoint{Host: srv.Endpoint, Insecure: true, Region: s3test.Region, MaxRetries: 2},
			Bucket:   srv.Bucket, Prefix: srv.Prefix(t, "httpapi-test"),
		}
		st, err := s3.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // whatever a failed test left
			ctx := context.Background()
			st.CleanStaging(ctx, time.Now().Add(time.Hour))
			st.Walk(ctx, func(d string, _ int64, _ time.Time) error { return st.Delete(ctx, d) })
		})
		return st
	}
	return stores
}

// withFiles serves uploads and downloads over blobs, with files of at most
// maxFile bytes (0: the default).
func withFiles(blobs modelreg.BlobStore, maxFile int64) option {
	return func(c *httpapi.Config) {
		c.Blobs = blobs
		c.Uploads = importer.NewUploads(importer.UploadConfig{Store: c.Store, Blobs: blobs, MaxFileSize: maxFile,
			Logger: slog.New(slog.DiscardHandler)})
	}
}

// writeTree writes files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for p, b := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree returns the files under dir: path → content.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(name string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, name)
		b, err := os.ReadFile(name)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// blobCount returns how many committed blobs the store holds.
func blobCount(t *testing.T, blobs modelreg.BlobStore) int {
	t.Helper()
	n := 0
	if err := blobs.Walk(context.Background(), func(string, int64, time.Time) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPushPull pushes a folder through the real server and client, pulls it
// back, and deletes it, on each blob store.
func TestPushPull(t *testing.T) { eachStore(t, testPushPull) }

func testPushPull(t *testing.T) {
	for name, open := range blobStores(t) {
		t.Run(name, func(t *testing.T) {
			blobs := open(t)
			e := MustServe(t, withFiles(blobs, 0))
			ctx := context.Background()
			files := map[string][]byte{
				"model/config.json":       []byte(`{"model_type":"PyTorch","runtime":"python3.10"}`),
				"model/weights.bin":       randomBytes(3<<20 + 17), // over 1 MiB (the JSON body limit) and a multipart upload on S3
				"model/vocab/é ü #%?.txt": []byte("names that need escaping"),
				"model/empty":             {},
				"README.md":               []byte("# pushed"),
			}
			src := t.TempDir()
			writeTree(t, src, files)
			var last client.Progress
			calls := 0
			m, err := e.c.Push(ctx, src, &modelreg.ModelImport{Name: "pushed", Version: "1.0.0", Type: "PyTorch"}, func(p client.Progress) {
				last = p
				calls++
			})
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			var total int64
			for _, b := range files {
				total += int64(len(b))
			}
			if m.Status != modelreg.ModelPublished || m.Size != total || m.Runtime != "python3.10" || m.SourceLocation != "upload://"+m.ID {
				t.Errorf("pushed model: status %s size %d (want %d) runtime %q source %q", m.Status, m.Size, total, m.Runtime, m.SourceLocation)
			}
			if calls == 0 || last.Done != total || last.Total != total {
				t.Errorf("progress: %d calls, last %+v, want %d bytes", calls, last, total)
			}

			list, err := e.c.ModelFiles(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range list.Files {
				paths = append(paths, f.Path)
				sum := sha256.Sum256(files[f.Path])
				if f.Size != int64(len(files[f.Path])) || f.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("listed %+v", f)
				}
			}
			if !sort.StringsAreSorted(paths) || len(paths) != len(files) || list.Size != total || list.ModelID != m.ID {
				t.Errorf("list %+v", list)
			}

			dst := filepath.Join(t.TempDir(), "pulled")
			got, err := e.c.Pull(ctx, m.ID, dst, nil)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if len(got) != len(files) {
				t.Errorf("pulled %d files", len(got))
			}
			pulled := readTree(t, dst)
			if len(pulled) != len(files) {
				t.Errorf("pulled tree %d files, want %d", len(pulled), len(files))
			}
			for p, b := range files {
				if !bytes.Equal(pulled[p], b) {
					t.Errorf("pulled %s differs", p)
				}
			}
			// The same model again into the same folder replaces the files.
			os.WriteFile(filepath.Join(dst, "README.md"), []byte("changed"), 0o644)
			if _, err := e.c.Pull(ctx, m.ID, dst, nil); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(dst, "README.md")); string(b) != "# pushed" {
				t.Errorf("README.md after a second pull: %q", b)
			}

			// HEAD answers the headers only.
			req, _ := http.NewRequest(http.MethodHead, e.srv.URL+"/modelreg/v1/"+projectA+"/models/"+m.ID+"/files/model/weights.bin", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			sum := sha256.Sum256(files["model/weights.bin"])
			if resp.StatusCode != 200 || resp.ContentLength != int64(len(files["model/weights.bin"])) ||
				resp.Header.Get("X-Content-Sha256") != hex.EncodeToString(sum[:]) || resp.Header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
				t.Errorf("HEAD: %d, %d bytes, headers %v", resp.StatusCode, resp.ContentLength, resp.Header)
			}

			checkRanges(t, e, m.ID, "model/weights.bin", files["model/weights.bin"])

			// Deleting the model frees its blobs.
			if n := blobCount(t, blobs); n != len(files) {
				t.Errorf("%d blobs, want %d", n, len(files))
			}
			if _, err := e.c.DeleteModel(ctx, m.ID, false); err != nil {
				t.Fatal(err)
			}
			coll := collector.New(collector.Config{Store: e.store, Blobs: blobs, Logger: slog.New(slog.DiscardHandler)})
			if _, err := coll.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if n := blobCount(t, blobs); n != 0 {
				t.Errorf("%d blobs left after the delete", n)
			}
		})
	}
}

// rawRequest sends a request to the test server and returns the status and
// the decoded ModelArts error body (zero for a 2xx).
func rawRequest(t *testing.T, e *testEnv, method, path string, body io.Reader, header map[string]string) (int, errorBody) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb errorBody
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &eb); err != nil || eb.ErrorCode == "" || eb.ErrorMsg != eb.ErrorMessage {
			t.Errorf("%s %s: %d with body %q", method, path, resp.StatusCode, b)
		}
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	return resp.StatusCode, eb
}

type errorBody struct {
	ErrorCode    string `json:"error_code"`
	ErrorMsg     string `json:"error_msg"`
	ErrorMessage string `json:"error_message"`
}

// TestBadInputUpload refuses bad file paths, digests and bodies with
// ModelArts errors, and stores nothing.
func TestBadInputUpload(t *testing.T) { eachStore(t, testBadInputUpload) }

func testBadInputUpload(t *testing.T) {
	blobs := blobStores(t)["Disk"](t)
	e := MustServe(t, withFiles(blobs, 1<<10))
	ctx := context.Background()
	up, err := e.c.BeginUpload(ctx, &modelreg.ModelImport{Name: "pushed", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	base := "/modelreg/v1/" + projectA + "/uploads/" + up.UploadID + "/files/"
	for _, tt := range []struct {
		name, path string
		header     map[string]string
		body       string
		status     int
		code       string
	}{
		{"DotDotEncoded", base + "%2E%2E/x", nil, "x", 400, "ModelArts.0101"},
		{"DotDotInside", base + "a/%2e%2e/b", nil, "x", 400, "ModelArts.0101"},
		{"DotDotRaw", base + "a/../b", nil, "x", 400, "ModelArts.0101"},
		{"Dot", base + "./a", nil, "x", 400, "ModelArts.0101"},
		{"DoubleSlash", base + "a//b", nil, "x", 400, "ModelArts.0101"},
		{"Absolute", base + "%2Fetc/passwd", nil, "x", 400, "ModelArts.0101"},
		{"Empty", base, nil, "x", 400, "ModelArts.0101"},
		{"TrailingSlash", base + "a/", nil, "x", 400, "ModelArts.0101"},
		{"NUL", base + "a%00b", nil, "x", 400, "ModelArts.0101"},
		{"Newline", base + "a%0Ab", nil, "x", 400, "ModelArts.0101"},
		{"InvalidUTF8", base + "%FF", nil, "x", 400, "ModelArts.0101"},
		{"TooLong", base + strings.Repeat("a", 1025), nil, "x", 400, "ModelArts.0101"},
		{"BadUploadID", "/modelreg/v1/" + projectA + "/uploads/nope/files/a", nil, "x", 400, "ModelArts.0101"},
		{"BadProject", "/modelreg/v1/nope/uploads/" + up.UploadID + "/files/a", nil, "x", 400, "ModelArts.0101"},
		{"UnknownUpload", "/modelreg/v1/" + projectA + "/uploads/" + modelreg.NewID() + "/files/a", nil, "x", 404, "ModelArts.3001"},
		{"OtherProject", "/modelreg/v1/" + projectB + "/uploads/" + up.UploadID + "/files/a", nil, "x", 404, "ModelArts.3001"},
		{"HashMismatch", base + "a", map[string]string{"X-Content-Sha256": strings.Repeat("0", 64)}, "x", 400, "ModelArts.0101"},
		{"HashMalformed", base + "a", map[string]string{"X-Content-Sha256": "abc"}, "x", 400, "ModelArts.0101"},
		{"TooLarge", base + "big", nil, strings.Repeat("b", 1<<10+1), 413, "ModelArts.3044"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, eb := rawRequest(t, e, http.MethodPut, tt.path, strings.NewReader(tt.body), tt.header)
			if status != tt.status || eb.ErrorCode != tt.code {
				t.Errorf("%d %+v, want %d %s", status, eb, tt.status, tt.code)
			}
		})
	}
	// Too large without a Content-Length: refused while streaming.
	status, eb := rawRequest(t, e, http.MethodPut, base+"big", chunked{bytes.NewReader(bytes.Repeat([]byte("b"), 4<<10))}, nil)
	if status != 413 || eb.ErrorCode != "ModelArts.3044" || !strings.Contains(eb.ErrorMsg, "The file big is larger than the limit of 1 KiB") {
		t.Errorf("chunked too large: %d %+v", status, eb)
	}
	// Downloads refuse the same paths.
	if status, eb := rawRequest(t, e, http.MethodGet, "/modelreg/v1/"+projectA+"/models/"+up.ModelID+"/files/%2E%2E/x", nil, nil); status != 400 || eb.ErrorCode != "ModelArts.0101" {
		t.Errorf("download of ../x: %d %+v", status, eb)
	}
	// Nothing was stored; the upload still works.
	if n := blobCount(t, blobs); n != 0 {
		t.Errorf("%d blobs stored by refused uploads", n)
	}
	sum := sha256.Sum256([]byte("fine"))
	fi, err := e.c.UploadFile(ctx, up.UploadID, "a", strings.NewReader("fine"), 4, hex.EncodeToString(sum[:]))
	if err != nil || fi.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("a good upload: %+v %v", fi, err)
	}
	// The client refuses bad paths before sending anything.
	if _, err := e.c.UploadFile(ctx, up.UploadID, "../x", strings.NewReader("x"), 1, ""); modelreg.ErrorCode(err) != modelreg.EINVALID || client.StatusCode(err) != 0 {
		t.Errorf("client-side check: %v", err)
	}
	if _, err := e.c.CommitUpload(ctx, up.UploadID, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBadInputUploadCreate(t *testing.T) { eachStore(t, testBadInputUploadCreate) }

func testBadInputUploadCreate(t *testing.T) {
	e := MustServe(t, withFiles(blobStores(t)["Disk"](t), 0))
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		m    *modelreg.ModelImport
		code string
	}{
		{"SourceLocation", &modelreg.ModelImport{Name: "a", Version: "1.0.0", Type: "PyTorch", SourceLocation: "obs://b/a"}, modelreg.CodeParamInvalid},
		{"NoName", &modelreg.ModelImport{Version: "1.0.0", Type: "PyTorch"}, modelreg.CodeParamRequired},
		{"BadVersion", &modelreg.ModelImport{Name: "a", Version: "1.0", Type: "PyTorch"}, modelreg.CodeParamInvalid},
		{"BadType", &modelreg.ModelImport{Name: "a", Version: "1.0.0", Type: "Cobol"}, modelreg.CodeParamInvalid},
	} {
		if _, err := e.c.BeginUpload(ctx, tt.m); client.StatusCode(err) != 400 || modelreg.ErrorAPICode(err) != tt.code {
			t.Errorf("%s: %v, want 400 %s", tt.name, err, tt.code)
		}
	}
	MustImport(t, e.c, newImport("taken", "1.0.0"))
	if _, err := e.c.BeginUpload(ctx, &modelreg.ModelImport{Name: "taken", Version: "1.0.0", Type: "PyTorch"}); modelreg.ErrorAPICode(err) != modelreg.CodeModelExists {
		t.Errorf("taken name: %v, want 409 3002", err)
	}
	if list, _ := e.c.ListModels(ctx, modelreg.ModelFilter{}); list.TotalCount != 1 {
		t.Errorf("%d models after refused uploads", list.TotalCount)
	}
	// A push of an empty folder is refused before the server is asked.
	if _, err := e.c.Push(ctx, t.TempDir(), &modelreg.ModelImport{Name: "empty", Version: "1.0.0", Type: "PyTorch"}, nil); err == nil || !strings.Contains(err.Error(), "holds no files") {
		t.Errorf("push of an empty folder: %v", err)
	}

	// A server without uploads says so.
	off := MustServe(t)
	if _, err := off.c.BeginUpload(ctx, &modelreg.ModelImport{Name: "a", Version: "1.0.0", Type: "PyTorch"}); client.StatusCode(err) != 404 {
		t.Errorf("uploads off: %v", err)
	}
}

// TestPullErrors checks the download side's errors.
func TestPullErrors(t *testing.T) { eachStore(t, testPullErrors) }

func testPullErrors(t *testing.T) {
	blobs := blobStores(t)["Disk"](t)
	e := MustServe(t, withFiles(blobs, 0))
	ctx := context.Background()
	dir := t.TempDir()

	_, err := e.c.Pull(ctx, modelreg.NewID(), dir, nil)
	if client.StatusCode(err) != 404 || modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
		t.Errorf("pull of an unknown model: %v, want 404 3001", err)
	}
	publishing := MustImport(t, e.c, newImport("publishing", "1.0.0"))
	if _, err := e.c.Pull(ctx, publishing, dir, nil); modelreg.ErrorAPICode(err) != modelreg.CodeModelPublishing || modelreg.ErrorCode(err) != modelreg.ESTATE {
		t.Errorf("pull of a publishing model: %v, want 400 3515", err)
	}
	failed := MustImport(t, e.c, newImport("failed", "1.0.0"))
	MustFinishImport(t, e.store, failed, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: "x"})
	if _, err := e.c.ModelFiles(ctx, failed); modelreg.ErrorAPICode(err) != modelreg.CodeModelAbnormal {
		t.Errorf("files of a failed model: %v, want 400 3078", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed pulls wrote %d entries", len(entries))
	}

	src := t.TempDir()
	writeTree(t, src, map[string][]byte{"a.txt": []byte("a")})
	m, err := e.c.Push(ctx, src, &modelreg.ModelImport{Name: "pushed", Version: "1.0.0", Type: "PyTorch"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.c.DownloadFile(ctx, m.ID, "nope.txt"); client.StatusCode(err) != 404 {
		t.Errorf("download of a missing file: %v", err)
	}
	if _, err := e.cb.ModelFiles(ctx, m.ID); modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
		t.Errorf("files from another project: %v, want 3001", err)
	}
}

// TestPullChecksum serves a file whose bytes do not match the list: the
// pull fails loudly and leaves no file under the final name.
func TestPullChecksum(t *testing.T) { eachStore(t, testPullChecksum) }

func testPullChecksum(t *testing.T) {
	blobs := blobStores(t)["Disk"](t)
	e := MustServe(t, withFiles(corruptBlobs{blobs}, 0))
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, map[string][]byte{"a.txt": []byte("the right content")})
	m, err := e.c.Push(ctx, src, &modelreg.ModelImport{Name: "pushed", Version: "1.0.0", Type: "PyTorch"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	_, err = e.c.Pull(ctx, m.ID, dst, nil)
	if !errors.Is(err, client.ErrChecksum) || !strings.Contains(err.Error(), "a.txt") {
		t.Fatalf("pull of corrupt content: %v", err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Errorf("a corrupt pull left %v", entries)
	}
}

// corruptBlobs serves every blob with its first byte changed.
type corruptBlobs struct{ modelreg.BlobStore }

func (c corruptBlobs) Open(ctx context.Context, d string) (io.ReadCloser, error) {
	rc, err := c.BlobStore.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if len(b) > 0 {
		b[0] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(b)), err
}

// TestUploadAbandonedMidStream cuts an upload in the middle of a file: the
// server keeps no blob of it, and once the upload is given up its model
// goes and nothing is left after a collector pass.
func TestUploadAbandonedMidStream(t *testing.T) { eachStore(t, testUploadAbandonedMidStream) }

func testUploadAbandonedMidStream(t *testing.T) {
	for name, open := range blobStores(t) {
		t.Run(name, func(t *testing.T) {
			blobs := open(t)
			e := MustServe(t, withFiles(blobs, 0))
			ctx := context.Background()
			up, err := e.c.BeginUpload(ctx, &modelreg.ModelImport{Name: "cut", Version: "1.0.0", Type: "PyTorch"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.c.UploadFile(ctx, up.UploadID, "kept-until-abort.txt", strings.NewReader("small"), 5, ""); err != nil {
				t.Fatal(err)
			}
			// 40 MiB announced, 20 MiB sent, then the connection drops.
			cctx, cancel := context.WithCancel(ctx)
			pr, pw := io.Pipe()
			go func() {
				chunk := make([]byte, 1<<20)
				for range 20 {
					if _, err := pw.Write(chunk); err != nil {
						return
					}
				}
				time.Sleep(100 * time.Millisecond)
				cancel()
				pw.CloseWithError(errors.New("client gone"))
			}()
			if _, err := e.c.UploadFile(cctx, up.UploadID, "big.bin", pr, 40<<20, ""); err == nil {
				t.Fatal("a cut upload succeeded")
			}
			// The server notices the cut, cleans up, and logs the request.
			waitFor(t, func() bool { return strings.Contains(e.logs.String(), "files/big.bin") })
			// Nothing of big.bin was committed.
			if n := blobCount(t, blobs); n != 1 {
				t.Errorf("%d blobs after the cut upload, want 1 (the small file)", n)
			}
			// Give the upload up; its model and blobs go.
			if err := e.c.AbortUpload(ctx, up.UploadID); err != nil {
				t.Fatal(err)
			}
			coll := collector.New(collector.Config{Store: e.store, Blobs: blobs, Logger: slog.New(slog.DiscardHandler)})
			if _, err := coll.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if n := blobCount(t, blobs); n != 0 {
				t.Errorf("%d blobs after the abort and a collector pass", n)
			}
			if _, err := e.c.GetModel(ctx, up.ModelID); modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
				t.Errorf("model after abort: %v", err)
			}
			// No staged leftovers either.
			if err := coll.Sweep(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if n := blobCount(t, blobs); n != 0 {
				t.Errorf("%d blobs after a sweep", n)
			}
		})
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowReader returns its bytes a few at a time, with a pause before each.
type slowReader struct {
	r     io.Reader
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	return s.r.Read(p[:min(len(p), 64)])
}

// slowBlobs is a blob store whose Stat takes a while: a commit that checks
// blobs outlasts the server's timeouts.
type slowBlobs struct {
	modelreg.BlobStore
	pause time.Duration
}

func (s slowBlobs) Stat(ctx context.Context, d string) (int64, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(s.pause):
	}
	return s.BlobStore.Stat(ctx, d)
}

// TestUploadOutlastsServerTimeouts runs a server whose read and write
// timeouts are shorter than a transfer: file routes renew their deadlines
// while bytes move, so neither an upload nor a download is cut, and a
// commit that takes longer than the timeouts is not cancelled.
func TestUploadOutlastsServerTimeouts(t *testing.T) { eachStore(t, testUploadOutlastsServerTimeouts) }

func testUploadOutlastsServerTimeouts(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	blobs := slowBlobs{BlobStore: blobStores(t)["Disk"](t), pause: 500 * time.Millisecond}
	e := MustServe(t, withFiles(blobs, 0))
	slow := httptest.NewUnstartedServer(e.srv.Config.Handler)
	slow.Config.ReadTimeout = 300 * time.Millisecond
	slow.Config.WriteTimeout = 300 * time.Millisecond
	slow.Start()
	defer slow.Close()
	c, err := client.New(slow.URL, projectA)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	up, err := c.BeginUpload(ctx, &modelreg.ModelImport{Name: "slow", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(64 * 20) // 20 reads, 1 s in all
	start := time.Now()
	if _, err := c.UploadFile(ctx, up.UploadID, "slow.bin", &slowReader{r: bytes.NewReader(content), pause: 50 * time.Millisecond}, int64(len(content)), ""); err != nil {
		t.Fatalf("slow upload after %s: %v", time.Since(start), err)
	}
	if _, err := c.CommitUpload(ctx, up.UploadID, nil); err != nil {
		t.Fatal(err)
	}
	body, _, err := c.DownloadFile(ctx, up.ModelID, "slow.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, err := io.ReadAll(&slowReader{r: body, pause: 50 * time.Millisecond})
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("slow download: %d bytes, %v", len(got), err)
	}
}

// TestAuthPushPull pushes and pulls with AK/SK authentication on: the
// client signs streamed bodies as UNSIGNED-PAYLOAD, so a file larger than
// the JSON body limit is never read by the authenticator; a credential of
// another project is refused on every file route, and an unsigned request
// gets 401.
func TestAuthPushPull(t *testing.T) { eachStore(t, testAuthPushPull) }

func testAuthPushPull(t *testing.T) {
	blobs := blobStores(t)["Disk"](t)
	e := MustServeAuth(t, testLimits, withFiles(blobs, 0))
	ctx := context.Background()
	src := t.TempDir()
	big := randomBytes(3 << 20)
	writeTree(t, src, map[string][]byte{"model/weights.bin": big, "model/config.json": []byte(`{"model_type":"PyTorch"}`)})
	m, err := e.c.Push(ctx, src, &modelreg.ModelImport{Name: "signed", Version: "1.0.0", Type: "PyTorch"}, nil)
	if err != nil {
		t.Fatalf("signed push: %v", err)
	}
	dst := t.TempDir()
	if _, err := e.c.Pull(ctx, m.ID, dst, nil); err != nil {
		t.Fatalf("signed pull: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "model", "weights.bin")); !bytes.Equal(got, big) {
		t.Error("pulled weights differ")
	}

	// Bob, of project B, aims at project A.
	bobSig := &auth.Signer{AccessKey: e.bob.ak, SecretKey: e.bob.sk, Now: e.clk.Now}
	bobInA := e.mustClient(t, projectA, client.WithSigner(bobSig.Sign))
	up, err := e.c.BeginUpload(ctx, &modelreg.ModelImport{Name: "open", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"BeginUpload": func() error {
			_, err := bobInA.BeginUpload(ctx, &modelreg.ModelImport{Name: "x", Version: "1.0.0", Type: "PyTorch"})
			return err
		},
		"UploadFile": func() error {
			_, err := bobInA.UploadFile(ctx, up.UploadID, "a", strings.NewReader("a"), 1, "")
			return err
		},
		"CommitUpload": func() error { _, err := bobInA.CommitUpload(ctx, up.UploadID, nil); return err },
		"AbortUpload":  func() error { return bobInA.AbortUpload(ctx, up.UploadID) },
		"ModelFiles":   func() error { _, err := bobInA.ModelFiles(ctx, m.ID); return err },
		"DownloadFile": func() error { _, _, err := bobInA.DownloadFile(ctx, m.ID, "model/weights.bin"); return err },
	} {
		if err := call(); client.StatusCode(err) != http.StatusForbidden || modelreg.ErrorAPICode(err) != modelreg.CodeProjectMismatch {
			t.Errorf("%s as a member of another project: %v, want 403 %s", name, err, modelreg.CodeProjectMismatch)
		}
	}
	// Unsigned.
	status, eb := rawRequest(t, e.testEnv, http.MethodPut, "/modelreg/v1/"+projectA+"/uploads/"+up.UploadID+"/files/a", strings.NewReader("a"), nil)
	if status != http.StatusUnauthorized || eb.ErrorCode == "" {
		t.Errorf("unsigned upload: %d %+v", status, eb)
	}
	// The upload was left alone by all of that.
	if _, err := e.c.UploadFile(ctx, up.UploadID, "a", strings.NewReader("a"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.CommitUpload(ctx, up.UploadID, nil); err != nil {
		t.Fatal(err)
	}
}

// checkRanges downloads parts of one file of model id with Range and the
// conditional headers, and checks each answer against content.
func checkRanges(t *testing.T, e *testEnv, id, path string, content []byte) {
	t.Helper()
	sum := sha256.Sum256(content)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	size := len(content)
	for _, c := range []struct {
		name         string
		header       map[string]string
		status       int
		body         []byte // nil: not checked
		contentRange string
		code         string // ModelArts code of an error body
	}{
		{"Range", map[string]string{"Range": "bytes=10-19"}, 206, content[10:20], fmt.Sprintf("bytes 10-19/%d", size), ""},
		{"Suffix", map[string]string{"Range": "bytes=-5"}, 206, content[size-5:], fmt.Sprintf("bytes %d-%d/%d", size-5, size-1, size), ""},
		{"OpenEnded", map[string]string{"Range": fmt.Sprintf("bytes=%d-", size-3)}, 206, content[size-3:], fmt.Sprintf("bytes %d-%d/%d", size-3, size-1, size), ""},
		{"Unsatisfiable", map[string]string{"Range": fmt.Sprintf("bytes=%d-", size)}, 416, nil, fmt.Sprintf("bytes */%d", size), "ModelArts.0101"},
		{"IfRangeMatches", map[string]string{"Range": "bytes=0-3", "If-Range": etag}, 206, content[:4], fmt.Sprintf("bytes 0-3/%d", size), ""},
		{"IfRangeStale", map[string]string{"Range": "bytes=0-3", "If-Range": `"stale"`}, 200, content, "", ""},
		{"IfNoneMatch", map[string]string{"If-None-Match": etag}, 304, []byte{}, "", ""},
		{"IfMatchFails", map[string]string{"If-Match": `"other"`}, 412, nil, "", "ModelArts.0101"},
		{"IfMatch", map[string]string{"If-Match": etag}, 200, content, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/modelreg/v1/"+projectA+"/models/"+id+"/files/"+path, nil)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (body %.200q)", resp.StatusCode, c.status, body)
			}
			if got := resp.Header.Get("Content-Range"); got != c.contentRange {
				t.Errorf("Content-Range %q, want %q", got, c.contentRange)
			}
			if c.code != "" {
				var eb struct {
					ErrorCode string `json:"error_code"`
				}
				if err := json.Unmarshal(body, &eb); err != nil || eb.ErrorCode != c.code {
					t.Errorf("error body %q, want %s", body, c.code)
				}
				return
			}
			if c.body != nil && !bytes.Equal(body, c.body) {
				t.Errorf("body of %d bytes, want %d", len(body), len(c.body))
			}
			if c.status != 304 && (resp.Header.Get("X-Content-Sha256") != hex.EncodeToString(sum[:]) || resp.Header.Get("ETag") != etag) {
				t.Errorf("headers %v: want the whole file's sha256 and ETag", resp.Header)
			}
		})
	}
	t.Run("MultipleRanges", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/modelreg/v1/"+projectA+"/models/"+id+"/files/"+path, nil)
		req.Header.Set("Range", "bytes=0-1,100-101")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if resp.StatusCode != 206 || err != nil {
			t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(resp.Body, params["boundary"])
		for _, want := range [][]byte{content[0:2], content[100:102]} {
			part, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(part)
			if !bytes.Equal(got, want) {
				t.Errorf("part %q, want %q", got, want)
			}
		}
	})
}

// TestDownloadStreams serves blobs through a reader that cannot seek, as a
// blob store may: ranges are read ahead to, and a blob that ends before its
// recorded size cuts the connection (the client sees a broken transfer, not
// a short file) and is logged.
func TestDownloadStreams(t *testing.T) { eachStore(t, testDownloadStreams) }

// serveStreamed serves a disk blob store through streamBlobs and pushes
// one file, w.bin, of n random bytes, returning its model and content.
func serveStreamed(t *testing.T, n int) (*testEnv, *streamBlobs, *modelreg.Model, []byte) {
	t.Helper()
	blobs := &streamBlobs{BlobStore: blobStores(t)["Disk"](t), limit: -1}
	e := MustServe(t, withFiles(blobs, 0))
	content := randomBytes(n)
	src := t.TempDir()
	writeTree(t, src, map[string][]byte{"w.bin": content})
	m, err := e.c.Push(context.Background(), src, &modelreg.ModelImport{Name: "streamed", Version: "1.0.0", Type: "PyTorch"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, blobs, m, content
}

func testDownloadStreams(t *testing.T) {
	e, blobs, m, content := serveStreamed(t, 200<<10)
	ctx := context.Background()
	checkRanges(t, e, m.ID, "w.bin", content)

	blobs.mu.Lock()
	blobs.limit = int64(len(content) / 2)
	blobs.mu.Unlock()
	_, err := e.c.Pull(ctx, m.ID, t.TempDir(), nil)
	if err == nil {
		t.Fatal("pull of a blob that ends early succeeded")
	}
	waitFor(t, func() bool { return strings.Contains(e.logs.String(), "file download cut short") })
}

// TestPullResumes cuts the first transfer of a file half-way: the client
// resumes it with a Range request from the byte it reached, and the pulled
// file is whole and checked.
func TestPullResumes(t *testing.T) { eachStore(t, testPullResumes) }

func testPullResumes(t *testing.T) {
	e, blobs, m, content := serveStreamed(t, 300<<10)
	ctx := context.Background()
	blobs.mu.Lock()
	blobs.limit, blobs.cuts = int64(len(content)/3), 2 // two transfers break off
	blobs.mu.Unlock()
	dst := t.TempDir()
	var last client.Progress
	if _, err := e.c.Pull(ctx, m.ID, dst, func(p client.Progress) { last = p }); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if got := readTree(t, dst)["w.bin"]; !bytes.Equal(got, content) {
		t.Errorf("pulled %d bytes, want the %d pushed", len(got), len(content))
	}
	if last.Done != int64(len(content)) {
		t.Errorf("progress ended at %d bytes, want %d (each byte counted once)", last.Done, len(content))
	}
	blobs.mu.Lock()
	defer blobs.mu.Unlock()
	if blobs.opens != 3 || blobs.cuts != 0 {
		t.Errorf("%d opens, %d cuts left; want 3 and 0", blobs.opens, blobs.cuts)
	}
}

// streamBlobs serves blobs through a plain io.ReadCloser (no Seek), cut
// after limit bytes when limit ≥ 0, for the next cuts opens when cuts > 0
// (for every open when it is 0).
type streamBlobs struct {
	modelreg.BlobStore
	mu    sync.Mutex
	limit int64
	cuts  int
	opens int
}

func (s *streamBlobs) Open(ctx context.Context, d string) (io.ReadCloser, error) {
	rc, err := s.BlobStore.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens++
	var r io.Reader = rc
	if s.limit >= 0 {
		r = io.LimitReader(rc, s.limit)
		if s.cuts > 0 {
			if s.cuts--; s.cuts == 0 {
				s.limit = -1
			}
		}
	}
	return struct {
		io.Reader
		io.Closer
	}{r, rc}, nil
}
