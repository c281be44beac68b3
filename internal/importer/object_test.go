package importer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/blob/s3"
	"github.com/modelreg/modelreg/internal/importer"
)

// objectEnv is the test S3 server with a fresh random prefix in its bucket.
type objectEnv struct {
	endpoint string
	bucket   string
	prefix   string // no slashes around it
	client   *minio.Client
}

// newObjectEnv returns the test server, or skips the test without one. The
// objects under its prefix are removed when the test ends.
func newObjectEnv(tb testing.TB) *objectEnv {
	tb.Helper()
	endpoint, bucket := os.Getenv("MODELREG_TEST_S3_ENDPOINT"), os.Getenv("MODELREG_TEST_S3_BUCKET")
	ak, sk := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if endpoint == "" || bucket == "" || ak == "" || sk == "" {
		tb.Skip("no S3 server: set MODELREG_TEST_S3_ENDPOINT (host:port, plain http), MODELREG_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (.ci/services.sh starts one)")
	}
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Region: "us-east-1"})
	if err != nil {
		tb.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	e := &objectEnv{endpoint: endpoint, bucket: bucket, prefix: "import-" + hex.EncodeToString(b[:]), client: c}
	tb.Cleanup(func() {
		ctx := context.Background()
		for obj := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Prefix: e.prefix + "/", Recursive: true}) {
			if obj.Err != nil {
				tb.Logf("cleanup: %v", obj.Err)
				return
			}
			c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
		}
	})
	return e
}

// put stores objects under the env's prefix: path → content.
func (e *objectEnv) put(tb testing.TB, files map[string]string) {
	tb.Helper()
	for p, c := range files {
		e.putReader(tb, p, strings.NewReader(c), int64(len(c)))
	}
}

func (e *objectEnv) putReader(tb testing.TB, p string, r io.Reader, size int64) {
	tb.Helper()
	_, err := e.client.PutObject(context.Background(), e.bucket, e.prefix+"/"+p, r, size, minio.PutObjectOptions{})
	if err != nil {
		tb.Fatalf("put %s: %v", p, err)
	}
}

// config returns the object-source configuration of the test server.
func (e *objectEnv) config() importer.ObjectSourceConfig {
	return importer.ObjectSourceConfig{Endpoint: e.endpoint, Insecure: true, Region: "us-east-1"}
}

// sources returns Sources reading from the test server, as edited.
func (e *objectEnv) sources(tb testing.TB, edit ...func(*importer.ObjectSourceConfig)) *importer.Sources {
	tb.Helper()
	cfg := e.config()
	for _, f := range edit {
		f(&cfg)
	}
	s, err := importer.NewSourcesFromConfig(importer.SourcesConfig{Object: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestObjectImport(t *testing.T) {
	e := newObjectEnv(t)
	files := map[string]string{
		"model/config.json":    `{"model_type": "PyTorch", "runtime": "python3.7"}`,
		"model/weights.bin":    strings.Repeat("w", 3000),
		"model/sub/deep/x.txt": "x",
		"model/empty":          "",
		"README.md":            "# model",
	}
	e.put(t, prefixed("m/", files))
	e.put(t, map[string]string{"m/model/": ""}) // a "folder" marker, as consoles create
	tests := []struct{ name, loc string }{
		{"OBS", "obs://" + e.bucket + "/" + e.prefix + "/m"},
		{"S3", "s3://" + e.bucket + "/" + e.prefix + "/m/"},
		{"OBSPath", "/" + e.bucket + "/" + e.prefix + "/m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.src = e.sources(t)
			if err := h.src.Check(tt.loc); err != nil {
				t.Fatalf("Check: %v", err)
			}
			id := h.createModel(t, "m", tt.loc)
			if n := runOnce(t, h.runner(nil)); n != 1 {
				t.Fatalf("ran %d jobs", n)
			}
			m := h.wantPublished(t, id, files)
			if m.Config != files["model/config.json"] {
				t.Errorf("config = %q", m.Config)
			}
			h.stagingEmpty(t)
		})
	}
}

func TestObjectImportSingle(t *testing.T) {
	e := newObjectEnv(t)
	e.put(t, map[string]string{"dir/model.onnx": "onnx bytes", "dir/model.onnx.sig": "not this one"})
	h := newHarness(t)
	h.src = e.sources(t)
	id := h.createModel(t, "single", "obs://"+e.bucket+"/"+e.prefix+"/dir/model.onnx")
	runOnce(t, h.runner(nil))
	h.wantPublished(t, id, map[string]string{"model.onnx": "onnx bytes"})
}

// TestObjectImportToS3 streams objects of several parts from the object
// store into the S3 blob store.
func TestObjectImportToS3(t *testing.T) {
	e := newObjectEnv(t)
	const size = 11<<20 + 17
	data := make([]byte, size)
	mrand.NewChaCha8([32]byte{9}).Read(data)
	e.putReader(t, "big/model/weights.bin", bytes.NewReader(data), size)
	e.put(t, map[string]string{"big/model/config.json": `{"runtime": "python3.9"}`})

	blobs, err := s3.Open(context.Background(), s3.Config{
		Endpoint: s3.Endpoint{Host: e.endpoint, Insecure: true, Region: "us-east-1"},
		Bucket:   e.bucket, Prefix: e.prefix + "/blobs", PartSize: 5 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.src = e.sources(t)
	id := h.createModel(t, "big", "s3://"+e.bucket+"/"+e.prefix+"/big")
	runOnce(t, h.runner(blobs))
	m := h.model(t, id)
	if m.Status != modelreg.ModelPublished {
		t.Fatalf("status %s: %s", m.Status, m.FailureReason)
	}
	if m.Size != size+int64(len(`{"runtime": "python3.9"}`)) {
		t.Errorf("model_size = %d", m.Size)
	}
	for _, f := range h.files(t, id) {
		if f.Path != "model/weights.bin" {
			continue
		}
		if f.Digest != sha(string(data)) || f.Size != size {
			t.Errorf("weights = %s/%d, want %s/%d", f.Digest, f.Size, sha(string(data)), size)
		}
		rc, err := blobs.Open(context.Background(), f.Digest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("blob content differs (%d bytes, %v)", len(got), err)
		}
	}
}

// closedPort returns a local address nothing listens on.
func closedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestObjectImportFailures(t *testing.T) {
	e := newObjectEnv(t)
	e.put(t, map[string]string{"m/model/small": "0123456789", "m/model/big.bin": "0123456789A",
		"bidi/model/w.bin": "w", "bidi/model/evil\u202egnp.exe": "x"})
	const wrongSecret = "wrong-secret-key-0123456789"
	loc := "obs://" + e.bucket + "/" + e.prefix + "/m"
	tests := []struct {
		name   string
		loc    string
		edit   func(*importer.ObjectSourceConfig)
		max    int64
		parts  []string
		absent []string
	}{
		{"NoBucket", "obs://no-such-bucket-" + e.prefix[7:] + "/m", nil, 0,
			[]string{modelreg.CodeSourceInvalid, "bucket no-such-bucket-", "does not exist"}, nil},
		{"NoObjects", loc + "/nothing", nil, 0,
			[]string{modelreg.CodeSourceInvalid, "does not exist", "no objects under " + e.prefix + "/m/nothing/"}, nil},
		{"EmptyDir", loc + "/nothing/", nil, 0,
			[]string{modelreg.CodeSourceInvalid, "holds no objects"}, nil},
		{"WrongSecret", loc, func(c *importer.ObjectSourceConfig) {
			c.AccessKey, c.SecretKey = os.Getenv("AWS_ACCESS_KEY_ID"), wrongSecret
		}, 0, []string{modelreg.CodeSourceInvalid, "Access to the source_location " + loc + " was denied", "access denied"}, []string{wrongSecret}},
		{"UnknownKey", loc, func(c *importer.ObjectSourceConfig) {
			c.AccessKey, c.SecretKey = "nobody", wrongSecret
		}, 0, []string{modelreg.CodeSourceInvalid, "was denied"}, []string{wrongSecret}},
		{"TooLarge", loc, nil, 10,
			[]string{"ModelArts.3044: ", "model/big.bin", "10 bytes"}, nil},
		// Issue 10: object keys follow the file path rules.
		{"BidiKey", "obs://" + e.bucket + "/" + e.prefix + "/bidi", nil, 0,
			[]string{modelreg.CodeSourceInvalid, "invisible formatting character"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.edit != nil {
				h.src = e.sources(t, tt.edit)
			} else {
				h.src = e.sources(t)
			}
			if err := h.src.Check(tt.loc); err != nil {
				t.Fatalf("Check: %v", err)
			}
			id := h.createModel(t, "m", tt.loc)
			r := h.runner(nil, func(c *importer.Config) { c.MaxFileSize = tt.max })
			if n := runOnce(t, r); n != 1 {
				t.Fatalf("ran %d jobs", n)
			}
			m := h.wantFailed(t, id, tt.parts...)
			for _, a := range tt.absent {
				if strings.Contains(m.FailureReason, a) {
					t.Errorf("reason %q contains %q", m.FailureReason, a)
				}
			}
			h.stagingEmpty(t)
			collect(t, h.collector())
			if ds := h.blobDigests(t); len(ds) != 0 {
				t.Errorf("blobs left after a failed import: %v", ds)
			}
		})
	}
}

// TestObjectImportUnreachable: an endpoint that cannot be reached is
// retried like any transient error, then fails the model with a reason.
func TestObjectImportUnreachable(t *testing.T) {
	h := newHarness(t)
	addr := closedPort(t)
	src, err := importer.NewSourcesFromConfig(importer.SourcesConfig{Object: importer.ObjectSourceConfig{Endpoint: addr, Insecure: true, Region: "us-east-1", MaxRetries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	id := h.createModel(t, "m", "obs://bucket/model")
	r := h.runner(nil, func(c *importer.Config) { c.MaxAttempts = 2; c.RetryBase = time.Second })
	if n := runOnce(t, r); n != 1 {
		t.Fatalf("ran %d jobs", n)
	}
	if m := h.model(t, id); m.Status != modelreg.ModelPublishing {
		t.Fatalf("status after the first attempt = %s (%s), want publishing", m.Status, m.FailureReason)
	}
	h.clock.Advance(2 * time.Second)
	if n := runOnce(t, r); n != 1 {
		t.Fatalf("second attempt: ran %d jobs", n)
	}
	h.wantFailed(t, id, modelreg.CodeSourceInvalid+": ", "after 2 attempts", "The source endpoint http://"+addr+" cannot be reached: connection refused.")
}

// TestObjectChangedDuringImport: an object that changes or vanishes between
// the listing and its download fails the import; nothing is left behind.
func TestObjectChangedDuringImport(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, e *objectEnv)
		parts  []string
	}{
		{"Changed", func(t *testing.T, e *objectEnv) {
			e.put(t, map[string]string{"m/model/b": "bigger now"})
		}, []string{modelreg.CodePublishFailed, "model/b", "changed"}},
		{"Removed", func(t *testing.T, e *objectEnv) {
			if err := e.client.RemoveObject(context.Background(), e.bucket, e.prefix+"/m/model/b", minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}, []string{modelreg.CodePublishFailed, "model/b", "removed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newObjectEnv(t)
			e.put(t, map[string]string{"m/model/a": "a", "m/model/b": "b"})
			h := newHarness(t)
			h.src = e.sources(t)
			id := h.createModel(t, "m", "obs://"+e.bucket+"/"+e.prefix+"/m")
			blobs := &hookBlobs{Store: h.blobs}
			blobs.beforeStage = func(n int) error {
				if n == 1 {
					tt.change(t, e)
				}
				return nil
			}
			runOnce(t, h.runner(blobs))
			h.wantFailed(t, id, tt.parts...)
			h.stagingEmpty(t)
			collect(t, h.collector())
			if ds := h.blobDigests(t); len(ds) != 0 {
				t.Errorf("blobs left: %v", ds)
			}
		})
	}
}

func TestObjectSourcesCheck(t *testing.T) {
	s, err := importer.NewSourcesFromConfig(importer.SourcesConfig{Object: importer.ObjectSourceConfig{
		Endpoint: "obs.cn-north-4.example.com", Region: "cn-north-4",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ep, ok := s.ObjectStore(); !ok || ep != "https://obs.cn-north-4.example.com" {
		t.Errorf("ObjectStore = %q, %v", ep, ok)
	}
	tests := []struct {
		loc string
		msg string // "" when accepted
	}{
		{"obs://bucket/path/to/model", ""},
		{"obs://bucket/path/to/model/", ""},
		{"OBS://bucket", ""},
		{"obs://bucket/", ""},
		{"s3://my.bucket-1/model", ""},
		{"/bucket/path", ""},
		{"/bucket", ""},
		{"/bucket/path with spaces/model", ""},
		{"https://bucket.obs.cn-north-4.example.com/mnist", ""},
		{"https://bucket.obs.cn-north-4.example.com:443/mnist/", ""},
		{"https://bucket.OBS.CN-NORTH-4.example.com/mnist", ""},
		// Issue 10: the caller picks neither another region nor a port.
		{"https://bucket.obs.ap-southeast-1.example.com/mnist", "does not import from"},
		{"https://bucket.obs.cn-north-4.example.com:8443/mnist", "does not import from"},
		{"https://bucket.obs.cn-north-4.example.com:22/mnist", "does not import from"},
		{"https://bucket.obs.cn-north-4.example.com:80/mnist", "does not import from"},
		{"https://bucket.obs.evil.example.com/mnist", "does not import from"},
		{"https://bucket.obs.x.cn-north-4.example.com/mnist", "does not import from"},
		{"obs://", "valid bucket"},
		{"obs://Bucket/p", "valid bucket"},
		{"obs://b_c/p", "valid bucket"},
		{"/", "valid bucket"},
		{"//bucket/p", "valid bucket"},
		{"obs://bucket/a/../b", `".."`},
		{"obs://bucket/a//b", "empty"},
		{"/bucket/./b", "empty"},
		{"obs://bucket/a\nb", "control character"},
		{"http://bucket.obs.cn-north-4.example.com/mnist", "use https://"},
		{"https://example.com/model.tar", "not an OBS URL"},
		{"https://bucket.obs.cn-north-4.other.com/mnist", "does not import from"},
		{"https://bucket.obs.cn-north-4.example.com/mnist?x=1", "query"},
		{"https://user:pw@bucket.obs.cn-north-4.example.com/mnist", "user information"},
		{"ftp://bucket/p", "unsupported scheme"},
	}
	for _, tt := range tests {
		err := s.Check(tt.loc)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v", tt.loc, err)
			}
			continue
		}
		if modelreg.ErrorCode(err) != modelreg.EINVALID || modelreg.ErrorAPICode(err) != modelreg.CodeSourceInvalid {
			t.Errorf("Check(%q) = %v, want EINVALID %s", tt.loc, err, modelreg.CodeSourceInvalid)
			continue
		}
		if msg := modelreg.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
			t.Errorf("Check(%q) = %q, want it to mention %q", tt.loc, msg, tt.msg)
		}
		if strings.Contains(modelreg.ErrorMessage(err), "pw@") {
			t.Errorf("Check(%q) reveals user information", tt.loc)
		}
	}
}

func TestNewSourcesFromConfigErrors(t *testing.T) {
	for name, cfg := range map[string]importer.ObjectSourceConfig{
		"NoEndpoint": {Region: "r"},
		"Scheme":     {Endpoint: "https://obs.example.com"},
		"Path":       {Endpoint: "obs.example.com/x"},
		"BadPort":    {Endpoint: "obs.example.com:0"},
		"SecretOnly": {Endpoint: "obs.example.com", SecretKey: "s"},
		"BadStyle":   {Endpoint: "obs.example.com", Style: "dns"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := importer.NewSourcesFromConfig(importer.SourcesConfig{Object: cfg}); err == nil {
				t.Error("NewSourcesFromConfig succeeded")
			} else if cfg.SecretKey != "" && strings.Contains(err.Error(), cfg.SecretKey+"\"") {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

// cutProxy forwards TCP connections to target; while armed, it closes a
// connection once more than limit bytes went back to the client.
type cutProxy struct {
	addr   string
	armed  atomic.Bool
	stall  atomic.Bool // when armed: stop sending, but keep the connection open
	limit  int64
	target string
}

func newCutProxy(tb testing.TB, target string, limit int64) *cutProxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	p := &cutProxy{addr: l.Addr().String(), limit: limit, target: target}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	var sent int64
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if p.armed.Load() && sent+int64(n) > p.limit {
				if p.stall.Load() {
					io.Copy(io.Discard, c) // until the client gives up
				}
				return // cut the response short
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
		}
		if err != nil {
			return
		}
	}
}

// TestObjectDownloadCut: a connection that drops in the middle of a
// download is a transient error: nothing of the partial copy stays, and the
// next attempt imports the model.
func TestObjectDownloadCut(t *testing.T) {
	e := newObjectEnv(t)
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	files := map[string]string{"model/a": "small", "model/big": big}
	e.put(t, prefixed("m/", files))
	proxy := newCutProxy(t, e.endpoint, 1<<20)
	proxy.armed.Store(true)

	h := newHarness(t)
	h.src = e.sources(t, func(c *importer.ObjectSourceConfig) { c.Endpoint = proxy.addr })
	id := h.createModel(t, "m", "obs://"+e.bucket+"/"+e.prefix+"/m")
	r := h.runner(nil, func(c *importer.Config) { c.RetryBase = time.Second })
	if n := runOnce(t, r); n != 1 {
		t.Fatalf("ran %d jobs", n)
	}
	if m := h.model(t, id); m.Status != modelreg.ModelPublishing {
		t.Fatalf("status after a cut download = %s (%s), want publishing", m.Status, m.FailureReason)
	}
	h.stagingEmpty(t)
	for _, d := range h.blobDigests(t) {
		if d == sha(big) {
			t.Errorf("blob of the cut file committed")
		}
	}
	if !strings.Contains(h.logs.String(), "Reading the file model/big from http://"+proxy.addr+" failed") {
		t.Errorf("no readable retry reason logged:\n%s", h.logs)
	}

	proxy.armed.Store(false)
	h.clock.Advance(2 * time.Second)
	if n := runOnce(t, r); n != 1 {
		t.Fatalf("second attempt: ran %d jobs", n)
	}
	h.wantPublished(t, id, files)
}

// TestObjectDownloadStalls: issue 10 item 4. An object store that stops
// sending in the middle of a download (the connection stays open) fails the
// import after StallTimeout instead of holding the worker.
func TestObjectDownloadStalls(t *testing.T) {
	e := newObjectEnv(t)
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	e.put(t, map[string]string{"m/model/big": big})
	proxy := newCutProxy(t, e.endpoint, 1<<20)
	proxy.stall.Store(true)
	proxy.armed.Store(true)

	h := newHarness(t)
	h.src = e.sources(t, func(c *importer.ObjectSourceConfig) { c.Endpoint = proxy.addr })
	id := h.createModel(t, "m", "obs://"+e.bucket+"/"+e.prefix+"/m")
	r := h.runner(nil, func(c *importer.Config) { c.StallTimeout = 300 * time.Millisecond })
	done := make(chan struct{})
	go func() {
		defer close(done)
		runOnce(t, r)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the stalled download held its worker")
	}
	h.wantFailed(t, id, modelreg.CodePublishFailed, "no progress for 300ms", "the file model/big")
	h.stagingEmpty(t)
}
