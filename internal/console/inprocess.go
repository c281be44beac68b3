package console

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// inProcess is an http.RoundTripper that serves a request with the API
// handler in this process: no socket, but the very path a request from
// the network takes (request id, logs, metrics, authentication, routing).
type inProcess struct {
	api        http.Handler
	remoteAddr string // the browser's, so the API's limiter sees the real client
	requestID  string // the console request's, so errors name the page's id
}

// RoundTrip implements http.RoundTripper.
func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.RemoteAddr = t.remoteAddr
	r.RequestURI = r.URL.RequestURI()
	r.Host = r.URL.Host
	if r.Body == nil {
		r.Body = http.NoBody
	}
	if t.requestID != "" {
		r.Header.Set("X-Request-Id", t.requestID)
	}
	rec := &recorder{header: http.Header{}}
	t.api.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(&rec.body),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the ResponseWriter of an in-process call: it keeps the
// answer in memory (API answers to the console are small JSON documents;
// files are streamed by proxy instead).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
