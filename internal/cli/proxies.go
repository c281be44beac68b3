package cli

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
)

// registerProxies defines --trusted-proxies on fs.
func (c *Config) registerProxies(fs *flag.FlagSet) {
	fs.Var((*prefixesFlag)(&c.TrustedProxies), "trusted-proxies",
		"comma-separated `CIDR`s (or addresses) of the proxies in front of the server: only requests from them have their client address taken from X-Forwarded-For (default: none, the peer is the client)")
}

// prefixesFlag is a comma-separated list of CIDRs or addresses; setting it
// replaces the list, so a flag overrides the environment.
type prefixesFlag []netip.Prefix

func (f *prefixesFlag) String() string {
	if f == nil {
		return ""
	}
	s := make([]string, len(*f))
	for i, p := range *f {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (f *prefixesFlag) Set(v string) error {
	var ps []netip.Prefix
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := parsePrefix(part)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 && strings.TrimSpace(v) != "" {
		return errors.New("no CIDR in the list")
	}
	*f = ps
	return nil
}

// parsePrefix parses a CIDR ("10.0.0.0/8", "fd00::/8") or an address (one
// host), and refuses a CIDR with host bits set, which is most likely a
// mistake ("10.0.0.1/8").
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an IP address", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an IP address", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped range must be at least /96", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set: did you mean %s?", s, p.Masked())
	}
	return p, nil
}
