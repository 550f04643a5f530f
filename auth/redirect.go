package auth

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// Redirect URIs of the authorization-code grant: what registration accepts
// (RFC 6749 section 3.1.2, RFC 9700 section 2.1, RFC 8252 section 8.3) and
// the origin the consent page allows in its CSP. How a request's redirect
// URI matches a registered one is gatehouse.Client.HasRedirectURI.

// ErrUnknownRedirect is the error of an authorization request whose client
// or redirect URI is not known good: it must be shown on an error page and
// redirect nowhere (RFC 6749 section 4.1.2.1). Tell it with errors.Is.
var ErrUnknownRedirect = errUnknownRedir

// validRedirectURIs checks redirect URIs (RFC 6749 section 3.1.2, RFC 9700
// section 2.1, RFC 8252 section 8.3): each absolute, without a fragment or
// user information, its host a DNS name or IP literal, https, or http to a
// loopback host (127.0.0.1, [::1] or localhost). They are kept as given,
// without duplicates, and later matched as exact strings, but for the port
// of a loopback IP literal (gatehouse.Client.HasRedirectURI).
func validRedirectURIs(in []string) ([]string, error) {
	if len(in) > MaxRedirectURIs {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "a client has at most %d redirect URIs", MaxRedirectURIs)
	}
	out := []string{}
	for _, s := range in {
		if err := ValidRedirectURI(s); err != nil {
			return nil, err
		}
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// ValidRedirectURI checks one redirect URI as validRedirectURIs does. The
// host must be a DNS name or an IP literal written as is (validHost), so
// that the origin a page derives from the URI (the consent page's CSP
// form-action, RedirectOrigin) can carry no markup or policy of its own.
func ValidRedirectURI(s string) error {
	bad := func(why string) error {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "redirect URI %s", why)
	}
	if s == "" || len(s) > maxRedirectURILen {
		return bad("must be 1 to 2000 characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return bad("must be printable ASCII without spaces (percent-encode the rest)")
		}
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return bad("must be an absolute URI with a host")
	case strings.Contains(s, "#"):
		return bad("must not have a fragment (RFC 6749 section 3.1.2)")
	case u.User != nil:
		return bad("must not hold user information")
	case u.Scheme != "https" && u.Scheme != "http":
		return bad("must use https, or http to a loopback host (127.0.0.1, [::1], localhost)")
	case !strings.HasPrefix(s, u.Scheme+"://"+u.Host) || !validHost(u.Host):
		return bad("must name its host as a DNS name or an IP literal, without percent-encoding, with an optional port")
	case u.Scheme == "https":
		return nil
	case isLoopbackHost(u.Hostname()):
		return nil
	}
	return bad("must use https, or http to a loopback host (127.0.0.1, [::1], localhost)")
}

// RedirectOrigin returns the origin (scheme://host[:port], RFC 6454) of a
// valid redirect URI, as it is written in the URI, for the consent page's
// Content-Security-Policy form-action; an error for an invalid one (a client
// registered before hosts were checked), which must reach no header.
func RedirectOrigin(s string) (string, error) {
	if err := ValidRedirectURI(s); err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	return u.Scheme + "://" + u.Host, nil
}

// validHost reports whether hostport (a URL's authority without user
// information) is a host and an optional port: a DNS name (RFC 1123
// section 2.1: dot-separated labels of 1 to 63 letters, digits and
// hyphens, not starting or ending with a hyphen, at most 253 characters),
// an IPv4 literal in dotted-decimal form, or an IPv6 literal in brackets
// without a zone (RFC 3986 section 3.2.2); the port 1 to 65535 in digits.
// A name whose last label is a number (127.1, 0x7f) is refused: browsers
// read it as an IPv4 address (WHATWG URL, "ends in a number").
func validHost(hostport string) bool {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return false
		}
		host, port = hostport[:end+1], hostport[end+1:]
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i:]
	}
	if port != "" {
		if port[0] != ':' || len(port) < 2 || len(port) > 6 {
			return false
		}
		n, err := strconv.Atoi(port[1:])
		if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port[1:], "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(host, "[") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Is4()
	}
	return validDNSName(host)
}

// validDNSName reports whether h is a DNS host name as validHost says.
func validDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := strings.ToLower(labels[len(labels)-1])
	numeric := strings.TrimLeft(last, "0123456789") == ""
	hex := strings.HasPrefix(last, "0x") && strings.TrimLeft(last[2:], "0123456789abcdef") == ""
	return !numeric && !hex
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
