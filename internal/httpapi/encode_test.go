package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

// awkward are strings encoding/json escapes in every way it does.
var awkward = []string{"", "plain", "model-001", "a<b", "a>b", "a&b", `quote "`, `back \ slash`, "\x00\x01\x1f", "del\x7f",
	"\n\r\t\b\f", "héllo wörld ✓ 𝄞", "line\u2028sep\u2029", "bad \xff\xfe utf-8", "a\xc3"}

func randString(r *rand.Rand) string { return awkward[r.IntN(len(awkward))] }

func randStrings(r *rand.Rand) []string {
	switch r.IntN(3) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	return []string{randString(r), randString(r)}
}

func randSummary(r *rand.Rand) modelreg.ModelSummary {
	s := modelreg.ModelSummary{
		ID: randString(r), Name: randString(r), Version: randString(r), Status: randString(r), Type: randString(r),
		Size: r.Int64() - r.Int64(), Tenant: randString(r), ProjectID: randString(r), Owner: randString(r),
		CreateAt: r.Int64(), Description: randString(r), SourceType: randString(r), WorkspaceID: randString(r),
		ModelSource: randString(r), Tunable: r.IntN(2) == 0, MarketFlag: r.IntN(2) == 0, PublishableFlag: r.IntN(2) == 0,
		InstallType: randStrings(r), FailureReason: randString(r),
	}
	if r.IntN(2) == 0 {
		s.Specification = modelreg.Specification{MinCPU: randString(r), MinGPU: randString(r), MinMemory: randString(r), MinAscend: randString(r)}
	}
	return s
}

func randModel(r *rand.Rand) *modelreg.Model {
	f := func(v float64) *float64 { return &v }
	m := &modelreg.Model{
		ModelSummary: randSummary(r), SourceLocation: randString(r), SourceJobID: randString(r),
		SourceJobVersion: randString(r), Runtime: randString(r), ExecutionCode: randString(r), SchemaDoc: randString(r),
		ImageAddress: randString(r), ModelMetrics: randString(r), APIs: randString(r), ModelAlgorithm: randString(r),
		ModelLabels: randStrings(r), LabelsMap: modelreg.LabelsMap{Labels: randStrings(r)}, Config: randString(r),
		UpdateAt: r.Int64(), Protected: r.IntN(2) == 0,
	}
	if r.IntN(3) > 0 {
		m.InputParams = []modelreg.Param{{URL: randString(r), Method: "post", ParamName: randString(r), Min: f(0.000001), Max: f(1e21)}}
		m.OutputParams = []modelreg.Param{}
		m.Dependencies = []modelreg.Dependency{{Installer: "pip", Packages: []modelreg.Package{{Name: randString(r)}}}}
		m.ModelDocs = []modelreg.ModelDoc{{Name: randString(r), URL: randString(r)}}
		m.Template = &modelreg.Template{TemplateID: randString(r), Inputs: []modelreg.TemplateInput{{InputID: "a", Input: randString(r)}}}
	}
	return m
}

// TestEncodeTypes fails when a field is added to the hand-encoded types:
// add it to encode.go, in its place, then here.
func TestEncodeTypes(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{
		{modelreg.ModelList{}, 4}, {modelreg.ModelSummary{}, 20}, {modelreg.Specification{}, 4},
		{modelreg.Model{}, 21}, {modelreg.LabelsMap{}, 1},
	} {
		if n := reflect.TypeOf(c.v).NumField(); n != c.want {
			t.Errorf("%T has %d fields, encode.go knows %d: update appendModelSummary/appendModel", c.v, n, c.want)
		}
	}
}

// TestEncodeModelList checks that appendModelList writes what json.Marshal
// does.
func TestEncodeModelList(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		l := modelreg.ModelList{TotalCount: r.IntN(1 << 20), Count: r.IntN(100), NextMarker: randString(r)}
		switch i % 5 {
		case 0:
		case 1:
			l.Models = []*modelreg.ModelSummary{}
		default:
			for range 1 + r.IntN(4) {
				s := randSummary(r)
				l.Models = append(l.Models, &s)
			}
		}
		want, err := json.Marshal(&l)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendModelList(nil, &l); !bytes.Equal(got, want) {
			t.Fatalf("appendModelList:\n got %s\nwant %s", got, want)
		}
	}
}

// TestEncodeModel checks that appendModel writes what json.Marshal does,
// and that etag of it is modelreg.ETag.
func TestEncodeModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		m := randModel(r)
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got := appendModel(nil, m)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendModel:\n got %s\nwant %s", got, want)
		}
		if etag(got) != modelreg.ETag(m) {
			t.Fatalf("etag %s, modelreg.ETag %s", etag(got), modelreg.ETag(m))
		}
	}
}

// TestWriteJSONLength checks that a JSON body goes out with its length,
// not chunked, whatever its size (net/http chunks a large body that has
// no Content-Length: 100,000 bytes fail here without it).
func TestWriteJSONLength(t *testing.T) {
	for _, n := range []int{0, 100, 5000, 100000} {
		body := []byte(`"` + strings.Repeat("x", n) + `"`)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, body)
		}))
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := string(body) + "\n"; string(got) != want || resp.ContentLength != int64(len(want)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("%d bytes: got %d bytes, Content-Length %d, Transfer-Encoding %q", n, len(got), resp.ContentLength, resp.TransferEncoding)
		}
	}
}
