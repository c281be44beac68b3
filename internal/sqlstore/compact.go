package sqlstore

import (
	"bytes"
	"encoding/json"
	"errors"
)

// marshal returns the JSON of v without the top-level members whose
// value decodes to the zero value anyway ("", 0, false, null), which keeps
// the stored documents, and their decoding, small. Empty arrays and objects
// are kept: an empty slice must not come back nil. v must marshal to an
// object.
func marshal(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) < 2 || b[0] != '{' {
		return "", errors.New("sqlstore: a document must be a JSON object")
	}
	out := make([]byte, 0, len(b))
	out = append(out, '{')
	for i := 1; i < len(b)-1; {
		// A member: "key":value, then a comma unless it is the last.
		start := i
		i = skipString(b, i)
		i++ // the colon
		vstart := i
		i = skipValue(b, i)
		switch string(b[vstart:i]) {
		case `""`, `0`, `false`, `null`:
		default:
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, b[start:i]...)
		}
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return string(append(out, '}')), nil
}

// skipString returns the index just after the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index just after the compact JSON value starting at
// b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
