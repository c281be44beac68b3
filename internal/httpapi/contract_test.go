package httpapi_test

// Every response the HTTP tests receive through their client is checked
// against api/openapi.yaml (openapi_test.go checks the document's shape
// against the code; this checks real answers): the status must be declared
// for the operation, and a JSON body must match the declared schema (types,
// required fields, enums). File downloads and other non-JSON bodies pass
// through unread, so streaming tests stream.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

const contractPath = "../../api/openapi.yaml"

// contract is api/openapi.yaml, loaded and validated once.
type contract struct {
	doc    *openapi3.T
	router routers.Router // finds the operation of a request
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(contractPath)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	// Match the path alone, whatever host the test server listens on.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contract{doc: doc, router: router}, nil
})

// checkContract fails the test for a response that api/openapi.yaml does
// not allow.
type checkContract struct {
	t interface {
		Errorf(format string, args ...any)
	}
	next http.RoundTripper
	// faults is set for a server over a faultyStore, whose injected errors
	// give operations statuses they cannot have for real: an error status
	// the operation does not declare is then checked against the Error
	// schema alone.
	faults bool
}

func (rt checkContract) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" {
		return resp, nil
	}
	c, err := loadContract()
	if err != nil {
		rt.t.Errorf("load %s: %v", contractPath, err)
		return resp, nil
	}
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		// A path no operation has (the router's own 404 and 405): the
		// route test in openapi_test.go covers the operations.
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil // the test reads the same error
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if rt.faults && resp.StatusCode >= 400 && route.Operation.Responses.Status(resp.StatusCode) == nil {
		var v any
		err = json.Unmarshal(body, &v)
		if err == nil {
			err = c.doc.Components.Schemas["Error"].Value.VisitJSON(v)
		}
	} else {
		err = openapi3filter.ValidateResponse(r.Context(), in)
	}
	if err != nil {
		rt.t.Errorf("%s %s: the %d response does not match api/openapi.yaml: %v\nbody: %.2000s", r.Method, r.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// errorLog records what checkContract reports.
type errorLog []string

func (l *errorLog) Errorf(format string, args ...any) { *l = append(*l, fmt.Sprintf(format, args...)) }

// canned answers every request with one response.
type canned struct {
	status int
	body   string
}

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(c.body)), Request: r}, nil
}

// TestContractChecker checks that checkContract can fail: wrong types,
// missing required fields, values outside an enum and undeclared statuses
// are reported, a conforming answer is not.
func TestContractChecker(t *testing.T) {
	const list = "/v1/" + projectA + "/models"
	const model = "/v1/" + projectA + "/models/0a2b4c6d-0000-4000-8000-000000000000"
	tests := []struct {
		name, path string
		resp       canned
		bad        bool
	}{
		{"OK", list, canned{200, `{"total_count": 0, "count": 0, "models": []}`}, false},
		{"WrongType", list, canned{200, `{"total_count": "0", "count": 0, "models": []}`}, true},
		{"MissingRequired", list, canned{200, `{"total_count": 0, "count": 0}`}, true},
		{"OutsideEnum", model, canned{200, `{"model_id": "0a2b4c6d-0000-4000-8000-000000000000", "model_name": "n", "model_version": "1.0.0", "model_type": "Custom", "model_status": "sleeping"}`}, true},
		{"ErrorBody", model, canned{404, `{"error_code": "ModelArts.3001", "error_msg": "gone", "error_message": "gone"}`}, false},
		{"ErrorBodyIncomplete", model, canned{404, `{"error_code": "ModelArts.3001"}`}, true},
		{"UndeclaredStatus", model, canned{418, `{"error_code": "x", "error_msg": "x", "error_message": "x"}`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log errorLog
			rt := checkContract{t: &log, next: tt.resp}
			req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(resp.Body); string(b) != tt.resp.body {
				t.Errorf("the body the test reads is %q, want it intact", b)
			}
			t.Log(log)
			if got := len(log) > 0; got != tt.bad {
				t.Errorf("reported %v, want a report: %v", log, tt.bad)
			}
		})
	}
}
