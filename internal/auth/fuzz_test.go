package auth_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/modelreg/modelreg/internal/auth"
)

// FuzzParseAuthorization checks that the parser never panics, that what it
// accepts is well formed, and that what it accepts survives a round trip
// through String.
func FuzzParseAuthorization(f *testing.F) {
	sig := strings.Repeat("0f", 32)
	for _, s := range []string{
		"SDK-HMAC-SHA256 Access=AK123456, SignedHeaders=host;x-sdk-date, Signature=" + sig,
		"SDK-HMAC-SHA256 Signature=" + sig + ",SignedHeaders=x,Access=AAAA",
		"SDK-HMAC-SHA256 Access=AK, SignedHeaders=, Signature=",
		"SDK-HMAC-SHA256 ,,,===",
		"Bearer token",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := auth.ParseAuthorization(s)
		if err != nil {
			if a != nil {
				t.Fatalf("an error and a value for %q", s)
			}
			return
		}
		if a.AccessKey == "" || len(a.SignedHeaders) == 0 || len(a.Signature) != 64 || strings.ToLower(a.Signature) != a.Signature {
			t.Fatalf("accepted a malformed header %q: %+v", s, a)
		}
		for _, h := range a.SignedHeaders {
			if h == "" || strings.ToLower(h) != h || strings.ContainsAny(h, ";, \t") {
				t.Fatalf("accepted signed header %q in %q", h, s)
			}
		}
		b, err := auth.ParseAuthorization(a.String())
		if err != nil {
			t.Fatalf("String() of %q does not parse: %v", s, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip of %q: %+v != %+v", s, a, b)
		}
	})
}

// FuzzCanonicalRequest checks that canonicalising any path, query and
// header never panics, that the canonical URI is made of unreserved
// characters and %XX escapes ending in "/", and that a request the Signer
// signs verifies: the canonical request the server rebuilds from what is
// on the wire is the one that was signed.
func FuzzCanonicalRequest(f *testing.F) {
	f.Add("GET", "/v1/p/models", "model_name=a+b&limit=1&x=", "X-Custom", " v ", []byte(nil))
	f.Add("POST", "/v1/p q/ü/%2F", "a=%zz", "x_under", "v", []byte(`{"a":1}`))
	f.Add("DELETE", "", "&&==;", "Content-Type", "application/json", []byte{})
	f.Fuzz(func(t *testing.T, method, path, query, hname, hval string, body []byte) {
		h := http.Header{}
		if validHeaderName(hname) && !strings.ContainsAny(hval, "\r\n\x00") {
			h.Set(hname, hval)
		}
		// Any raw input: no panic, and a well-formed URI when it succeeds.
		cr, err := auth.CanonicalRequest("GET", path, query, h, "host", []string{"host"}, auth.PayloadHash(body))
		if err == nil {
			uri := strings.Split(cr, "\n")[1]
			if !strings.HasSuffix(uri, "/") || !canonicalURIChars(uri) {
				t.Fatalf("canonical URI %q of %q", uri, path)
			}
		}

		if !validMethod(method) {
			return
		}
		// An HTTP request's path starts with "/" (http.NewRequest sees to it).
		u := &url.URL{Scheme: "http", Host: "example.com:8080", Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: query}
		r := &http.Request{Method: method, URL: u, Host: u.Host, Header: h}
		s := &auth.Signer{AccessKey: "AKFUZZ00", SecretKey: "fuzz-secret-key-0123456789"}
		if err := s.Sign(r, body); err != nil {
			return // a query string that does not parse cannot be signed
		}
		a, err := auth.ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			t.Fatalf("the signer wrote an Authorization it cannot parse: %v", err)
		}
		// What the server sees: the path as sent on the wire, parsed back.
		wire, err := url.ParseRequestURI(u.RequestURI())
		if err != nil {
			return
		}
		cr, err = auth.CanonicalRequest(r.Method, wire.EscapedPath(), wire.RawQuery, r.Header, r.Host, a.SignedHeaders, auth.PayloadHash(body))
		if err != nil {
			t.Fatalf("the signed request does not canonicalise: %v", err)
		}
		if got := auth.Signature(s.SecretKey, auth.StringToSign(r.Header.Get("X-Sdk-Date"), cr)); got != a.Signature {
			t.Fatalf("signature mismatch for %s %q ? %q", method, path, query)
		}
	})
}

func canonicalURIChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', strings.IndexByte("-_.~/", c) >= 0:
		case c == '%' && i+2 < len(s) && strings.IndexByte("0123456789ABCDEF", s[i+1]) >= 0 && strings.IndexByte("0123456789ABCDEF", s[i+2]) >= 0:
			i += 2
		default:
			return false
		}
	}
	return true
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
