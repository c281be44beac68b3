// Package client is the Go client of the modelreg API (the ModelArts v1
// model-management API plus modelreg's extensions). Errors are returned as
// *modelreg.Error, so modelreg.ErrorCode gives the same answer in a client as
// in the server; the HTTP details are in the wrapped *ResponseError.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
)

// Client calls one modelreg server for one project.
type Client struct {
	base      *url.URL
	projectID string
	hc        *http.Client
	sign      func(*http.Request, []byte) error
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 60 s timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithSigner sets a function that authenticates each request before it is
// sent; it gets the request and its body bytes (nil when there is none, or
// when the body is streamed from an io.Reader). WithAccessKey signs with an
// access key, WithToken sends a token.
func WithSigner(sign func(r *http.Request, body []byte) error) Option {
	return func(c *Client) { c.sign = sign }
}

// WithToken authenticates every request with an X-Auth-Token.
func WithToken(token string) Option {
	return WithSigner(func(r *http.Request, _ []byte) error {
		r.Header.Set("X-Auth-Token", token)
		return nil
	})
}

// WithAccessKey signs every request with the access key ak and its secret
// key sk (AK/SK, SDK-HMAC-SHA256), exactly as the Huawei Cloud SDK does, so
// the server (or ModelArts itself) verifies it. A streamed body (a model
// file) is signed as UNSIGNED-PAYLOAD.
func WithAccessKey(ak, sk string) Option {
	s := &auth.Signer{AccessKey: ak, SecretKey: sk}
	return WithSigner(s.Sign)
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the server at baseURL (such as
// "http://127.0.0.1:8080") and the project projectID.
func New(baseURL, projectID string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: invalid base URL %q", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, projectID: projectID, hc: &http.Client{Timeout: 60 * time.Second}, userAgent: "modelreg-client"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// ProjectID returns the project the client works on.
func (c *Client) ProjectID() string { return c.projectID }

// ResponseError carries the HTTP side of a failed call. It is wrapped by the
// *modelreg.Error the client returns.
type ResponseError struct {
	StatusCode int
	RequestID  string
	Body       string // the raw body, trimmed, when it was not a ModelArts error body
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("HTTP %d, request id %s", e.StatusCode, e.RequestID)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// stateCodes are the 400 errors that mean "the state forbids it" rather than
// "the input is malformed".
var stateCodes = map[string]bool{
	modelreg.CodeModelPublishing: true,
	modelreg.CodeServiceState:    true,
	modelreg.CodeModelAbnormal:   true,
}

// codeOf reverses the server's status mapping.
func codeOf(status int, apiCode string) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed:
		if stateCodes[apiCode] {
			return modelreg.ESTATE
		}
		return modelreg.EINVALID
	case http.StatusUnauthorized:
		return modelreg.EUNAUTHORIZED
	case http.StatusForbidden:
		return modelreg.EFORBIDDEN
	case http.StatusNotFound:
		return modelreg.ENOTFOUND
	case http.StatusConflict:
		return modelreg.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return modelreg.ETOOLARGE
	case http.StatusTooManyRequests:
		return modelreg.ERATELIMIT
	case http.StatusServiceUnavailable:
		return modelreg.EUNAVAILABLE
	case http.StatusPreconditionFailed:
		return modelreg.EPRECONDITION
	}
	return modelreg.EINTERNAL
}

// errorBody is the ModelArts error body.
type errorBody struct {
	ErrorCode    string `json:"error_code"`
	ErrorMsg     string `json:"error_msg"`
	ErrorMessage string `json:"error_message"`
}

// Do sends one request to path, relative to /v1/{project_id} when it does
// not start with "/" and to the server root otherwise, and decodes a 200
// body into out (when out is not nil; an io.Writer gets the body as it
// is, such as the text of /metrics). body is encoded as JSON unless it is
// an io.Reader or []byte.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeInternal, Message: "Cannot read the response.",
				Op: method + " " + path, Err: err}
		}
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &modelreg.Error{Code: modelreg.EINTERNAL, APICode: modelreg.CodeInternal, Message: "Undecodable response.",
			Op: method + " " + path, Err: err}
	}
	return nil
}

// send performs a request and returns the response when its status is 2xx,
// an error (with the body consumed) otherwise.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	u := *c.base
	projectPath := !strings.HasPrefix(path, "/")
	if projectPath {
		u.Path += "/v1/" + c.projectID + "/" + path
	} else {
		u.Path += path
	}
	u.RawQuery = query.Encode()

	var payload []byte
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		payload = b
	case io.Reader:
		reader = b
	default:
		var err error
		if payload, err = json.Marshal(b); err != nil {
			return nil, &modelreg.Error{Code: modelreg.EINVALID, APICode: modelreg.CodeInvalidArgument, Message: "Unencodable request body.", Err: err}
		}
	}
	if payload != nil {
		reader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return nil, modelreg.Internal("client.send", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if projectPath {
		// As the Huawei Cloud SDK does; the server checks it matches the path.
		req.Header.Set("X-Project-Id", c.projectID)
	}
	return c.roundTrip(c.hc, req, payload)
}

// roundTrip prepares req (see prepare) and sends it with hc.
func (c *Client) roundTrip(hc *http.Client, req *http.Request, payload []byte) (*http.Response, error) {
	if err := c.prepare(req, payload); err != nil {
		return nil, err
	}
	return c.do(hc, req)
}

// prepare is the one place every request passes before it is sent: it sets
// the headers every request carries (Accept unless the caller chose one,
// User-Agent) and signs the request last, so that the signature covers
// them. payload is the body's bytes, nil for no body or a streamed one. A
// signing failure is returned as a *modelreg.Error (ModelArts.0206, as the
// server would answer a request it cannot verify).
func (c *Client) prepare(req *http.Request, payload []byte) error {
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if m, ok := req.Context().Value(ifMatchKey{}).(string); ok {
		req.Header.Set("If-Match", m) // WithIfMatch (trash.go)
	}
	if c.sign == nil {
		return nil
	}
	if err := c.sign(req, payload); err != nil {
		return &modelreg.Error{Code: modelreg.EUNAUTHORIZED, APICode: modelreg.CodeAKSKInvalid, Message: "Cannot sign the request.",
			Op: req.Method + " " + req.URL.Path, Err: err}
	}
	return nil
}

// do sends req with hc and returns the response when its status is 2xx, an
// error (with the body consumed) otherwise.
func (c *Client) do(hc *http.Client, req *http.Request) (*http.Response, error) {
	method, u := req.Method, req.URL
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeInternal,
			Message: "Cannot reach the server at " + c.base.Host + ".", Op: method + " " + u.Path, Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	re := &ResponseError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var eb errorBody
	if json.Unmarshal(raw, &eb) != nil || eb.ErrorCode == "" {
		re.Body = strings.TrimSpace(string(raw))
		if len(re.Body) > 200 {
			re.Body = re.Body[:200]
		}
		return nil, &modelreg.Error{Code: codeOf(resp.StatusCode, ""), Message: http.StatusText(resp.StatusCode), Op: method + " " + u.Path, Err: re}
	}
	msg := eb.ErrorMsg
	if msg == "" {
		msg = eb.ErrorMessage
	}
	return nil, &modelreg.Error{Code: codeOf(resp.StatusCode, eb.ErrorCode), APICode: eb.ErrorCode, Message: msg, Op: method + " " + u.Path, Err: re}
}

// RequestID returns the X-Request-Id of the response that produced err, or "".
func RequestID(err error) string {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.RequestID
	}
	return ""
}

// StatusCode returns the HTTP status of the response that produced err, or 0.
func StatusCode(err error) int {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// Health calls /healthz and returns nil when the server is alive.
func (c *Client) Health(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Ping calls /modelreg/v1/ping, the trivial route behind the API's
// middleware, and returns nil when it answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/modelreg/v1/ping", nil, nil, nil)
}

// Ready calls /readyz and returns nil when the server can serve requests.
func (c *Client) Ready(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}
