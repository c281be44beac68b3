package s3

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// DefaultEndpoint is the endpoint of a Config without one: Amazon S3.
const DefaultEndpoint = "s3.amazonaws.com"

// Endpoint says where an S3-compatible server is and how to sign requests to
// it. The blob store and the importer's object-store sources both use it.
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

// Config configures a Store.
type Config struct {
	Endpoint
	// Bucket holds the blobs; it must exist.
	Bucket string
	// Prefix is the key prefix of the store inside the bucket, without
	// leading or trailing slash; "" uses the whole bucket.
	Prefix string
	// PartSize is the size of the parts of a multipart upload, and so the
	// memory one Stage of a large blob holds; default DefaultPartSize. An
	// upload has at most 10,000 parts, so it also bounds the largest blob
	// (PartSize × 10,000) unless Stage's maxSize asks for larger parts.
	PartSize int64
}

// DefaultPartSize is the default Config.PartSize: 16 MiB, so one Stage
// holds about 16 MiB and a blob may be up to 160 GiB.
const DefaultPartSize = 16 << 20

// minPartSize is the smallest part S3 accepts (the last part aside).
const minPartSize = 5 << 20

// ParseURL parses a blob store URL:
//
//	s3://bucket[/prefix][?endpoint=host:port][&region=name][&insecure=true][&style=path|virtual]
//
// endpoint defaults to Amazon S3 (DefaultEndpoint); insecure=true talks plain
// http. Credentials never come from the URL (see Endpoint).
func ParseURL(s string) (Config, error) {
	var c Config
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || !strings.EqualFold(scheme, "s3") {
		return c, errors.New("s3: want a URL s3://bucket/prefix?endpoint=host:port")
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse quotes the whole URL in its error; say less.
		return c, errors.New("s3: the blob store URL is not a valid URL")
	}
	if u.User != nil {
		return c, errors.New("s3: credentials do not belong in the blob store URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use a shared credentials file")
	}
	if u.Fragment != "" || u.Opaque != "" {
		return c, fmt.Errorf("s3: %q: want s3://bucket/prefix", s)
	}
	c.Bucket = u.Host
	if err := CheckBucket(c.Bucket); err != nil {
		return c, fmt.Errorf("s3: %w", err)
	}
	if c.Prefix, err = cleanPrefix(u.Path); err != nil {
		return c, fmt.Errorf("s3: %w", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, errors.New("s3: the blob store URL has a malformed query")
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return c, fmt.Errorf("s3: parameter %s given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "endpoint":
			c.Host = v
		case "region":
			c.Region = v
		case "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return c, fmt.Errorf("s3: insecure=%q: want true or false", v)
			}
			c.Insecure = b
		case "style":
			c.Style = v
		default:
			return c, fmt.Errorf("s3: unknown parameter %q (known: endpoint, region, insecure, style)", k)
		}
	}
	if c.Host == "" {
		c.Host = DefaultEndpoint
	}
	if err := c.Endpoint.Validate(); err != nil {
		return c, fmt.Errorf("s3: %w", err)
	}
	return c, nil
}

// String returns the configuration as a URL, without credentials.
func (c Config) String() string {
	q := url.Values{}
	if c.Host != "" && c.Host != DefaultEndpoint {
		q.Set("endpoint", c.Host)
	}
	if c.Region != "" {
		q.Set("region", c.Region)
	}
	if c.Insecure {
		q.Set("insecure", "true")
	}
	if c.Style != "" {
		q.Set("style", c.Style)
	}
	u := url.URL{Scheme: "s3", Host: c.Bucket, RawQuery: q.Encode()}
	if c.Prefix != "" {
		u.Path = "/" + c.Prefix
	}
	return u.String()
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

// cleanPrefix trims the slashes around p and refuses empty, "." and ".."
// elements.
func cleanPrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	for _, e := range strings.Split(p, "/") {
		if e == "" || e == "." || e == ".." {
			return "", fmt.Errorf("prefix %q: empty, \".\" and \"..\" elements are not allowed", p)
		}
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("prefix %q holds a control character", p)
	}
	return p, nil
}
