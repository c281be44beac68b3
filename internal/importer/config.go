package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelreg/modelreg"
)

// maxConfigSize is the largest config.json accepted.
const maxConfigSize = 1 << 20

// configPath returns the path of the model's config.json among files
// (sorted by path), or "" when it has none: model/config.json when the
// source has a model directory, else config.json at its top.
func configPath(files []file) string {
	hasModelDir, top := false, false
	for _, f := range files {
		switch {
		case len(f.rel) > len("model/") && f.rel[:len("model/")] == "model/":
			hasModelDir = true
		case f.rel == "config.json":
			top = true
		}
	}
	if hasModelDir {
		for _, f := range files {
			if f.rel == "model/config.json" {
				return f.rel
			}
		}
		return ""
	}
	if top {
		return "config.json"
	}
	return ""
}

// configFields are the known config.json fields and the JSON type each must
// have.
var configFields = []struct {
	name, kind string
}{
	{"model_type", "string"},
	{"model_algorithm", "string"},
	{"runtime", "string"},
	{"apis", "array"},
	{"dependencies", "array"},
	{"metrics", "object"},
}

// checkConfig validates the text of a config.json (at most maxConfigSize
// bytes; more is data[:maxConfigSize+1]). It returns a *failure.
func checkConfig(name string, data []byte) error {
	if len(data) > maxConfigSize {
		return failf(modelreg.CodeConfigInvalid, "%s does not conform: it is larger than %d bytes.", name, maxConfigSize)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return failf(modelreg.CodeConfigInvalid, "%s does not conform: %s.", name, jsonProblem(data, err))
	}
	for _, f := range configFields {
		raw, ok := fields[f.name]
		if !ok {
			continue
		}
		if got := jsonKind(raw); got != f.kind && got != "null" {
			return failf(modelreg.CodeConfigUnsupported, "%s field %s must be a JSON %s, not %s.", name, f.name, f.kind, article(got))
		}
	}
	return nil
}

// jsonProblem describes why data is not a JSON object.
func jsonProblem(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil: // null
		return "the document is null, not a JSON object"
	case errors.As(err, &se):
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("invalid JSON at line %d (byte %d): %s", line, se.Offset, se.Error())
	case errors.As(err, &te):
		return fmt.Sprintf("the document is %s, not a JSON object", article(te.Value))
	}
	return "invalid JSON"
}

// jsonKind returns the JSON type of a valid JSON value.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "null"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case '{':
		return "object"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func article(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "null":
		return "null"
	}
	return "a " + kind
}

// capBuffer keeps the first max+1 bytes written to it and accepts the rest
// without keeping it, so a tee into it never fails.
type capBuffer struct {
	buf []byte
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max + 1 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
