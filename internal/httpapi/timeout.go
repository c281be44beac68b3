package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/modelreg/modelreg"
)

// errRequestTimeout is the cause of a request context that ran out of
// Config.RequestTimeout.
var errRequestTimeout = errors.New("the request ran longer than the server's request timeout")

// unbounded lists the route patterns (as registered in routes.go) that the
// request timeout does not bound: those that stream model files, whose time
// depends on the size and on the client, and the commit of an upload, which
// checks every blob. They have an idle timeout of their own (upload.go).
var unbounded = map[string]bool{
	"PUT /modelreg/v1/{project_id}/uploads/{upload_id}/files/{path...}": true,
	"POST /modelreg/v1/{project_id}/uploads/{upload_id}/commit":         true,
	"GET /modelreg/v1/{project_id}/models/{model_id}/files/{path...}":   true,
	// The console's routes that call them (internal/console).
	"GET /console/models/{model_id}/files/{path...}":       true,
	"PUT /console/api/uploads/{upload_id}/files/{path...}": true,
	"POST /console/api/uploads/{upload_id}/commit":         true,
}

// deadline bounds the handling of every request by s.requestTimeout, but
// for the unbounded routes. The store calls a handler makes end with its
// context, so a request stuck behind an unreachable database or a lock
// answers 503 in time instead of hanging (http.Server's write timeout only
// stops the response from reaching the client; the handler would go on).
func (s *Server) deadline(next http.Handler) http.Handler {
	if s.requestTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); unbounded[pattern] {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeoutCause(r.Context(), s.requestTimeout, errRequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// timedOut returns the error to answer, instead of err, when the request
// ran out of time and err is what the cut-short call made of it (an
// internal error: the caller's context ended). Otherwise it returns err.
func timedOut(r *http.Request, err error) error {
	if !errors.Is(context.Cause(r.Context()), errRequestTimeout) || modelreg.ErrorCode(err) != modelreg.EINTERNAL {
		return err
	}
	return &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: codeBusy,
		Message: "The request did not complete in time. Please try again later.", Op: "httpapi.deadline", Err: err}
}
