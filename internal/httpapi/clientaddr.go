package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// forwardedFor is the header a proxy appends the address of its client to.
const forwardedFor = "X-Forwarded-For"

// clientAddress sets r.RemoteAddr to the client's address before anything
// else reads it (the access log, the authentication limiter): the peer's,
// or, when the peer is a trusted proxy (Config.TrustedProxies), the
// rightmost address of X-Forwarded-For that is not a trusted proxy. The
// peer's own address is kept for the access log. Without trusted proxies
// X-Forwarded-For is ignored: anyone can send it.
func (s *Server) clientAddress(next http.Handler) http.Handler {
	if len(s.trustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := parseHost(hostOf(r.RemoteAddr))
		if !ok || !s.trusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		client := s.forwardedClient(peer, r.Header.Values(forwardedFor))
		if client == peer {
			next.ServeHTTP(w, r)
			return
		}
		if info := infoFrom(r.Context()); info != nil {
			info.peer = r.RemoteAddr
		}
		r2 := r.WithContext(r.Context()) // a shallow copy
		r2.RemoteAddr = net.JoinHostPort(client.String(), "0")
		next.ServeHTTP(w, r2)
	})
}

// forwardedClient walks the X-Forwarded-For hops from the right, starting
// at the trusted peer, and returns the first one that is not a trusted
// proxy; when a hop is not an address, the last trusted hop before it;
// when every hop is trusted, the leftmost.
func (s *Server) forwardedClient(peer netip.Addr, values []string) netip.Addr {
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseHost(strings.TrimSpace(hops[j]))
			if !ok {
				return client
			}
			client = a
			if !s.trusted(a) {
				return client
			}
		}
	}
	return client
}

// trusted reports whether a is in one of the trusted proxy ranges.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHost parses an address as X-Forwarded-For or RemoteAddr give it:
// an IP, possibly with a port ("1.2.3.4:80", "[::1]:80"). IPv4-mapped IPv6
// addresses are unmapped and zones dropped.
func parseHost(v string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(v)
	if err != nil {
		ap, err := netip.ParseAddrPort(v)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// hostOf returns the host of a host:port address, or the address as it is.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
