package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
)

// The routes that move model files (uploads and downloads) are modelreg
// extensions under /modelreg/v1/{project_id}/…, a prefix no ModelArts route
// uses. Their bodies are streams: they are not limited by MaxBodyBytes, and
// the server's read and write timeouts, which bound a whole request, are
// replaced by an idle timeout that every transferred chunk renews.

// streamIdle is how long a file transfer may stall before the connection
// is cut.
const streamIdle = 2 * time.Minute

// Defaults of Config.UploadMinRate and UploadRateWindow: an upload body
// must deliver at least 64 KiB every 30 seconds (about 2 KiB/s), or it is
// cut. A byte a minute cannot hold one of the server's upload streams.
const (
	DefaultUploadMinRate    = 64 << 10
	DefaultUploadRateWindow = 30 * time.Second
)

// contentSHA256Header carries the sha256 of a file body, both ways.
const contentSHA256Header = "X-Content-Sha256"

// streamDeadlines renews the read and write deadlines of a request's
// connection while a file moves through it.
type streamDeadlines struct {
	rc     *http.ResponseController
	last   time.Time
	readBy time.Time // when set, the read deadline is no later
}

func newStreamDeadlines(w http.ResponseWriter) *streamDeadlines {
	d := &streamDeadlines{rc: http.NewResponseController(w)}
	d.renew(time.Now())
	return d
}

// renew moves both deadlines to now+streamIdle. Writers that cannot set
// deadlines (tests, some proxies' wrappers) are left as they are.
func (d *streamDeadlines) renew(now time.Time) {
	d.last = now
	_ = d.rc.SetReadDeadline(d.readDeadline(now))
	_ = d.rc.SetWriteDeadline(now.Add(streamIdle))
}

// readDeadline returns the read deadline from now on.
func (d *streamDeadlines) readDeadline(now time.Time) time.Time {
	t := now.Add(streamIdle)
	if !d.readBy.IsZero() && d.readBy.Before(t) {
		t = d.readBy
	}
	return t
}

// limitRead makes the read deadline no later than by (zero: no limit
// beyond the idle timeout).
func (d *streamDeadlines) limitRead(by time.Time) {
	if !by.Equal(d.readBy) {
		d.readBy = by
		_ = d.rc.SetReadDeadline(d.readDeadline(time.Now()))
	}
}

// tick renews the deadlines at most once a second.
func (d *streamDeadlines) tick() {
	if now := time.Now(); now.Sub(d.last) >= time.Second {
		d.renew(now)
	}
}

// bodyDone lifts the read deadline once the request body has been read.
// The work that follows (committing a large blob is a server-side copy on
// S3) may outlast the idle timeout, and a read deadline expiring under
// net/http's background read would cancel the request's context.
func (d *streamDeadlines) bodyDone() {
	d.readBy = time.Time{}
	_ = d.rc.SetReadDeadline(time.Time{})
}

// deadlineReader renews the deadlines as a request body is read and, with
// min > 0, cuts a body that delivers fewer than min bytes in a window: the
// read deadline is the end of the window until its bytes have come, so a
// client sending a byte a minute is cut when the window ends, not when its
// next byte arrives.
type deadlineReader struct {
	r io.Reader
	d *streamDeadlines

	min    int64         // bytes per window; 0: no minimum
	window time.Duration // of min
	start  time.Time     // of the current window; zero before the first read
	n      int64         // bytes in the current window
}

// errTooSlow is the error of a body slower than the minimum rate.
type errTooSlow struct {
	n, min int64
	window time.Duration
}

func (e *errTooSlow) Error() string {
	return fmt.Sprintf("the client sent %d bytes in %s, fewer than the minimum of %d bytes per %s", e.n, e.window, e.min, e.window)
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	now := time.Now()
	if r.min > 0 {
		switch {
		case r.start.IsZero():
			r.start = now
		case now.Sub(r.start) >= r.window:
			if r.n < r.min {
				return 0, &errTooSlow{n: r.n, min: r.min, window: r.window}
			}
			r.start, r.n = now, 0
		}
		if r.n < r.min {
			r.d.limitRead(r.start.Add(r.window))
		} else {
			r.d.limitRead(time.Time{})
		}
	}
	r.d.tick()
	n, err := r.r.Read(p)
	r.n += int64(n)
	switch {
	case err == io.EOF:
		r.d.bodyDone()
	case err != nil && r.min > 0 && r.n < r.min && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(r.start.Add(r.window)):
		return n, &errTooSlow{n: r.n, min: r.min, window: r.window}
	}
	return n, err
}

// errUploadsOff answers the upload routes of a server without an Uploader.
func errUploadsOff() error {
	return modelreg.Errorf(modelreg.ENOTFOUND, "", "This server does not accept uploads.")
}

// handleUploadCreate starts the upload of a new model: POST
// /modelreg/v1/{project_id}/uploads. The body is the ModelArts import
// request without source_location. The model is stored as publishing and
// the response carries the upload's id.
func (s *Server) handleUploadCreate(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if s.uploads == nil {
		s.error(w, r, errUploadsOff())
		return
	}
	in, err := decode[modelreg.ModelImport](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if in.SourceLocation != "" {
		s.error(w, r, modelreg.ParamInvalid("source_location", "an upload has no source_location; its files are uploaded"))
		return
	}
	in.SourceLocation = modelreg.UploadLocation("") // set by BeginUpload; Validate wants one
	if err := in.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	in.Normalize()
	if err := s.catalog.CheckRuntime(in.Type, in.Runtime); err != nil {
		s.error(w, r, err)
		return
	}
	m, err := newModel(projectID, ownerOf(r), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	up, err := s.uploads.BeginUpload(r.Context(), m)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, up)
}

// handleUploadFile receives one file of an upload: PUT
// /modelreg/v1/{project_id}/uploads/{upload_id}/files/{path...}. The body
// is the file's content, streamed into the blob store; an X-Content-Sha256
// header, when present, is checked against it.
func (s *Server) handleUploadFile(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "upload_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	path := r.PathValue("path")
	if err := modelreg.CheckFilePath(path); err != nil {
		s.error(w, r, err)
		return
	}
	if s.uploads == nil {
		s.error(w, r, errUploadsOff())
		return
	}
	digest := strings.ToLower(strings.TrimSpace(r.Header.Get(contentSHA256Header)))
	if digest != "" && !validDigest(digest) {
		s.error(w, r, modelreg.Invalid("Invalid header %s: want the 64 hexadecimal digits of a sha256.", contentSHA256Header))
		return
	}
	d := newStreamDeadlines(w)
	body := &deadlineReader{r: r.Body, d: d, min: s.uploadMinRate, window: s.uploadWindow}
	fi, err := s.uploads.PutUploadFile(r.Context(), projectID, id, path, body, r.ContentLength, digest)
	d.renew(time.Now()) // committing a large blob may have taken a while
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, fi)
}

// handleUploadCommit publishes the model of an upload: POST
// /modelreg/v1/{project_id}/uploads/{upload_id}/commit, with an optional
// list of the files sent, which must match the files received.
func (s *Server) handleUploadCommit(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "upload_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if s.uploads == nil {
		s.error(w, r, errUploadsOff())
		return
	}
	in := &modelreg.UploadCommit{}
	if r.ContentLength != 0 {
		if in, err = decode[modelreg.UploadCommit](s, w, r); err != nil {
			s.error(w, r, err)
			return
		}
	}
	d := newStreamDeadlines(w) // a commit checks every blob: it may take a while
	d.bodyDone()
	m, err := s.uploads.CommitUpload(r.Context(), projectID, id, in.Files)
	d.renew(time.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	fillModelArrays(m)
	s.respond(w, r, m)
}

// handleUploadDelete gives an upload up and deletes its model: DELETE
// /modelreg/v1/{project_id}/uploads/{upload_id}. A model that is not (or no
// longer) receiving an upload is left alone (ModelArts.3078).
func (s *Server) handleUploadDelete(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "upload_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if s.uploads == nil {
		s.error(w, r, errUploadsOff())
		return
	}
	if err := s.uploads.AbortUpload(r.Context(), projectID, id); err != nil {
		s.error(w, r, err)
		return
	}
	s.onModelsDeleted()
	s.respond(w, r, struct{}{})
}

// validDigest reports whether d is a lower-case hex sha256 digest.
func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for i := range len(d) {
		if c := d[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
