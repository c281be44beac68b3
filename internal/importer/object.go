package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/s3conn"
)

// DefaultSourceRetries is ObjectSourceConfig.MaxRetries by default: few,
// since the runner retries a job whose source cannot be reached.
const DefaultSourceRetries = 3

// ObjectSourceConfig configures the object-store sources: obs://bucket/path,
// s3://bucket/path and OBS-style /bucket/path name objects on Endpoint;
// https://bucket.obs.<region>.<domain>[:port]/path names objects on Endpoint
// too: its host and port must be Endpoint's. The zero value turns
// object-store sources off.
type ObjectSourceConfig struct {
	// Endpoint is the host[:port] of the S3-compatible server (OBS, MinIO,
	// Amazon S3, …); "" turns object-store sources off.
	Endpoint string
	// Region signs requests; "" asks the server for each bucket's region.
	Region string
	// Insecure talks plain http to Endpoint. https:// sources always use
	// TLS.
	Insecure bool
	// Style addresses buckets by "path", "virtual" host, or "" (chosen by
	// the client: virtual for Amazon S3, path for other endpoints).
	Style string
	// AccessKey, SecretKey and SessionToken sign requests. When AccessKey
	// is empty they come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	// AWS_SESSION_TOKEN, else from the shared credentials file
	// (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
	// AWS_PROFILE or default); with neither, requests are anonymous (public
	// buckets).
	AccessKey, SecretKey, SessionToken string
	// MaxRetries is how often one request is retried before the attempt
	// fails; default DefaultSourceRetries.
	MaxRetries int
}

func (c ObjectSourceConfig) endpoint() s3conn.Endpoint {
	return s3conn.Endpoint{
		Host: c.Endpoint, Region: c.Region, Insecure: c.Insecure, Style: c.Style,
		AccessKey: c.AccessKey, SecretKey: c.SecretKey, SessionToken: c.SessionToken,
		MaxRetries: c.MaxRetries,
	}
}

// objectSources holds the clients of the object-store sources, one per
// endpoint.
type objectSources struct {
	cfg ObjectSourceConfig
	ep  s3conn.Endpoint // of cfg

	mu      sync.Mutex
	clients map[s3conn.Endpoint]*minio.Client
}

func newObjectSources(cfg ObjectSourceConfig) (*objectSources, error) {
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultSourceRetries
	}
	o := &objectSources{cfg: cfg, ep: cfg.endpoint(), clients: map[s3conn.Endpoint]*minio.Client{}}
	if _, err := o.client(o.ep); err != nil {
		return nil, fmt.Errorf("source endpoint: %w", err)
	}
	return o, nil
}

// client returns the (cached) client of ep.
func (o *objectSources) client(ep s3conn.Endpoint) (*minio.Client, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.clients[ep]; ok {
		return c, nil
	}
	c, err := ep.NewClient()
	if err != nil {
		return nil, err
	}
	o.clients[ep] = c
	return c, nil
}

// objectLoc is a resolved object-store source: the objects under prefix/
// in bucket at ep, or the single object prefix.
type objectLoc struct {
	ep      s3conn.Endpoint
	bucket  string
	prefix  string // no leading slash; "" for the whole bucket
	dirOnly bool   // the location ended in "/": never a single object
}

// resolveObject parses an object-store source_location: form is "obs",
// "s3", "https" or "" (OBS style, /bucket/path).
func (s *Sources) resolveObject(loc, form string) (*objectLoc, error) {
	if s == nil || s.obj == nil {
		what := "uses " + form + "://, which is"
		if form == "" {
			what = "is an OBS path; OBS sources are"
		}
		return nil, sourceInvalid("The source_location %s %s not configured in this server. Use a file:/// URL under an import root.", loc, what)
	}
	ep := s.obj.ep
	var rest string
	switch form {
	case "":
		rest = loc[1:]
	case "https":
		var err error
		if ep, rest, err = s.obj.httpsEndpoint(loc); err != nil {
			return nil, err
		}
	default:
		_, rest, _ = strings.Cut(loc, "://")
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if strings.Contains(bucket, "@") {
		return nil, sourceInvalid("The source_location must not have user information: the server signs its requests with its own credentials.")
	}
	if err := s3conn.CheckBucket(bucket); err != nil {
		return nil, sourceInvalid("The source_location %s does not name a valid bucket: %s.", loc, err)
	}
	if strings.ContainsFunc(key, isControl) {
		return nil, sourceInvalid("The source_location %s contains a control character.", loc)
	}
	dirOnly := strings.HasSuffix(key, "/")
	key = strings.TrimSuffix(key, "/")
	if key != "" {
		for _, e := range strings.Split(key, "/") {
			switch e {
			case "..":
				return nil, sourceInvalid("The source_location %s must not contain \"..\".", loc)
			case "", ".":
				return nil, sourceInvalid("The source_location %s has an empty or \".\" path element.", loc)
			}
		}
	}
	return &objectLoc{ep: ep, bucket: bucket, prefix: key, dirOnly: dirOnly || key == ""}, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// httpsEndpoint parses https://bucket.obs.<region>.<domain>[:port]/path and
// returns its endpoint and "bucket/path". The URL must name the configured
// endpoint: its host, and its port (443 when the URL has none; the
// endpoint's port, else 443, or 80 with Insecure). The caller picks neither
// another region nor another port: the requests, signed with the server's
// credentials, go only where the operator said.
func (o *objectSources) httpsEndpoint(loc string) (s3conn.Endpoint, string, error) {
	var ep s3conn.Endpoint
	u, err := url.Parse(loc)
	if err != nil {
		// Do not repeat it: it may hold a password.
		return ep, "", sourceInvalid("The source_location is not a valid https URL.")
	}
	if u.User != nil {
		// Do not repeat it: it may hold a password.
		return ep, "", sourceInvalid("The source_location must not have user information: the server signs its requests with its own credentials.")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return ep, "", sourceInvalid("The source_location %s must not have a query or a fragment.", loc)
	}
	host := strings.ToLower(u.Hostname())
	bucket, endpoint, ok := strings.Cut(host, ".obs.")
	if !ok || strings.Count(endpoint, ".") < 1 {
		return ep, "", sourceInvalid("The source_location %s is not an OBS URL: want https://bucket.obs.region.domain/path.", loc)
	}
	endpoint = "obs." + endpoint
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if endpoint != strings.ToLower(hostOnly(o.cfg.Endpoint)) || port != o.port() {
		return ep, "", sourceInvalid("The source_location %s names the endpoint %s, which this server does not import from (it imports from %s only).",
			loc, net.JoinHostPort(endpoint, port), o.ep.URL())
	}
	// The URL addresses the bucket by virtual host: so do the requests,
	// to the configured endpoint as configured.
	ep = o.ep
	ep.Style = "virtual"
	return ep, bucket + u.Path, nil
}

// port returns the port of the configured endpoint.
func (o *objectSources) port() string {
	if _, p, err := net.SplitHostPort(o.cfg.Endpoint); err == nil && p != "" {
		return p
	}
	if o.cfg.Insecure {
		return "80"
	}
	return "443"
}

// hostOnly returns the host of host[:port].
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// objectTree lists and opens the objects of an objectLoc.
type objectTree struct {
	loc    string // as the user gave it
	src    *objectLoc
	client *minio.Client
}

func (s *Sources) objectTree(loc string, src *objectLoc) (*objectTree, error) {
	c, err := s.obj.client(src.ep)
	if err != nil {
		return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s cannot be read: %s.", loc, s3conn.Reason(err))
	}
	return &objectTree{loc: loc, src: src, client: c}, nil
}

func (t *objectTree) Close() error { return nil }

// list returns the objects under prefix/, or the object prefix itself when
// there are none.
func (t *objectTree) list(ctx context.Context) ([]file, error) {
	dir := ""
	if t.src.prefix != "" {
		dir = t.src.prefix + "/"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var files []file
	for obj := range t.client.ListObjectsIter(ctx, t.src.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
		if obj.Err != nil {
			return nil, t.fail(obj.Err)
		}
		progress(ctx)
		rel := strings.TrimPrefix(obj.Key, dir)
		if rel == "" || strings.HasSuffix(rel, "/") {
			continue // a "folder" marker
		}
		if !validPath(rel) {
			return nil, failf(modelreg.CodeSourceInvalid, "The object %s cannot be a model file: its name is not valid UTF-8, contains a control character or an invisible formatting character, or has an empty, \".\" or \"..\" path element.", quoteKey(rel))
		}
		if err := checkPath(rel); err != nil {
			return nil, err
		}
		if len(files) >= MaxFiles {
			return nil, failf(modelreg.CodeSourceInvalid, "The source_location holds more than %d files.", MaxFiles)
		}
		files = append(files, file{rel: rel, name: obj.Key, size: obj.Size, etag: obj.ETag})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case len(files) > 0:
		return files, nil
	case t.src.prefix == "":
		return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s holds no objects: the bucket is empty.", t.loc)
	case t.src.dirOnly:
		return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s holds no objects.", t.loc)
	}
	info, err := t.client.StatObject(ctx, t.src.bucket, t.src.prefix, minio.StatObjectOptions{})
	switch {
	case s3conn.Classify(err) == s3conn.KindNotFound:
		return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s does not exist: bucket %s holds no object %s and no objects under %s/.", t.loc, t.src.bucket, t.src.prefix, t.src.prefix)
	case err != nil:
		return nil, t.fail(err)
	}
	base := path.Base(t.src.prefix)
	if err := checkPath(base); err != nil {
		return nil, err
	}
	return []file{{rel: base, name: t.src.prefix, size: info.Size, etag: info.ETag}}, nil
}

// validPath reports whether rel can be a model file path: valid names
// joined by single slashes, no "." or "..".
func validPath(rel string) bool {
	for _, e := range strings.Split(rel, "/") {
		if e == "" || e == "." || e == ".." || !validName(e) {
			return false
		}
	}
	return true
}

// quoteKey quotes a key for a message only when it needs it.
func quoteKey(k string) string {
	if validPath(k) {
		return k
	}
	return fmt.Sprintf("%q", k)
}

// open returns the body of f's object, checking that it is still the object
// the listing saw.
func (t *objectTree) open(ctx context.Context, f file) (io.ReadCloser, error) {
	body, info, _, err := minio.Core{Client: t.client}.GetObject(ctx, t.src.bucket, f.name, minio.GetObjectOptions{})
	if s3conn.Classify(err) == s3conn.KindNotFound {
		return nil, failf(modelreg.CodePublishFailed, "The file %s was removed from the source during the import.", f.rel)
	} else if err != nil {
		return nil, t.fail(err)
	}
	if info.Size != f.size || f.etag != "" && info.ETag != "" && strings.Trim(info.ETag, `"`) != strings.Trim(f.etag, `"`) {
		body.Close()
		return nil, failf(modelreg.CodePublishFailed, "The file %s changed in the source during the import. Import the model again.", f.rel)
	}
	return &objectReader{ReadCloser: body, t: t, rel: f.rel}, nil
}

// objectReader turns the read errors of an object's body into modelreg
// errors: a dropped connection is EUNAVAILABLE (the job is retried).
type objectReader struct {
	io.ReadCloser
	t   *objectTree
	rel string
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		if s3conn.Classify(err) == s3conn.KindCanceled {
			return n, err
		}
		err = &modelreg.Error{
			Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeSourceInvalid, Op: "importer.objectReader",
			Message: fmt.Sprintf("Reading the file %s from %s failed: %s.", r.rel, r.t.src.ep.URL(), s3conn.Reason(err)),
			Err:     err,
		}
	}
	return n, err
}

// fail turns an error of a listing or a download into a *failure (the
// source is wrong: no such bucket, access denied) or an EUNAVAILABLE error
// (the endpoint cannot be reached or fails: the job is retried).
func (t *objectTree) fail(err error) error {
	ep := t.src.ep
	switch s3conn.Classify(err) {
	case s3conn.KindCanceled:
		return err
	case s3conn.KindUnreachable:
		return &modelreg.Error{
			Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeSourceInvalid, Op: "importer.objectTree", Err: err,
			Message: fmt.Sprintf("The source endpoint %s cannot be reached: %s.", ep.URL(), s3conn.Reason(err)),
		}
	case s3conn.KindNoBucket:
		return failf(modelreg.CodeSourceInvalid, "The bucket %s of the source_location %s does not exist at %s.", t.src.bucket, t.loc, ep.URL())
	case s3conn.KindDenied:
		f := failf(modelreg.CodeSourceInvalid, "Access to the source_location %s was denied by %s: %s.", t.loc, ep.URL(), s3conn.Reason(err))
		if ep.Anonymous() {
			f.reason += " This server has no credentials for it."
		}
		return f
	}
	return failf(modelreg.CodeSourceInvalid, "The source_location %s cannot be read from %s: %s.", t.loc, ep.URL(), s3conn.Reason(err))
}

// errorsAsModelreg returns err's *modelreg.Error, if it has one.
func errorsAsModelreg(err error) (*modelreg.Error, bool) {
	var e *modelreg.Error
	ok := errors.As(err, &e)
	return e, ok
}
