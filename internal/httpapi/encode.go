package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/modelreg/modelreg"
)

// The two most frequent responses, a model and a page of models, are
// encoded by hand: encoding/json's reflection was an eighth of the CPU of a
// list page. The output is byte for byte what json.Marshal writes
// (TestEncodeModelList and TestEncodeModel compare them on awkward values,
// and fail when a field is added to the types without being added here).

// bufPool holds response buffers: a page of 100 models is about 50 KiB.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// respondBytes writes a 200 JSON response built by appendBody into a pooled
// buffer.
func respondBytes(w http.ResponseWriter, appendBody func([]byte) []byte) {
	bp := bufPool.Get().(*[]byte)
	b := appendBody((*bp)[:0])
	writeJSON(w, http.StatusOK, b)
	if cap(b) <= 1<<20 { // a huge page's buffer is not kept
		*bp = b[:0]
		bufPool.Put(bp)
	}
}

// appendModelList appends the JSON of l.
func appendModelList(b []byte, l *modelreg.ModelList) []byte {
	b = append(b, `{"total_count":`...)
	b = strconv.AppendInt(b, int64(l.TotalCount), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(l.Count), 10)
	b = append(b, `,"models":`...)
	if l.Models == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range l.Models {
			if i > 0 {
				b = append(b, ',')
			}
			if m == nil {
				b = append(b, "null"...)
			} else {
				b = appendModelSummary(b, m)
				b = append(b, '}')
			}
		}
		b = append(b, ']')
	}
	if l.NextMarker != "" {
		b = append(b, `,"next_marker":`...)
		b = appendString(b, l.NextMarker)
	}
	return append(b, '}')
}

// appendModelSummary appends the JSON object of m without its closing
// brace, so that a Model can add its own fields.
func appendModelSummary(b []byte, m *modelreg.ModelSummary) []byte {
	b = append(b, `{"model_id":`...)
	b = appendString(b, m.ID)
	b = append(b, `,"model_name":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"model_version":`...)
	b = appendString(b, m.Version)
	b = append(b, `,"model_status":`...)
	b = appendString(b, m.Status)
	b = append(b, `,"model_type":`...)
	b = appendString(b, m.Type)
	b = append(b, `,"model_size":`...)
	b = strconv.AppendInt(b, m.Size, 10)
	b = append(b, `,"tenant":`...)
	b = appendString(b, m.Tenant)
	b = append(b, `,"project":`...)
	b = appendString(b, m.ProjectID)
	b = append(b, `,"owner":`...)
	b = appendString(b, m.Owner)
	b = append(b, `,"create_at":`...)
	b = strconv.AppendInt(b, m.CreateAt, 10)
	b = append(b, `,"description":`...)
	b = appendString(b, m.Description)
	b = append(b, `,"source_type":`...)
	b = appendString(b, m.SourceType)
	b = append(b, `,"workspace_id":`...)
	b = appendString(b, m.WorkspaceID)
	b = append(b, `,"model_source":`...)
	b = appendString(b, m.ModelSource)
	b = append(b, `,"tunable":`...)
	b = strconv.AppendBool(b, m.Tunable)
	b = append(b, `,"market_flag":`...)
	b = strconv.AppendBool(b, m.MarketFlag)
	b = append(b, `,"publishable_flag":`...)
	b = strconv.AppendBool(b, m.PublishableFlag)
	b = append(b, `,"install_type":`...)
	b = appendStrings(b, m.InstallType)
	b = append(b, `,"specification":{`...)
	n := len(b)
	for _, f := range [...]struct{ name, v string }{
		{`"min_cpu":`, m.Specification.MinCPU},
		{`"min_gpu":`, m.Specification.MinGPU},
		{`"min_memory":`, m.Specification.MinMemory},
		{`"min_ascend":`, m.Specification.MinAscend},
	} {
		if f.v == "" {
			continue
		}
		if len(b) > n {
			b = append(b, ',')
		}
		b = append(b, f.name...)
		b = appendString(b, f.v)
	}
	b = append(b, '}')
	if m.FailureReason != "" {
		b = append(b, `,"failure_reason":`...)
		b = appendString(b, m.FailureReason)
	}
	return b
}

// appendStrings appends a JSON array of strings, null for a nil slice.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string the way encoding/json does. The
// common case, printable ASCII without anything to escape, is copied as
// it is; anything else is left to encoding/json (HTML escaping, invalid
// UTF-8, U+2028 and U+2029), so the rules are its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainASCII[s[i]] {
			return appendMarshal(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainASCII holds the bytes encoding/json writes as they are: printable
// ASCII but the quote, the backslash and the HTML-escaped <, > and &.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendMarshal appends the JSON of v as encoding/json writes it.
func appendMarshal(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with values that always encode
	}
	return append(b, j...)
}

// appendModel appends the JSON of m.
func appendModel(b []byte, m *modelreg.Model) []byte {
	b = appendModelSummary(b, &m.ModelSummary)
	for _, f := range [...]struct{ name, v string }{
		{`,"source_location":`, m.SourceLocation},
		{`,"source_job_id":`, m.SourceJobID},
		{`,"source_job_version":`, m.SourceJobVersion},
		{`,"runtime":`, m.Runtime},
		{`,"execution_code":`, m.ExecutionCode},
		{`,"schema_doc":`, m.SchemaDoc},
		{`,"image_address":`, m.ImageAddress},
	} {
		b = append(b, f.name...)
		b = appendString(b, f.v)
	}
	b = append(b, `,"input_params":`...)
	b = appendSlice(b, m.InputParams)
	b = append(b, `,"output_params":`...)
	b = appendSlice(b, m.OutputParams)
	b = append(b, `,"dependencies":`...)
	b = appendSlice(b, m.Dependencies)
	b = append(b, `,"model_metrics":`...)
	b = appendString(b, m.ModelMetrics)
	b = append(b, `,"apis":`...)
	b = appendString(b, m.APIs)
	b = append(b, `,"model_docs":`...)
	b = appendSlice(b, m.ModelDocs)
	b = append(b, `,"model_algorithm":`...)
	b = appendString(b, m.ModelAlgorithm)
	b = append(b, `,"model_labels":`...)
	b = appendStrings(b, m.ModelLabels)
	b = append(b, `,"labels_map":{"labels":`...)
	b = appendStrings(b, m.LabelsMap.Labels)
	b = append(b, `},"config":`...)
	b = appendString(b, m.Config)
	if m.Template != nil {
		b = append(b, `,"template":`...)
		b = appendMarshal(b, m.Template)
	}
	b = append(b, `,"update_at":`...)
	b = strconv.AppendInt(b, m.UpdateAt, 10)
	b = append(b, `,"protected":`...)
	b = strconv.AppendBool(b, m.Protected)
	return append(b, '}')
}

// appendSlice appends a JSON array of the rarer nested values, which
// encoding/json encodes: null for a nil slice, [] for an empty one.
func appendSlice[T any](b []byte, s []T) []byte {
	switch {
	case s == nil:
		return append(b, "null"...)
	case len(s) == 0:
		return append(b, "[]"...)
	}
	return appendMarshal(b, s)
}

// etag is modelreg.ETag of a value whose JSON is b.
func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
