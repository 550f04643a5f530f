package httpapi

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// FuzzCheckReturnTo: return_to of a federated sign-in, where the browser is
// sent once the provider answers (OWASP Unvalidated Redirects and Forwards
// Cheat Sheet). Properties: an accepted value is an absolute URL whose
// origin is exactly gatehouse's own or an allowed one, as a browser would
// read it (no backslash, control character, space, userinfo, "//" path or
// encoded slash that could move the host); checking the returned value again
// gives it back unchanged; refusals are invalid_request.
func FuzzCheckReturnTo(f *testing.F) {
	for _, s := range []string{
		"", "https://auth.example.com/x", "https://app.example.com/cb?a=1#f", "https://evil.example/",
		"/relative", "//evil.example", "https:evil.example", "https://auth.example.com@evil.example/",
		"https://auth.example.com\\@evil.example", "https://auth.example.com//evil.example", "https://auth.example.com/%2f%2fevil",
		"HTTPS://APP.EXAMPLE.COM:443/", "https://app.example.com:8443/", "https://auth%2eexample.com/", "javascript:alert(1)",
	} {
		f.Add(s)
	}
	s := &Server{ownOrigin: "https://auth.example.com", corsAllowed: map[string]bool{"https://app.example.com": true}}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := s.checkReturnTo(raw)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("refusal of %q is %v", raw, err)
			}
			return
		}
		if strings.ContainsAny(out, "\\ \t\r\n") {
			t.Fatalf("accepted %q as %q", raw, out)
		}
		u, err := url.Parse(out)
		if err != nil || !u.IsAbs() || u.User != nil || strings.HasPrefix(u.Path, "//") {
			t.Fatalf("accepted %q as %q: %v", raw, out, err)
		}
		o, err := NormalizeOrigin(u.Scheme + "://" + u.Host)
		if err != nil || o != s.ownOrigin && !s.corsAllowed[o] {
			t.Fatalf("accepted %q to origin %q", raw, o)
		}
		if again, err := s.checkReturnTo(out); err != nil || again != out {
			t.Fatalf("not a fixed point: %q -> %q -> %q, %v", raw, out, again, err)
		}
	})
}

// FuzzCheckCookies: any Cookie headers on an API request. Properties: the
// tossing check refuses exactly the requests in which one of gatehouse's
// cookies (refresh, CSRF, device) is named more than once, counting pairs
// net/http cannot parse; and when it passes, each reader returns the one
// value the header holds for its name, so the device cookie a password
// sign-in reads is never one of two.
func FuzzCheckCookies(f *testing.F) {
	for _, s := range []string{
		"__Host-gatehouse_device=abc",
		"__Host-gatehouse_device=a; __Host-gatehouse_device=b",
		"__Host-gatehouse_device=a;__Host-gatehouse_device=\"b c\"",
		"__Host-gatehouse_refresh=r; __Host-gatehouse_csrf=c; __Host-gatehouse_device=d",
		"__Secure-gatehouse_device=a; __Host-gatehouse_device=b",
		"__Host-gatehouse_device",
		" __Host-gatehouse_device =x",
	} {
		f.Add(s, "")
	}
	f.Add("__Host-gatehouse_device=a", "__Host-gatehouse_device=b")
	cfg := CookieConfig{RefreshTTL: time.Hour}
	names := []string{cfg.RefreshCookieName(), cfg.CSRFCookieName(), cfg.DeviceCookieName()}
	f.Fuzz(func(t *testing.T, h1, h2 string) {
		r := httptest.NewRequest("POST", "/v1/auth/login", nil)
		r.Header.Add("Cookie", h1)
		if h2 != "" {
			r.Header.Add("Cookie", h2)
		}
		twice := false
		for _, n := range names {
			if rawCookieCount(r, n) > 1 || len(r.CookiesNamed(n)) > 1 {
				twice = true
			}
		}
		err := cfg.CheckCookies(r)
		if twice != (err != nil) {
			t.Fatalf("a cookie named twice: %v, CheckCookies: %v", twice, err)
		}
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("refusal is %v", err)
			}
			return
		}
		v, err := cfg.DeviceCookie(r)
		if err != nil {
			t.Fatalf("CheckCookies passed, DeviceCookie refused: %v", err)
		}
		if cs := r.CookiesNamed(cfg.DeviceCookieName()); len(cs) == 1 && cs[0].Value != v || len(cs) == 0 && v != "" {
			t.Fatalf("DeviceCookie returned %q, header holds %v", v, cs)
		}
	})
}
