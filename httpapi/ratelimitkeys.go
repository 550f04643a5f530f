package httpapi

import "net/netip"

// ClientKey is the rate-limit identity of a client address, the one the
// failed_auth.ip ceiling and every per-IP policy count under: an IPv4
// address as is, an IPv6 address as its /64 network (see clientKey). The
// CLI's `limits reset --ip` keys with it, so that it lifts exactly the block
// the server set.
func ClientKey(a netip.Addr) string {
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// EmailAccountKey is the failed_auth.account identity of a password sign-in
// for the email address typed (see passwordToken): "email:" and the address
// trimmed and lower-cased.
func EmailAccountKey(email string) string { return "email:" + emailKey(email) }
