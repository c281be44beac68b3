package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
)

// pathProject returns the project_id path parameter, or EINVALID
// ModelArts.0101 when it is not 32 lower-case hexadecimal characters, or
// the error of authorize.
func pathProject(r *http.Request) (string, error) {
	p := r.PathValue("project_id")
	if !modelreg.ValidProjectID(p) {
		return "", modelreg.Invalid("Invalid parameter project_id: must be 32 lower-case hexadecimal characters.")
	}
	if err := authorize(r, p); err != nil {
		return "", err
	}
	return p, nil
}

// authorize checks that the request's principal may act on projectID:
// EFORBIDDEN ModelArts.0210 when the project is not one of its projects,
// or when X-Project-Id is sent and names another project (or is sent
// twice). Without a principal (no authentication) everything is allowed.
func authorize(r *http.Request, projectID string) error {
	p := modelreg.PrincipalFrom(r.Context())
	if p == nil {
		return nil
	}
	if h := r.Header.Values(auth.HeaderProjectID); len(h) > 0 && (len(h) > 1 || h[0] != projectID) {
		return modelreg.Errorf(modelreg.EFORBIDDEN, modelreg.CodeProjectMismatch,
			"The project id in X-Project-Id does not match the project id in the request URL.")
	}
	if !p.CanUse(projectID) {
		what := "access key"
		if p.Method == modelreg.MethodToken {
			what = "token"
		}
		return modelreg.Errorf(modelreg.EFORBIDDEN, modelreg.CodeProjectMismatch,
			"The project id in the request URL does not match the %s.", what)
	}
	return nil
}

// ownerOf returns the user id to record as the owner of a new resource,
// "" without authentication.
func ownerOf(r *http.Request) string {
	if p := modelreg.PrincipalFrom(r.Context()); p != nil {
		return p.UserID
	}
	return ""
}

// pathParams returns the project_id and the id path parameter called name,
// validated in that order (EINVALID ModelArts.0101 naming the parameter).
func pathParams(r *http.Request, name string) (projectID, id string, err error) {
	if projectID, err = pathProject(r); err != nil {
		return "", "", err
	}
	id = r.PathValue(name)
	if !modelreg.ValidID(id) {
		return "", "", invalidID(name)
	}
	return projectID, id, nil
}

// invalidID is the error for a malformed model or service id.
func invalidID(name string) error {
	return modelreg.Invalid("Invalid parameter %s: must be a lower-case UUID v4.", name)
}

// query reads query parameters strictly: a repeated parameter, a value that
// is not text, a malformed integer or boolean is an EINVALID
// ModelArts.0101 naming the parameter. The first error sticks; check err
// once after reading every parameter.
type query struct {
	values url.Values
	err    error
}

// parseQuery parses the query string of r.
func parseQuery(r *http.Request) *query {
	v, err := url.ParseQuery(r.URL.RawQuery)
	q := &query{values: v}
	if err != nil {
		q.err = modelreg.Invalid("Malformed query string.")
	}
	return q
}

// raw returns the single value of name and whether it is present.
func (q *query) raw(name string) (string, bool) {
	if q.err != nil {
		return "", false
	}
	vs, ok := q.values[name]
	if !ok {
		return "", false
	}
	if len(vs) > 1 {
		q.err = modelreg.Invalid("Invalid parameter %s: given more than once.", name)
		return "", false
	}
	v := vs[0]
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		q.err = modelreg.Invalid("Invalid parameter %s: contains a control character or invalid UTF-8.", name)
		return "", false
	}
	return v, true
}

// all returns every value of name (a repeated parameter), in order.
func (q *query) all(name string) []string {
	if q.err != nil {
		return nil
	}
	vs := q.values[name]
	for _, v := range vs {
		if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			q.err = modelreg.Invalid("Invalid parameter %s: contains a control character or invalid UTF-8.", name)
			return nil
		}
	}
	return vs
}

// str returns the value of name, "" when absent.
func (q *query) str(name string) string {
	v, _ := q.raw(name)
	return v
}

// int returns the integer value of name, 0 when absent.
func (q *query) int(name string) int {
	v, ok := q.raw(name)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		q.err = modelreg.Invalid("Invalid parameter %s: must be an integer.", name)
	}
	return n
}

// int64 returns the 64-bit integer value of name, 0 when absent.
func (q *query) int64(name string) int64 {
	v, ok := q.raw(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		q.err = modelreg.Invalid("Invalid parameter %s: must be an integer.", name)
	}
	return n
}

// page returns the paging parameters of a list, offset, limit, sort_by and
// order, as its filter's Validate checks them.
func (q *query) page() modelreg.Page {
	return modelreg.Page{Offset: q.int("offset"), Limit: q.limit(), SortBy: q.str("sort_by"), Order: q.str("order")}
}

// limit returns the value of limit, 0 (the filter's default) when absent.
// An explicit 0 is refused: a page of no records is never what was meant.
func (q *query) limit() int {
	_, present := q.values["limit"]
	n := q.int("limit")
	if present && q.err == nil && n == 0 {
		q.err = modelreg.Invalid("Invalid parameter limit: must be between 1 and %d.", modelreg.MaxListLimit)
	}
	return n
}

// bool returns the boolean value of name: "true" or "false" in any case,
// false when absent; anything else (the empty string included) is refused.
func (q *query) bool(name string) bool {
	v, ok := q.raw(name)
	if !ok {
		return false
	}
	switch {
	case strings.EqualFold(v, "true"):
		return true
	case strings.EqualFold(v, "false"):
		return false
	}
	q.err = modelreg.Invalid("Invalid parameter %s: must be true or false.", name)
	return false
}

// decode reads the JSON object in r's body into a new T. The body is
// limited to the server's MaxBodyBytes (ETOOLARGE ModelArts.0104 beyond
// it, checked on Content-Length first). It must be one JSON object; unknown
// fields are ignored. Malformed JSON, a value of the wrong type (naming the
// field) and data after the object are EINVALID ModelArts.3037. decode does
// not validate: the caller calls Validate.
func decode[T any](s *Server, w http.ResponseWriter, r *http.Request) (*T, error) {
	if r.ContentLength > s.maxBody {
		return nil, s.tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, s.tooLarge()
		}
		return nil, modelreg.Errorf(modelreg.EINVALID, modelreg.CodeParamInvalid, "Cannot read the request body.")
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, modelreg.ParamInvalid("body", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	v := new(T)
	if err := dec.Decode(v); err != nil {
		return nil, decodeError(err)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return nil, modelreg.ParamInvalid("body", "unexpected data after the JSON object")
	}
	return v, nil
}

// tooLarge is the error for a body over the limit.
func (s *Server) tooLarge() error {
	return modelreg.Errorf(modelreg.ETOOLARGE, modelreg.CodeRequestTooLarge,
		"Request body is larger than %d bytes.", s.maxBody)
}

// decodeError translates a json decoding error into a ModelArts.3037 error.
func decodeError(err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		why := "has the wrong type"
		if kind := jsonKind(typeErr.Type); kind != "" {
			why = "must be " + kind
		}
		return modelreg.ParamInvalid(field, why)
	case errors.As(err, &syntaxErr):
		return modelreg.ParamInvalid("body", "malformed JSON at byte "+strconv.FormatInt(syntaxErr.Offset, 10))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return modelreg.ParamInvalid("body", "malformed JSON: unexpected end")
	}
	var invalid *json.InvalidUnmarshalError
	if errors.As(err, &invalid) {
		return modelreg.Internal("httpapi.decode", err)
	}
	return modelreg.ParamInvalid("body", "malformed JSON")
}

// jsonKind names the JSON type a Go type decodes from, for messages, or
// returns "" when it cannot tell (a custom decoder refused the value).
func jsonKind(t reflect.Type) string {
	if t == nil {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return ""
}
