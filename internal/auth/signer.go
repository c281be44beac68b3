// Package auth authenticates modelreg's API requests the way Huawei Cloud
// does: AK/SK signatures exactly as the Huawei Cloud SDK core
// (github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer) computes
// them, and IAM-style tokens. It also keeps the secrets: secret keys sealed
// with a master key (AES-256-GCM), passwords hashed (PBKDF2-SHA256), tokens
// stored as their SHA-256; and it slows down clients that keep failing.
//
// The same code signs (Signer, used by the CLI through client.WithSigner)
// and verifies (Authenticator), so the two cannot drift apart; the
// compatibility tests in internal/compat prove both match the SDK.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Names of the signature scheme and its headers.
const (
	// Algorithm is the only signing algorithm modelreg accepts.
	Algorithm = "SDK-HMAC-SHA256"
	// HeaderDate carries the signing time, formatted as DateFormat (UTC).
	HeaderDate = "X-Sdk-Date"
	// HeaderContentSha256 optionally carries the payload hash, or
	// UnsignedPayload for a body that is not signed.
	HeaderContentSha256 = "X-Sdk-Content-Sha256"
	// HeaderAuthorization carries the signature.
	HeaderAuthorization = "Authorization"
	// HeaderProjectID names the project a request is for (optional).
	HeaderProjectID = "X-Project-Id"
	// DateFormat is the layout of X-Sdk-Date: 20060102T150405Z.
	DateFormat = "20060102T150405Z"
	// UnsignedPayload stands for the payload hash of a body that is not
	// signed.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
)

// CanonicalRequest returns the canonical request the SDK signs:
//
//	METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH
//
// escapedPath is the path as sent (r.URL.EscapedPath()): each segment is
// unescaped, escaped again with the SDK's rules (everything but
// A-Z a-z 0-9 - _ . ~ is %XX, upper-case hex) and a trailing "/" is added.
// rawQuery is parsed as a query string; the parameters are sorted by name
// and then by value, each written name=value with both escaped the same
// way, an empty value as "name=". HEADERS has one line "name:value" per
// value of each signed header, in the order of signed, values sorted and
// trimmed; "host" is taken from host, never from the header map. A signed
// header the request does not carry is an error.
func CanonicalRequest(method, escapedPath, rawQuery string, header http.Header, host string, signed []string, payloadHash string) (string, error) {
	uri, err := canonicalURI(escapedPath)
	if err != nil {
		return "", err
	}
	query, err := canonicalQuery(rawQuery)
	if err != nil {
		return "", err
	}
	headers, err := canonicalHeaders(header, host, signed)
	if err != nil {
		return "", err
	}
	return method + "\n" + uri + "\n" + query + "\n" + headers + "\n" + strings.Join(signed, ";") + "\n" + payloadHash, nil
}

// canonicalURI escapes each segment of the path and ends it with "/".
func canonicalURI(escapedPath string) (string, error) {
	if plainPath(escapedPath) { // the usual path: nothing to unescape or escape
		if !strings.HasSuffix(escapedPath, "/") {
			return escapedPath + "/", nil
		}
		return escapedPath, nil
	}
	segments := strings.Split(escapedPath, "/")
	for i, s := range segments {
		raw, err := url.PathUnescape(s)
		if err != nil {
			return "", fmt.Errorf("malformed path segment %q", s)
		}
		segments[i] = escape(raw)
	}
	uri := strings.Join(segments, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	return uri, nil
}

// plainPath reports whether p holds only "/" and characters escape keeps.
func plainPath(p string) bool {
	for i := range len(p) {
		if p[i] != '/' && shouldEscape(p[i]) {
			return false
		}
	}
	return true
}

// canonicalQuery sorts and escapes the parameters of a query string.
func canonicalQuery(rawQuery string) (string, error) {
	if rawQuery == "" {
		return "", nil
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", errors.New("malformed query string")
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vs := append([]string(nil), values[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(escape(k))
			b.WriteByte('=')
			b.WriteString(escape(v))
		}
	}
	return b.String(), nil
}

// canonicalHeaders writes the signed headers, one line per value.
func canonicalHeaders(header http.Header, host string, signed []string) (string, error) {
	var b strings.Builder
	for _, name := range signed {
		var values []string
		if name == "host" {
			values = []string{host}
		} else {
			values = header.Values(name)
		}
		if len(values) == 0 {
			return "", fmt.Errorf("signed header %q is missing from the request", name)
		}
		if len(values) > 1 { // sorted in a copy: header is the caller's
			values = slices.Sorted(slices.Values(values))
		}
		for _, v := range values {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

// StringToSign returns what the HMAC covers: the algorithm, the X-Sdk-Date
// value and the hex SHA-256 of the canonical request, on three lines.
func StringToSign(date, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + date + "\n" + hex.EncodeToString(sum[:])
}

// Signature returns the hex HMAC-SHA256 of stringToSign keyed by the secret
// key.
func Signature(secretKey, stringToSign string) string {
	return hex.EncodeToString(signatureBytes(secretKey, stringToSign))
}

func signatureBytes(secretKey, stringToSign string) []byte {
	m := hmac.New(sha256.New, []byte(secretKey))
	m.Write([]byte(stringToSign))
	return m.Sum(nil)
}

// PayloadHash returns the lower-case hex SHA-256 of body.
func PayloadHash(body []byte) string {
	if len(body) == 0 {
		return emptyPayloadHash // most requests: every GET and DELETE
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// emptyPayloadHash is the hex SHA-256 of an empty body.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// shouldEscape reports whether the SDK escapes c: everything but the
// unreserved characters of RFC 3986.
func shouldEscape(c byte) bool {
	return !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '~' || c == '.')
}

// escape percent-encodes s as the SDK does (upper-case hex).
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if shouldEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	t := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; shouldEscape(c) {
			t = append(t, '%', hexDigits[c>>4], hexDigits[c&15])
		} else {
			t = append(t, c)
		}
	}
	return string(t)
}

// Signer signs requests with an AK/SK pair the way the Huawei Cloud SDK
// does. The modelreg client uses it through client.WithSigner.
type Signer struct {
	AccessKey string
	SecretKey string
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time
}

// Sign sets X-Sdk-Date and Authorization on r. body is the request body
// (nil when there is none); a request with a body that is not given
// (a streamed one) is signed with X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD.
// Like the SDK, it signs every header r carries except Content-Type and
// names with "_"; unlike the SDK it also signs host, which the server
// takes from the request line.
func (s *Signer) Sign(r *http.Request, body []byte) error {
	if s.AccessKey == "" || s.SecretKey == "" {
		return errors.New("auth: the access key and the secret key are required")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if body == nil && r.Body != nil && r.Body != http.NoBody {
		r.Header.Set(HeaderContentSha256, UnsignedPayload)
	}
	date := now().UTC().Format(DateFormat)
	r.Header.Set(HeaderDate, date)
	r.Header.Del(HeaderAuthorization)

	signed := []string{"host"}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "content-type") || strings.Contains(k, "_") || lk == "host" {
			continue
		}
		signed = append(signed, lk)
	}
	sort.Strings(signed)

	payload := r.Header.Get(HeaderContentSha256)
	if payload == "" {
		payload = PayloadHash(body)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	cr, err := CanonicalRequest(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header, host, signed, payload)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	a := &Authorization{AccessKey: s.AccessKey, SignedHeaders: signed, Signature: Signature(s.SecretKey, StringToSign(date, cr))}
	r.Header.Set(HeaderAuthorization, a.String())
	return nil
}
