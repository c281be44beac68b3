package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAddress checks which address a request is taken to come from:
// X-Forwarded-For only from a trusted peer, its rightmost hop that is not
// a trusted proxy, the last trusted hop when an entry is not an address.
func TestClientAddress(t *testing.T) {
	s := &Server{trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, tc := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"192.0.2.1:5000", nil, "192.0.2.1"},
		{"192.0.2.1:5000", []string{"198.51.100.1"}, "192.0.2.1"},                // untrusted peer: ignored
		{"10.1.1.1:5000", nil, "10.1.1.1"},                                       // a proxy that forwards nothing
		{"10.1.1.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},              // one proxy
		{"10.1.1.1:5000", []string{"203.0.113.9, 198.51.100.1"}, "198.51.100.1"}, // a spoofed entry on the left
		{"10.1.1.1:5000", []string{"198.51.100.1, 10.2.2.2"}, "198.51.100.1"},    // two proxies
		{"10.1.1.1:5000", []string{"198.51.100.1", "10.2.2.2"}, "198.51.100.1"},  // two header lines
		{"10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},            // every hop trusted: the leftmost
		{"10.1.1.1:5000", []string{"198.51.100.1, garbage"}, "10.1.1.1"},         // not an address: the last trusted hop
		{"10.1.1.1:5000", []string{"garbage, 10.2.2.2"}, "10.2.2.2"},
		{"10.1.1.1:5000", []string{""}, "10.1.1.1"},
		{"10.1.1.1:5000", []string{"198.51.100.1:4711"}, "198.51.100.1"}, // with a port
		{"10.1.1.1:5000", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"[fd00::1]:5000", []string{"2001:db8::2"}, "2001:db8::2"},
		{"[::ffff:10.1.1.1]:5000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"}, // IPv4-mapped
		{"[fe80::1%eth0]:5000", []string{"198.51.100.1"}, "fe80::1%eth0"},           // untrusted, as it is
	} {
		var got string
		h := s.clientAddress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = hostOf(r.RemoteAddr) }))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add(forwardedFor, v)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	// Without trusted proxies the header is never read.
	none := &Server{}
	var got string
	h := none.clientAddress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.1.1:5000"
	r.Header.Set(forwardedFor, "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "10.1.1.1:5000" {
		t.Errorf("without trusted proxies: %s", got)
	}
}
