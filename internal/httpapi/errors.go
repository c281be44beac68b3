package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/modelreg/modelreg"
)

// ModelArts codes the server uses that the root package does not name.
const (
	// codeRouteNotFound answers a path no route serves ("The resource you
	// requested is not exist").
	codeRouteNotFound = "ModelArts.0015"
	// codeMethodNotAllowed answers a known path with a method it does not
	// serve. ModelArts has no code for 405; 0101 "Invalid Argument" is the
	// closest general one.
	codeMethodNotAllowed = modelreg.CodeInvalidArgument
	// codeBusy is "The system is busy now. Please try again later." (429 in
	// the ModelArts table), used for 429 and 503.
	codeBusy = modelreg.CodeBusy
)

// errorBody is the ModelArts error body. Both message fields carry the same
// text: the 2024-03 generation reads error_message, later clients error_msg.
type errorBody struct {
	ErrorCode    string `json:"error_code"`
	ErrorMsg     string `json:"error_msg"`
	ErrorMessage string `json:"error_message"`
}

// statusOf returns the HTTP status of an internal error code. It is the
// only code → status map on the server side; client.codeOf reverses it.
// Unknown codes are internal errors.
func statusOf(code string) int {
	switch code {
	case modelreg.EINVALID, modelreg.ESTATE:
		return http.StatusBadRequest
	case modelreg.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case modelreg.EFORBIDDEN:
		return http.StatusForbidden
	case modelreg.ENOTFOUND:
		return http.StatusNotFound
	case modelreg.ECONFLICT:
		return http.StatusConflict
	case modelreg.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case modelreg.ERATELIMIT:
		return http.StatusTooManyRequests
	case modelreg.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case modelreg.EPRECONDITION:
		return http.StatusPreconditionFailed
	}
	return http.StatusInternalServerError
}

// fallbackCode gives the ModelArts code of a *modelreg.Error that carries
// none, by HTTP status, so that no error body has an empty error_code.
func fallbackCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "ModelArts.0203"
	case http.StatusForbidden:
		return "ModelArts.0108"
	case http.StatusNotFound:
		return codeRouteNotFound
	case http.StatusRequestEntityTooLarge:
		return modelreg.CodeRequestTooLarge
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return codeBusy
	case http.StatusInternalServerError:
		return modelreg.CodeInternal
	}
	return modelreg.CodeInvalidArgument
}

// error writes err as a ModelArts error response. An internal error is
// logged once here, at Error with its cause (at Info when the request was
// canceled), and the client sees only "Internal error." with
// ModelArts.0010; a 503 is logged at Warn; client errors at Debug.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	err = timedOut(r, err)
	code := modelreg.ErrorCode(err)
	st := statusOf(code)
	apiCode, msg := modelreg.ErrorAPICode(err), modelreg.ErrorMessage(err)
	var e *modelreg.Error
	if errors.As(err, &e) && e.APICode == "" {
		apiCode = fallbackCode(st)
	}
	attrs := []slog.Attr{
		slog.String("request_id", requestIDFrom(r.Context())),
		slog.String("method", r.Method),
		slog.String("uri", r.URL.RequestURI()),
		slog.String("client_ip", clientIP(r)),
		slog.Int("status", st),
		slog.String("code", code),
	}
	switch {
	case st == http.StatusInternalServerError && r.Context().Err() != nil:
		// The client went away (or the server is shutting down) and the
		// store call was cut short: not a bug, and nobody reads the answer.
		apiCode, msg = modelreg.CodeInternal, "Internal error."
		attrs = append(attrs, slog.Any("error", err))
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request canceled", attrs...)
	case st == http.StatusInternalServerError:
		apiCode, msg = modelreg.CodeInternal, "Internal error."
		if e != nil {
			attrs = append(attrs, slog.String("op", e.Op))
		}
		attrs = append(attrs, slog.Any("error", err))
		s.logger.LogAttrs(r.Context(), slog.LevelError, "internal error", attrs...)
	case st >= 500:
		attrs = append(attrs, slog.String("api_code", apiCode), slog.Any("error", err))
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "request failed", attrs...)
	default:
		attrs = append(attrs, slog.String("api_code", apiCode), slog.String("message", msg))
		s.logger.LogAttrs(r.Context(), slog.LevelDebug, "request refused", attrs...)
	}
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		secs := int64(math.Ceil(ra.RetryAfter().Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	s.writeError(w, st, apiCode, msg)
}

// methodNotAllowed answers a known path requested with a method it does not
// serve: 405 with the Allow header.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	s.logger.LogAttrs(r.Context(), slog.LevelDebug, "request refused",
		slog.String("request_id", requestIDFrom(r.Context())),
		slog.String("method", r.Method),
		slog.String("uri", r.URL.RequestURI()),
		slog.Int("status", http.StatusMethodNotAllowed))
	s.writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed,
		"Method "+r.Method+" is not allowed on this resource; allowed: "+allow+".")
}

// writeError writes a ModelArts error body.
func (s *Server) writeError(w http.ResponseWriter, status int, apiCode, msg string) {
	b, err := json.Marshal(errorBody{ErrorCode: apiCode, ErrorMsg: msg, ErrorMessage: msg})
	if err != nil { // cannot happen: three strings
		b = []byte(`{"error_code":"ModelArts.0010","error_msg":"Internal error.","error_message":"Internal error."}`)
	}
	writeJSON(w, status, b)
}

// errRouteNotFound returns the error for a path no route serves.
func errRouteNotFound() error {
	return modelreg.Errorf(modelreg.ENOTFOUND, codeRouteNotFound, "The resource you requested does not exist.")
}

// clientIP returns the client's address: the peer's, or behind a trusted
// proxy the one X-Forwarded-For gives (clientAddress).
func clientIP(r *http.Request) string { return hostOf(r.RemoteAddr) }
