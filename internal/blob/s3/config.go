package s3

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg/internal/s3conn"
)

// DefaultEndpoint is the endpoint of a Config without one: Amazon S3.
const DefaultEndpoint = "s3.amazonaws.com"

// Endpoint is where the store's S3-compatible server is and how requests
// to it are signed (s3conn.Endpoint, shared with the importer's
// object-store sources).
type Endpoint = s3conn.Endpoint

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
	if err := s3conn.CheckBucket(c.Bucket); err != nil {
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
