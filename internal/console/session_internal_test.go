package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSessionCookieExpires: the console itself stops honouring a session
// cookie at its token's expiry, whatever the browser does with the
// cookie's own expiry.
func TestSessionCookieExpires(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &Console{now: func() time.Time { return now }}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/console/models", nil)
	startSession(w, r, &session{Token: "tok", ProjectID: "0123456789abcdef0123456789abcdef", UserName: "alice",
		ExpiresAt: now.Add(time.Hour).UnixMilli()})
	ck := w.Result().Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Expires.Unix() != now.Add(time.Hour).Unix() {
		t.Errorf("cookie %+v", ck)
	}
	r.AddCookie(ck)
	if s, ok := c.session(r); !ok || s.Token != "tok" {
		t.Fatalf("session before expiry: %+v %v", s, ok)
	}
	now = now.Add(time.Hour)
	if _, ok := c.session(r); ok {
		t.Error("session honoured at its token's expiry")
	}
	// A tampered or foreign cookie is no session.
	for _, v := range []string{"", "s.", "s.!!!", "a.nonce", "s.eyJ0IjoiIn0"} {
		r := httptest.NewRequest(http.MethodGet, "/console/models", nil)
		r.AddCookie(&http.Cookie{Name: cookieName, Value: v})
		if _, ok := c.session(r); ok {
			t.Errorf("cookie %q taken for a session", v)
		}
	}
	if a, a2, b := csrfToken("a"), csrfToken("a"), csrfToken("b"); a == b || a != a2 {
		t.Error("CSRF tokens are not bound to their secret")
	}
}
