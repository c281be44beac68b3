package httpapi

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/modelreg/modelreg"
)

// requestIDHeader carries the request id, both ways.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming request id that is reused.
const maxRequestIDLen = 128

// requestInfo is what the middleware learns about a request as it goes
// through: its id (set by requestID) and its route pattern (set by
// dispatch when a route matches).
type requestInfo struct {
	id    string
	route string
	user  string // the authenticated user's name, for the access log
	key   string // the access key of an AK/SK request
	peer  string // the proxy's address when the client's came from X-Forwarded-For
}

type infoKey struct{}

// infoFrom returns the request's info, or nil outside requestID.
func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// requestIDFrom returns the id of the request ctx belongs to, or "".
func requestIDFrom(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// requestID gives every request an id: a sane incoming X-Request-Id is
// kept, anything else is replaced by a random one. The id is set on the
// response before anything else runs, so every response carries it.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !saneRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(requestIDHeader, id)
		ctx := context.WithValue(r.Context(), infoKey{}, &requestInfo{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// saneRequestID reports whether an incoming id can be reused: 1 to 128
// characters of letters, digits and "-_.:".
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// accessLog logs one line per request: Info for the API, Debug for the
// probes and metric scrapes, which would drown the rest.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := wrap(w)
		next.ServeHTTP(sw, r)
		route := routeLabel(r)
		level := slog.LevelInfo
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		if !s.logger.Enabled(r.Context(), level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestIDFrom(r.Context())),
			slog.String("method", r.Method),
			slog.String("uri", r.URL.RequestURI()),
			slog.String("route", route),
			slog.Int("status", sw.status()),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", clientIP(r)),
			slog.String("user_agent", r.UserAgent()),
		}
		info := infoFrom(r.Context())
		if info != nil && info.peer != "" {
			attrs = append(attrs, slog.String("peer", hostOf(info.peer)))
		}
		if info != nil && info.user != "" {
			attrs = append(attrs, slog.String("user", info.user))
			if info.key != "" {
				attrs = append(attrs, slog.String("access_key", info.key))
			}
		}
		s.logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// instrument counts requests by route, method and status and observes
// their latency by route.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := wrap(w)
		next.ServeHTTP(sw, r)
		s.metrics.observe(routeLabel(r), r.Method, sw.status(), time.Since(start))
	})
}

// recoverer turns a panic in a handler into a 500 ModelArts body. The panic
// and its stack are logged; the client sees only "Internal error.".
// http.ErrAbortHandler is let through, as net/http expects.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := wrap(w)
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logger.LogAttrs(r.Context(), slog.LevelError, "panic",
				slog.String("request_id", requestIDFrom(r.Context())),
				slog.String("method", r.Method),
				slog.String("uri", r.URL.RequestURI()),
				slog.Any("panic", p),
				slog.String("stack", string(debug.Stack())))
			if sw.wroteHeader {
				// Too late for an error body: abort the response so the
				// client sees a broken reply, not a truncated success.
				panic(http.ErrAbortHandler)
			}
			h := sw.Header()
			for k := range h {
				if k != requestIDHeader {
					delete(h, k)
				}
			}
			s.writeError(sw, http.StatusInternalServerError, modelreg.CodeInternal, "Internal error.")
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeLabel returns the route pattern that served r, without its method,
// or "unmatched" (a bounded label for metrics).
func routeLabel(r *http.Request) string {
	info := infoFrom(r.Context())
	if info == nil || info.route == "" {
		return "unmatched"
	}
	route := info.route
	for i := 0; i < len(route); i++ {
		if route[i] == ' ' {
			return route[i+1:]
		}
	}
	return route
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
	bytes       int64
}

// wrap returns w as a *statusWriter, reusing it when it already is one.
func wrap(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.code = http.StatusOK
		w.wroteHeader = true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status returns the status written, 200 when the handler wrote nothing.
func (w *statusWriter) status() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}

// wellFormed refuses, before authentication, what no route could parse:
// a path with an empty, "." or ".." segment (which the mux would answer
// with an HTML redirect to the clean path) and a query string that is not
// one (a bad %-escape, a ';'), both 400 ModelArts.0101. Neither is an
// authentication failure: a correct signature cannot make them valid, and
// they reveal nothing about which paths exist.
func (s *Server) wellFormed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanPath(r.URL.Path) {
			s.error(w, r, modelreg.Invalid("Invalid path %q: it has an empty, \".\" or \"..\" segment.", r.URL.Path))
			return
		}
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			s.error(w, r, modelreg.Invalid("Invalid query string: %s.", err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// publicRoutes are the route patterns served without authentication: the
// probes, the metrics, and the token request, which carries its own
// credentials (a password).
var publicRoutes = map[string]bool{
	"GET /healthz":         true,
	"GET /readyz":          true,
	"GET /metrics":         true,
	"POST /v3/auth/tokens": true,
	// The console authenticates its users itself (a session holding an
	// IAM token) and calls the API with their tokens.
	"GET /{$}":  true,
	"/console/": true,
	"GET /console/models/{model_id}/files/{path...}":       true,
	"PUT /console/api/uploads/{upload_id}/files/{path...}": true,
	"POST /console/api/uploads/{upload_id}/commit":         true,
	// Signed with the deployer secret instead (deployer.go).
	"POST /modelreg/v1/deployer/reports": true,
}

// authenticate resolves the credentials of every request but the public
// routes into a modelreg.Principal in its context, or answers 401 (429 for
// a client that failed too often) without calling the handler. It learns
// the route first, so a refused request is logged and counted under it. An
// unknown path is authenticated too: an unauthenticated caller learns
// nothing about which paths exist. Without an Authenticator it does
// nothing.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := s.mux.Handler(r)
		if _, route := h.(http.HandlerFunc); !route {
			pattern = "" // the mux's redirect (see dispatch)
		}
		info := infoFrom(r.Context())
		if s.patterns[pattern] && info != nil {
			info.route = pattern
		}
		if publicRoutes[pattern] {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.auth.Authenticate(r, s.maxBody)
		if err != nil {
			s.metrics.observeAuthFailure(err)
			s.error(w, r, err)
			return
		}
		if info != nil {
			info.user, info.key = p.UserName, p.AccessKey
		}
		next.ServeHTTP(w, r.WithContext(modelreg.NewContextWithPrincipal(r.Context(), p)))
	})
}
