package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses GATEHOUSE_TRUSTED_PROXIES: comma-separated CIDRs
// (a bare address counts as a single-address prefix). Empty means none.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or an IP address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP resolves a request's client address. The rate limiter and the
// audit trail both use it, so they agree on who the client is.
type ClientIP struct {
	trusted []netip.Prefix
}

// NewClientIP returns a resolver that believes X-Forwarded-For only from
// peers in trusted.
func NewClientIP(trusted []netip.Prefix) *ClientIP {
	return &ClientIP{trusted: trusted}
}

func (c *ClientIP) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// maxForwardHops bounds how many X-Forwarded-For entries are examined.
const maxForwardHops = 32

// Resolve returns the client's address: the socket peer, unless the peer is a
// trusted proxy; then the right-most X-Forwarded-For entry that is not itself
// a trusted proxy (entries to its left were written by the client and can be
// forged). If every entry is trusted, the left-most is the client; if an entry
// does not parse, the chain is broken there and the last trusted hop is
// returned. The zero Addr means the peer address was not an IP.
func (c *ClientIP) Resolve(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || len(c.trusted) == 0 || !c.isTrusted(peer) {
		return peer
	}
	hops := forwardedFor(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0 && len(hops)-i <= maxForwardHops; i-- {
		a := parseHop(hops[i])
		if !a.IsValid() {
			return client
		}
		client = a
		if !c.isTrusted(a) {
			return a
		}
	}
	return client
}

// peerAddr parses an http.Request.RemoteAddr ("ip:port").
func peerAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// forwardedFor returns the entries of every X-Forwarded-For header line, in
// order.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, f := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(f))
		}
	}
	return hops
}

// parseHop parses one X-Forwarded-For entry: an address, or an address with
// a port ("1.2.3.4:5", "[::1]:5").
func parseHop(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}
