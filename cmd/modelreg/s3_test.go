package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/cli"
	"github.com/modelreg/modelreg/internal/s3test"
)

// s3Env is the test S3 server with a fresh random prefix in its bucket.
type s3Env struct {
	endpoint, bucket, prefix string
	client                   *minio.Client
}

// newS3Env returns the test S3 server, or skips the test without one. The
// objects under its prefix are removed when the test ends.
func newS3Env(tb testing.TB) *s3Env {
	tb.Helper()
	srv := s3test.Get(tb)
	return &s3Env{endpoint: srv.Endpoint, bucket: srv.Bucket, prefix: srv.Prefix(tb, "e2e"), client: srv.Client(tb)}
}

// put stores an object under the env's prefix.
func (e *s3Env) put(tb testing.TB, key string, b []byte) {
	tb.Helper()
	_, err := e.client.PutObject(context.Background(), e.bucket, e.prefix+"/"+key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{})
	if err != nil {
		tb.Fatal(err)
	}
}

// keys lists the keys under prefix/sub, relative to the env's prefix.
func (e *s3Env) keys(tb testing.TB, sub string) []string {
	tb.Helper()
	var ks []string
	for obj := range e.client.ListObjectsIter(context.Background(), e.bucket, minio.ListObjectsOptions{Prefix: e.prefix + "/" + sub, Recursive: true}) {
		if obj.Err != nil {
			tb.Fatalf("listing %s: %v", sub, obj.Err)
		}
		ks = append(ks, strings.TrimPrefix(obj.Key, e.prefix+"/"))
	}
	sort.Strings(ks)
	return ks
}

// blobStoreURL returns the --blob-store URL of a store under prefix/sub
// at endpoint.
func (e *s3Env) blobStoreURL(endpoint, sub string) string {
	return "s3://" + e.bucket + "/" + e.prefix + "/" + sub + "?endpoint=" + endpoint + "&insecure=true&region=us-east-1"
}

// outageProxy forwards TCP connections to a target until it is set down:
// then it cuts the open connections and refuses new ones.
type outageProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	down    bool
	conns   map[net.Conn]bool
	refused int // connections refused while down
}

func startOutageProxy(tb testing.TB, target string) *outageProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &outageProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	tb.Cleanup(func() { ln.Close(); p.setDown(true) })
	return p
}

func (p *outageProxy) addr() string { return p.ln.Addr().String() }

// refusedCount returns how many connections were refused while down.
func (p *outageProxy) refusedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused
}

func (p *outageProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *outageProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.refused++
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// metric returns the value of a metric without labels on /metrics.
func metric(tb testing.TB, url, name string) float64 {
	tb.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatalf("%s: %v", sc.Text(), err)
			}
			return f
		}
	}
	tb.Fatalf("/metrics has no %s", name)
	return 0
}

// TestRunS3 drives the product with an S3 blob store and object-store
// import sources on a real S3 server: import from obs:// and /bucket/path,
// push and pull through the API, deploy one version, cascade delete (the
// deployed one is kept with ModelArts.3009), then delete the service and the
// last model while the blob store is unreachable (the collector retries,
// /metrics shows the queue) and see every blob leave the bucket once it is
// back.
func TestRunS3(t *testing.T) {
	s3 := newS3Env(t)
	proxy := startOutageProxy(t, s3.endpoint)
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")

	// A model in the source bucket, and a local folder sharing one file.
	shared := mustRandom(200 << 10)
	weights := mustRandom(300 << 10)
	config := []byte(`{"model_type":"PyTorch","runtime":"python3.10"}`)
	s3.put(t, "src/a/model/config.json", config)
	s3.put(t, "src/a/model/weights.bin", weights)
	s3.put(t, "src/a/model/shared.bin", shared)
	local := filepath.Join(tmp, "local")
	own := mustWriteRandom(t, filepath.Join(local, "model", "own.bin"), 3<<20) // a multipart upload
	if err := os.WriteFile(filepath.Join(local, "model", "shared.bin"), shared, 0o644); err != nil {
		t.Fatal(err)
	}

	m := MustRunMain(t, dataDir, "--import-root", tmp,
		"--blob-store", s3.blobStoreURL(proxy.addr(), "blobs"),
		"--source-endpoint", s3.endpoint, "--source-insecure", "--source-region", "us-east-1")
	defer m.cancel()

	var v1, v2, v3 modelreg.Model
	m.mustJSON(t, &v1, "model", "import", "obs://"+s3.bucket+"/"+s3.prefix+"/src/a", "--name", "demo", "--version", "1.0.0", "--type", "PyTorch", "--wait")
	m.mustJSON(t, &v2, "model", "import", "s3://"+s3.bucket+"/"+s3.prefix+"/src/a/", "--name", "demo", "--version", "1.0.1", "--type", "PyTorch", "--wait")
	m.mustJSON(t, &v3, "model", "push", local, "--name", "demo", "--version", "1.1.0", "--type", "PyTorch")
	for _, v := range []modelreg.Model{v1, v2, v3} {
		if v.Status != modelreg.ModelPublished {
			t.Fatalf("model %s %s: status %s (%s)", v.Name, v.Version, v.Status, v.FailureReason)
		}
	}
	if want := int64(len(config) + len(weights) + len(shared)); v1.Size != want || v1.Runtime != "python3.10" {
		t.Errorf("imported model: size %d (want %d), runtime %q", v1.Size, want, v1.Runtime)
	}
	// config.json, weights.bin, shared.bin (stored once), own.bin.
	blobs := s3.keys(t, "blobs/sha256/")
	if len(blobs) != 4 {
		t.Fatalf("blobs in the bucket: %v, want 4", blobs)
	}

	// Pull the pushed model back and compare.
	pulled := filepath.Join(tmp, "pulled")
	var files modelreg.ModelFileList
	m.mustJSON(t, &files, "model", "pull", v3.ID, pulled)
	if len(files.Files) != 2 {
		t.Errorf("pulled %+v", files)
	}
	for name, want := range map[string][]byte{"model/own.bin": own, "model/shared.bin": shared} {
		if got, err := os.ReadFile(filepath.Join(pulled, filepath.FromSlash(name))); err != nil || !bytes.Equal(got, want) {
			t.Errorf("pulled %s: %d bytes, %v", name, len(got), err)
		}
	}

	// Deploy the oldest version, cascade delete the name from v2.
	var svc modelreg.ServiceCreateResult
	m.mustJSON(t, &svc, "service", "deploy", "--name", "demo-svc", "--model", v1.ID)
	freedBefore := metric(t, m.URL, "modelreg_blob_bytes_freed_total")
	out, err := m.cmd(t, "model", "delete", v2.ID, "--cascade", "--output", "json")
	if cli.ExitCode(err) != 1 {
		t.Fatalf("cascade delete: exit %d (%v), want 1 (a model was kept)", cli.ExitCode(err), err)
	}
	var res modelreg.DeleteResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	sort.Strings(res.Success)
	want := []string{v2.ID, v3.ID}
	sort.Strings(want)
	if strings.Join(res.Success, ",") != strings.Join(want, ",") || len(res.Failed) != 1 ||
		res.Failed[0].ModelID != v1.ID || res.Failed[0].ErrorCode != modelreg.CodeModelDeployed {
		t.Fatalf("cascade result %+v", res)
	}
	// own.bin, only in v3, leaves the bucket; v1 keeps the rest.
	waitFor(t, "own.bin to leave the bucket", func() bool { return len(s3.keys(t, "blobs/sha256/")) == 3 })
	waitFor(t, "the collector's totals", func() bool {
		return metric(t, m.URL, "modelreg_blob_bytes_freed_total")-freedBefore == float64(len(own))
	})

	// The blob store goes away: deletes still succeed, the blobs wait in
	// the queue, and /metrics shows them.
	proxy.setDown(true)
	if _, err := m.cmd(t, "service", "delete", svc.ServiceID); err != nil {
		t.Fatal(cli.FormatError(err))
	}
	m.mustJSON(t, &res, "model", "delete", v1.ID)
	if len(res.Success) != 1 || len(res.Failed) != 0 {
		t.Fatalf("last delete: %+v", res)
	}
	// Long enough for the client's own retries (up to 10 a request) to give
	// up and the collector to fail and back off at least once.
	waitFor(t, "the collector to try the blob store", func() bool { return proxy.refusedCount() >= 25 })
	if n := metric(t, m.URL, "modelreg_blob_gc_pending"); n != 3 {
		t.Errorf("modelreg_blob_gc_pending %v during the outage, want 3", n)
	}
	if n := len(s3.keys(t, "blobs/sha256/")); n != 3 {
		t.Errorf("%d blobs in the bucket during the outage, want 3", n)
	}
	proxy.setDown(false)
	// The collector retries with backoff and empties the queue.
	waitFor(t, "every blob to leave the bucket", func() bool { return len(s3.keys(t, "blobs/sha256/")) == 0 })
	waitFor(t, "the queue to empty", func() bool { return metric(t, m.URL, "modelreg_blob_gc_pending") == 0 })
	total := float64(len(config) + len(weights) + len(shared) + len(own))
	if got := metric(t, m.URL, "modelreg_blob_bytes_freed_total"); got != total {
		t.Errorf("modelreg_blob_bytes_freed_total %v, want %v", got, total)
	}
	if ks := s3.keys(t, "blobs/"); len(ks) != 0 {
		t.Errorf("objects left under the blob store's prefix: %v", ks)
	}
	if err := m.Close(t); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

func mustRandom(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
