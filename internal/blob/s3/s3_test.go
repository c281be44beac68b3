package s3

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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/blob/blobtest"
)

// testConfig returns the configuration of the test server with a fresh
// random prefix, or skips the test when no server is configured.
func testConfig(tb testing.TB) Config {
	tb.Helper()
	endpoint, bucket := os.Getenv("MODELREG_TEST_S3_ENDPOINT"), os.Getenv("MODELREG_TEST_S3_BUCKET")
	if endpoint == "" || bucket == "" || os.Getenv("AWS_ACCESS_KEY_ID") == "" || os.Getenv("AWS_SECRET_ACCESS_KEY") == "" {
		tb.Skip("no S3 server: set MODELREG_TEST_S3_ENDPOINT (host:port, plain http), MODELREG_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (.ci/services.sh starts one)")
	}
	var b [6]byte
	rand.Read(b[:])
	return Config{
		Endpoint: Endpoint{Host: endpoint, Insecure: true, Region: "us-east-1", MaxRetries: 2},
		Bucket:   bucket,
		Prefix:   "test-" + hex.EncodeToString(b[:]) + "/blobs",
	}
}

// mustOpen opens a store under a fresh prefix and removes everything under
// that prefix when the test ends.
func mustOpen(tb testing.TB) *Store {
	tb.Helper()
	cfg := testConfig(tb)
	s, err := Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { removeAll(tb, s.client, cfg.Bucket, cfg.Prefix+"/") })
	return s
}

func removeAll(tb testing.TB, c *minio.Client, bucket, prefix string) {
	ctx := context.Background()
	for obj := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			tb.Logf("cleanup: listing %s: %v", prefix, obj.Err)
			return
		}
		if err := c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			tb.Logf("cleanup: %v", err)
		}
	}
}

func TestBlobStore(t *testing.T) {
	testConfig(t) // skips the whole suite without a server
	blobtest.Run(t, func(t *testing.T) modelreg.BlobStore { return mustOpen(t) })
}

// keys returns the keys under the store's prefix.
func keys(tb testing.TB, s *Store) []string {
	tb.Helper()
	var ks []string
	for obj := range s.client.ListObjectsIter(context.Background(), s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.cfg.Prefix + "/", Recursive: true}) {
		if obj.Err != nil {
			tb.Fatal(obj.Err)
		}
		ks = append(ks, strings.TrimPrefix(obj.Key, s.cfg.Prefix+"/"))
	}
	return ks
}

// TestLayout checks the key of a committed blob and that Commit leaves no
// staged object behind.
func TestLayout(t *testing.T) {
	s := mustOpen(t)
	d := blobtest.MustPut(t, s, []byte("layout"))
	want := []string{"sha256/" + d[:2] + "/" + d}
	if diff := cmp.Diff(want, keys(t, s)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

// TestMultipart stages a blob of several parts with the smallest part size,
// and commits it with a multipart copy.
func TestMultipart(t *testing.T) {
	s := mustOpen(t)
	s.cfg.PartSize = minPartSize
	s.maxCopy = 1 // commit with ComposeObject
	ctx := context.Background()
	const size = 2*minPartSize + 12345
	data := make([]byte, size)
	mrand.NewChaCha8([32]byte{7}).Read(data)
	st, err := s.Stage(ctx, bytes.NewReader(data), size)
	if err != nil {
		t.Fatal(err)
	}
	if st.Digest() != blobtest.Digest(data) || st.Size() != size {
		t.Fatalf("Stage = %s %d", st.Digest(), st.Size())
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := blobtest.MustRead(t, s, st.Digest()); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes that differ", len(got))
	}
	if ks := keys(t, s); len(ks) != 1 {
		t.Errorf("keys = %v, want the blob only", ks)
	}

	// Over the limit in the third part: the upload is aborted.
	_, err = s.Stage(ctx, bytes.NewReader(data), size-1)
	if modelreg.ErrorCode(err) != modelreg.ETOOLARGE {
		t.Errorf("Stage over the limit = %v", err)
	}
	if ks := keys(t, s); len(ks) != 1 {
		t.Errorf("keys = %v, want the blob only", ks)
	}
	if ups := uploads(t, s); len(ups) != 0 {
		t.Errorf("unfinished uploads left: %v", ups)
	}
}

func uploads(tb testing.TB, s *Store) []string {
	tb.Helper()
	var ks []string
	for up := range s.client.ListIncompleteUploads(context.Background(), s.cfg.Bucket, s.staging, true) {
		if up.Err != nil {
			tb.Fatal(up.Err)
		}
		ks = append(ks, up.Key)
	}
	return ks
}

func TestPartSize(t *testing.T) {
	s := &Store{cfg: Config{PartSize: DefaultPartSize}}
	for _, tt := range []struct{ max, want int64 }{
		{0, DefaultPartSize},
		{20 << 30, DefaultPartSize},
		{DefaultPartSize * maxParts, DefaultPartSize},
		{DefaultPartSize*maxParts + 1, DefaultPartSize + 1<<20},
		{1 << 40, 105 << 20},
	} {
		if got := s.partSize(tt.max); got != tt.want {
			t.Errorf("partSize(%d) = %d, want %d", tt.max, got, tt.want)
		}
		if got := s.partSize(tt.max); got*maxParts < tt.max {
			t.Errorf("partSize(%d) = %d holds too little", tt.max, got)
		}
	}
}

// TestCleanStagingUploads: an unfinished multipart upload to a staging key
// (a crash in the middle of a Stage) is aborted by CleanStaging.
func TestCleanStagingUploads(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	key := s.staging + randomName()
	id, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Repeat([]byte("p"), minPartSize)
	if _, err := s.core.PutObjectPart(ctx, s.cfg.Bucket, key, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CleanStaging(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ups := uploads(t, s); len(ups) != 1 {
		t.Fatalf("uploads after CleanStaging of older ones = %v, want the young one", ups)
	}
	if err := s.CleanStaging(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ups := uploads(t, s); len(ups) != 0 {
		t.Errorf("uploads after CleanStaging = %v", ups)
	}
}

// TestCanceledUpload: a Stage whose context ends in the middle of a multipart
// upload leaves nothing behind.
func TestCanceledUpload(t *testing.T) {
	s := mustOpen(t)
	s.cfg.PartSize = minPartSize
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelingReader{r: io.LimitReader(mrand.NewChaCha8([32]byte{}), 3*minPartSize), after: minPartSize + 1000, cancel: cancel}
	if _, err := s.Stage(ctx, r, 0); err == nil {
		t.Fatal("Stage succeeded")
	}
	if ks := keys(t, s); len(ks) != 0 {
		t.Errorf("keys = %v", ks)
	}
	if ups := uploads(t, s); len(ups) != 0 {
		t.Errorf("unfinished uploads left: %v", ups)
	}
}

type cancelingReader struct {
	r      io.Reader
	n      int
	after  int
	cancel func()
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
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

// TestOpenErrors checks that Open says what is wrong without a secret.
func TestOpenErrors(t *testing.T) {
	base := testConfig(t)
	const secret = "not-the-secret-key-0123456789"
	tests := []struct {
		name  string
		edit  func(c *Config)
		parts []string
	}{
		{"Unreachable", func(c *Config) { c.Host = closedPort(t) }, []string{"cannot be reached", "connection refused"}},
		{"WrongSecret", func(c *Config) {
			c.AccessKey, c.SecretKey = os.Getenv("AWS_ACCESS_KEY_ID"), secret
		}, []string{"refused access", "bucket " + base.Bucket}},
		{"UnknownKey", func(c *Config) { c.AccessKey, c.SecretKey = "nobody", secret }, []string{"refused access"}},
		{"NoBucket", func(c *Config) {
			c.Bucket = "no-such-bucket-" + strings.ToLower(strings.TrimPrefix(c.Prefix[:17], "test-"))
		}, []string{"does not exist", "create it first"}},
		{"TLSToPlain", func(c *Config) { c.Insecure = false }, []string{"cannot be reached", "does not speak TLS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := Open(ctx, cfg)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
				t.Errorf("code = %s (%v)", modelreg.ErrorCode(err), err)
			}
			msg := modelreg.ErrorMessage(err)
			for _, p := range tt.parts {
				if !strings.Contains(msg, p) {
					t.Errorf("message %q does not contain %q", msg, p)
				}
			}
			for _, s := range []string{secret, os.Getenv("AWS_SECRET_ACCESS_KEY")} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	ok := []struct {
		url  string
		want Config
	}{
		{"s3://bucket", Config{Endpoint: Endpoint{Host: DefaultEndpoint}, Bucket: "bucket"}},
		{"s3://bucket/", Config{Endpoint: Endpoint{Host: DefaultEndpoint}, Bucket: "bucket"}},
		{"S3://bucket/a/b/", Config{Endpoint: Endpoint{Host: DefaultEndpoint}, Bucket: "bucket", Prefix: "a/b"}},
		{"s3://my.bucket-1/models?endpoint=127.0.0.1:9000&insecure=true",
			Config{Endpoint: Endpoint{Host: "127.0.0.1:9000", Insecure: true}, Bucket: "my.bucket-1", Prefix: "models"}},
		{"s3://b12/p?endpoint=obs.cn-north-4.myhuaweicloud.com&region=cn-north-4&style=virtual",
			Config{Endpoint: Endpoint{Host: "obs.cn-north-4.myhuaweicloud.com", Region: "cn-north-4", Style: "virtual"}, Bucket: "b12", Prefix: "p"}},
		{"s3://bkt?insecure=false&endpoint=minio:9000&style=path",
			Config{Endpoint: Endpoint{Host: "minio:9000", Style: "path"}, Bucket: "bkt"}},
		{"s3://bkt?endpoint=[::1]:9000&insecure=1", Config{Endpoint: Endpoint{Host: "[::1]:9000", Insecure: true}, Bucket: "bkt"}},
	}
	for _, tt := range ok {
		got, err := ParseURL(tt.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.url, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseURL(%q) (-want +got):\n%s", tt.url, diff)
		}
		// String round-trips.
		again, err := ParseURL(got.String())
		if err != nil || !cmp.Equal(again, got) {
			t.Errorf("ParseURL(%q.String() = %q) = %+v, %v", tt.url, got.String(), again, err)
		}
	}

	bad := []struct{ url, msg string }{
		{"", "want a URL"},
		{"/var/blobs", "want a URL"},
		{"http://bucket", "want a URL"},
		{"s3://", "3 to 63"},
		{"s3://ab", "3 to 63"},
		{"s3://Bucket", "lower-case"},
		{"s3://my_bucket", "lower-case"},
		{"s3://-bucket", "start and end"},
		{"s3://a..b", "two dots"},
		{"s3://AKID:s3cr3tvalue@bucket", "credentials do not belong"},
		{"s3://bucket/a/../b", `".."`},
		{"s3://bucket/a//b", "empty"},
		{"s3://bucket?endpoint=http://host:9000", "without a scheme"},
		{"s3://bucket?endpoint=host:99999", "bad port"},
		{"s3://bucket?endpoint=host/path", "host[:port]"},
		{"s3://bucket?insecure=yes", "insecure"},
		{"s3://bucket?style=dns", "style"},
		{"s3://bucket?endpoint=a&endpoint=b", "2 times"},
		{"s3://bucket?secret=x", "unknown parameter"},
		{"s3://bucket#frag", "want s3://"},
	}
	for _, tt := range bad {
		_, err := ParseURL(tt.url)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", tt.url)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseURL(%q) = %q, want it to mention %q", tt.url, err, tt.msg)
		}
		if strings.Contains(err.Error(), "s3cr3tvalue") {
			t.Errorf("ParseURL(%q) = %q reveals the secret", tt.url, err)
		}
	}
}

func TestVersioned(t *testing.T) {
	s := mustOpen(t)
	v, err := s.Versioned(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v {
		t.Log("the test bucket is versioned")
	}
}
