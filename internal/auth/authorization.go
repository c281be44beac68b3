package auth

import (
	"errors"
	"strings"

	"github.com/modelreg/modelreg"
)

// Bounds of the Authorization header.
const (
	maxAuthorizationLen = 4096
	maxSignedHeaders    = 64
	signatureHexLen     = 64 // hex HMAC-SHA256
)

// Authorization is a parsed SDK-HMAC-SHA256 Authorization header:
//
//	SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2;...>, Signature=<hex>
type Authorization struct {
	AccessKey     string
	SignedHeaders []string // lower-case header names, in the signed order
	Signature     string   // 64 lower-case hex digits
}

// String returns the header value, as the SDK writes it.
func (a *Authorization) String() string {
	return Algorithm + " Access=" + a.AccessKey + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
}

// ParseAuthorization parses an Authorization header value. The scheme must
// be SDK-HMAC-SHA256 followed by exactly the three parameters Access,
// SignedHeaders and Signature, in any order, separated by commas and
// optional spaces. Access must be a valid access key, SignedHeaders a
// non-empty list of distinct lower-case header names, and Signature 64 hex
// digits (returned in lower case). Anything else is an error saying what is
// wrong, without echoing the value.
func ParseAuthorization(v string) (*Authorization, error) {
	if len(v) > maxAuthorizationLen {
		return nil, errors.New("the Authorization header is too long")
	}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok || scheme != Algorithm {
		return nil, errors.New("the Authorization scheme must be " + Algorithm)
	}
	a := &Authorization{}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.Trim(part, " \t")
		key, val, ok := strings.Cut(part, "=")
		if !ok || val == "" {
			return nil, errors.New("the Authorization parameters must be Access=<AK>, SignedHeaders=<list>, Signature=<hex>")
		}
		if seen[key] {
			return nil, errors.New("the Authorization parameter " + key + " is repeated")
		}
		seen[key] = true
		switch key {
		case "Access":
			if !modelreg.ValidAccessKey(val) {
				return nil, errors.New("the Authorization parameter Access is not an access key")
			}
			a.AccessKey = val
		case "SignedHeaders":
			names, err := parseSignedHeaders(val)
			if err != nil {
				return nil, err
			}
			a.SignedHeaders = names
		case "Signature":
			if !isHex(val, signatureHexLen) {
				return nil, errors.New("the Authorization parameter Signature must be 64 hexadecimal digits")
			}
			a.Signature = strings.ToLower(val)
		default:
			return nil, errors.New("the Authorization parameters must be Access, SignedHeaders and Signature")
		}
	}
	if a.AccessKey == "" || a.SignedHeaders == nil || a.Signature == "" {
		return nil, errors.New("the Authorization header needs Access, SignedHeaders and Signature")
	}
	return a, nil
}

// parseSignedHeaders splits a SignedHeaders value.
func parseSignedHeaders(v string) ([]string, error) {
	names := strings.Split(v, ";")
	if len(names) > maxSignedHeaders {
		return nil, errors.New("the Authorization parameter SignedHeaders lists too many headers")
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !isHeaderName(n) {
			return nil, errors.New("the Authorization parameter SignedHeaders must list lower-case header names separated by ';'")
		}
		if seen[n] {
			return nil, errors.New("the Authorization parameter SignedHeaders lists a header twice")
		}
		seen[n] = true
	}
	return names, nil
}

// isHeaderName reports whether s is a lower-case HTTP token (RFC 9110).
func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isHex reports whether s is n hexadecimal digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
