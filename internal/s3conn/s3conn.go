// Package s3conn is the connection to an S3-compatible server (Amazon S3,
// Huawei OBS, MinIO, Ceph RGW, versitygw, …) that the blob store
// (internal/blob/s3) and the importer's object-store sources
// (internal/importer) share: where the server is and how requests are
// signed (Endpoint), which bucket names are valid (CheckBucket), and what
// an error of a call means (Classify) and how to tell a user (Reason).
package s3conn

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Endpoint says where an S3-compatible server is and how to sign requests to
// it. The blob store (internal/blob/s3) and the importer's object-store
// sources both use it.
type Endpoint struct {
	// Host is the server's host[:port], without a scheme.
	Host string
	// Region signs requests; "" lets the client ask the server (or use
	// us-east-1).
	Region string
	// Insecure talks plain http instead of https.
	Insecure bool
	// Style is how buckets are addressed: "path" (host/bucket/key),
	// "virtual" (bucket.host/key) or "" to let the client choose (virtual
	// for Amazon and a few known clouds, path for everything else).
	Style string
	// AccessKey, SecretKey and SessionToken sign requests. When AccessKey
	// is empty they come from the environment (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or else from the shared
	// credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
	// profile AWS_PROFILE or default); with neither, requests are anonymous.
	AccessKey, SecretKey, SessionToken string
	// MaxRetries is how many times a failed request is tried again by the
	// client; 0 means the client's default (10).
	MaxRetries int
}

// URL returns the endpoint as a URL for messages: "http://host:port".
func (e Endpoint) URL() string {
	if e.Insecure {
		return "http://" + e.Host
	}
	return "https://" + e.Host
}

// Validate checks the endpoint's syntax.
func (e Endpoint) Validate() error {
	if e.Host == "" {
		return errors.New("no endpoint")
	}
	if strings.Contains(e.Host, "://") {
		return fmt.Errorf("endpoint %q: give host[:port] without a scheme (insecure=true for plain http)", e.Host)
	}
	if strings.ContainsAny(e.Host, "/?#@ \t") {
		return fmt.Errorf("endpoint %q: want host[:port]", e.Host)
	}
	if strings.Contains(e.Host, ":") && !strings.HasSuffix(e.Host, "]") {
		if _, port, err := net.SplitHostPort(e.Host); err != nil {
			return fmt.Errorf("endpoint %q: want host[:port]", e.Host)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("endpoint %q: bad port", e.Host)
		}
	}
	switch e.Style {
	case "", "path", "virtual":
	default:
		return fmt.Errorf("style %q: want path or virtual", e.Style)
	}
	if e.AccessKey == "" && (e.SecretKey != "" || e.SessionToken != "") {
		return errors.New("a secret key or session token without an access key")
	}
	return nil
}

// Anonymous reports whether requests would go out unsigned: no explicit
// credentials and none in the environment or the shared file.
func (e Endpoint) Anonymous() bool {
	if e.AccessKey != "" {
		return false
	}
	v, err := e.credentials().GetWithContext(nil) // env and file: no HTTP
	return err != nil || v.SignerType.IsAnonymous()
}

func (e Endpoint) credentials() *credentials.Credentials {
	if e.AccessKey != "" {
		return credentials.NewStaticV4(e.AccessKey, e.SecretKey, e.SessionToken)
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
	})
}

// NewClient returns a minio-go client for the endpoint. It makes no request.
func (e Endpoint) NewClient() (*minio.Client, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	switch e.Style {
	case "path":
		lookup = minio.BucketLookupPath
	case "virtual":
		lookup = minio.BucketLookupDNS
	}
	c, err := minio.New(e.Host, &minio.Options{
		Creds:        e.credentials(),
		Secure:       !e.Insecure,
		Region:       e.Region,
		BucketLookup: lookup,
		MaxRetries:   e.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %s", e.Host, Reason(err))
	}
	return c, nil
}

// CheckBucket reports whether name is a valid bucket name: 3 to 63 lower-case
// letters, digits, dots and hyphens, starting and ending with a letter or a
// digit.
func CheckBucket(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && c != '.' && c != '-' {
			return fmt.Errorf("bucket name %q may hold only lower-case letters, digits, dots and hyphens", name)
		}
		if !alnum && (i == 0 || i == len(name)-1) {
			return fmt.Errorf("bucket name %q must start and end with a letter or a digit", name)
		}
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("bucket name %q must not hold two dots in a row", name)
	}
	return nil
}
