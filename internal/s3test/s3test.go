// Package s3test gives tests the S3-compatible server named by
// MODELREG_TEST_S3_ENDPOINT and MODELREG_TEST_S3_BUCKET, with the
// credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: a client of
// it and a fresh key prefix in its bucket whose objects are removed when
// the test ends.
//
// Without the variables the helpers skip the test with a message naming
// them, which .ci/run treats as a failure: CI sets them (.ci/services.sh
// starts versitygw); so can a developer:
//
//	. .ci/services.sh && go test ./...
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The environment variables naming the test server.
const (
	EndpointEnv = "MODELREG_TEST_S3_ENDPOINT" // host:port, plain http
	BucketEnv   = "MODELREG_TEST_S3_BUCKET"   // an existing bucket
)

// Region is the region the tests sign with.
const Region = "us-east-1"

// SkipMessage is why a test skips without a server. .ci/run greps skips
// for "no S3 server: set MODELREG_TEST_".
const SkipMessage = "no S3 server: set " + EndpointEnv + " (host:port, plain http), " + BucketEnv +
	", AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (.ci/services.sh starts one)"

// Server is the test S3 server.
type Server struct {
	Endpoint  string // host:port, plain http
	Bucket    string
	AccessKey string
	SecretKey string
}

// Lookup returns the test server, and false when none is configured.
func Lookup() (Server, bool) {
	s := Server{
		Endpoint: os.Getenv(EndpointEnv), Bucket: os.Getenv(BucketEnv),
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	}
	return s, s.Endpoint != "" && s.Bucket != "" && s.AccessKey != "" && s.SecretKey != ""
}

// Available reports whether a test server is configured.
func Available() bool {
	_, ok := Lookup()
	return ok
}

// Get returns the test server, or skips the test with SkipMessage.
func Get(tb testing.TB) Server {
	tb.Helper()
	s, ok := Lookup()
	if !ok {
		tb.Skip(SkipMessage)
	}
	return s
}

// Client returns a client of s.
func (s Server) Client(tb testing.TB) *minio.Client {
	tb.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: Region})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Prefix returns a fresh key prefix in s's bucket, name and a random
// suffix, without slashes; every object under it is removed when the test
// ends.
func (s Server) Prefix(tb testing.TB, name string) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := name + "-" + hex.EncodeToString(b[:])
	c := s.Client(tb)
	tb.Cleanup(func() { RemoveAll(tb, c, s.Bucket, prefix+"/") })
	return prefix
}

// RemoveAll removes every object of bucket under prefix, logging what
// fails.
func RemoveAll(tb testing.TB, c *minio.Client, bucket, prefix string) {
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
