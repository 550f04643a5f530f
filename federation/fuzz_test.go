package federation

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckURL: an issuer or endpoint URL an administrator enters for an
// upstream provider. Properties: an accepted URL parses to an absolute
// https URL, or http whose host is localhost or a loopback IP literal; it
// never carries userinfo, a query or a fragment; so a provider's secret is
// never sent in the clear off the machine.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://accounts.example.com", "http://127.0.0.1:9000/x", "http://localhost", "http://[::1]:80",
		"http://example.com", "https://u:p@example.com", "https://example.com/?a", "https://example.com/#f",
		"HTTP://LOCALHOST", "http://127.0.0.1.example.com", "http://0x7f.1", "http://[::ffff:127.0.0.1]", "//example.com",
		"http://localhost%2eexample.com", "https:example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckURL(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("accepted %q: %+v, %v", raw, u, err)
		}
		switch u.Scheme {
		case "https":
		case "http":
			h := u.Hostname()
			if !strings.EqualFold(h, "localhost") {
				a, err := netip.ParseAddr(h)
				if err != nil || !a.IsLoopback() {
					t.Fatalf("accepted plain http to %q (%q)", h, raw)
				}
			}
		default:
			t.Fatalf("accepted scheme %q in %q", u.Scheme, raw)
		}
	})
}

// FuzzVerifiedClaim: email_verified as an upstream ID token sends it; only
// a JSON true or the string "true" counts.
func FuzzVerifiedClaim(f *testing.F) {
	for _, s := range []string{"true", "TRUE", "1", "yes", "false", ""} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, b bool) {
		if verifiedClaim(s) != (s == "true") {
			t.Fatalf("verifiedClaim(%q) wrong", s)
		}
		if verifiedClaim(b) != b || verifiedClaim(nil) || verifiedClaim(1.0) {
			t.Fatal("verifiedClaim of a non-string wrong")
		}
	})
}
