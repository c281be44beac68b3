package s3test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestPrefixIsRemoved checks that the objects under a Prefix are gone once
// the test that asked for it ends.
func TestPrefixIsRemoved(t *testing.T) {
	srv := Get(t)
	c := srv.Client(t)
	var prefix string
	t.Run("Write", func(t *testing.T) {
		prefix = srv.Prefix(t, "s3test")
		if strings.Contains(prefix, "/") || !strings.HasPrefix(prefix, "s3test-") {
			t.Fatalf("prefix %q", prefix)
		}
		if _, err := c.PutObject(context.Background(), srv.Bucket, prefix+"/a/b", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	for obj := range c.ListObjectsIter(context.Background(), srv.Bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		t.Errorf("left behind: %s %v", obj.Key, obj.Err)
	}
}

// TestSkipMessage keeps the message .ci/run greps for.
func TestSkipMessage(t *testing.T) {
	if !strings.HasPrefix(SkipMessage, "no S3 server: set MODELREG_TEST_") {
		t.Errorf("SkipMessage = %q", SkipMessage)
	}
}
