package gatehouse_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// TestHasRedirectURI: redirect URIs match as exact strings, except that a
// registered http://127.0.0.1… or http://[::1]… URI matches any port (RFC
// 8252 section 7.3); everything else, path and query included, must match,
// and localhost gets no exception.
func TestHasRedirectURI(t *testing.T) {
	c := &gatehouse.Client{RedirectURIs: []string{
		"https://app.example.com/cb?tenant=1",
		"http://127.0.0.1/cb",
		"http://[::1]:8080/native?x=1",
		"http://localhost:3000/cb",
		"http://127.0.0.1",
	}}
	for _, tc := range []struct {
		uri  string
		want bool
	}{
		{"https://app.example.com/cb?tenant=1", true},
		{"https://app.example.com/cb", false},
		{"https://app.example.com/cb?tenant=1&x=2", false},
		{"https://app.example.com:8443/cb?tenant=1", false}, // https gets no port exception
		{"https://APP.example.com/cb?tenant=1", false},
		// 127.0.0.1: any port, the rest exactly.
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:51234/cb", true},
		{"http://127.0.0.1:1/cb", true},
		{"http://127.0.0.1:65535/cb", true},
		{"http://127.0.0.1:51234", true}, // the registered http://127.0.0.1
		{"http://127.0.0.1:51234/", false},
		{"http://127.0.0.1:51234/cb/", false},
		{"http://127.0.0.1:51234/CB", false},
		{"http://127.0.0.1:51234/cb?x=1", false},
		{"http://127.0.0.1:51234/cb#x", false},
		{"http://127.0.0.1:0/cb", false},
		{"http://127.0.0.1:65536/cb", false},
		{"http://127.0.0.1:123456/cb", false},
		{"http://127.0.0.1:/cb", false},
		{"http://127.0.0.1:80a/cb", false},
		{"http://127.0.0.1.evil.com/cb", false},
		{"http://127.0.0.1.evil.com:80/cb", false},
		{"http://127.0.0.1:80@evil.com/cb", false},
		{"http://user@127.0.0.1:80/cb", false},
		{"http://127.0.0.1%2eevil.com/cb", false},
		{"https://127.0.0.1:51234/cb", false},
		{"HTTP://127.0.0.1:51234/cb", false},
		{"http://127.0.0.2:51234/cb", false},
		{"http://[::1]:51234/cb", false},
		// [::1]: any port, the rest exactly.
		{"http://[::1]:8080/native?x=1", true},
		{"http://[::1]/native?x=1", true},
		{"http://[::1]:9/native?x=1", true},
		{"http://[::1]:9/native?x=2", false},
		{"http://[::1]:9/native", false},
		{"http://[0:0:0:0:0:0:0:1]:9/native?x=1", false},
		{"http://127.0.0.1:8080/native?x=1", false},
		// localhost: exact only.
		{"http://localhost:3000/cb", true},
		{"http://localhost:3001/cb", false},
		{"http://localhost/cb", false},
		{"", false},
	} {
		if got := c.HasRedirectURI(tc.uri); got != tc.want {
			t.Errorf("HasRedirectURI(%q) = %v, want %v", tc.uri, got, tc.want)
		}
	}
}

// FuzzHasRedirectURI: a redirect URI that matches a registered one without
// being the same string is the registered loopback URI with another port:
// the same scheme, host, path and query, no user information or fragment.
func FuzzHasRedirectURI(f *testing.F) {
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1:8080/cb")
	f.Add("http://[::1]:9/x?y=1", "http://[::1]/x?y=1")
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1:80@evil.com/cb")
	f.Add("http://127.0.0.1", "http://127.0.0.1.evil.com")
	f.Fuzz(func(t *testing.T, registered, uri string) {
		c := &gatehouse.Client{RedirectURIs: []string{registered}}
		if !c.HasRedirectURI(uri) || uri == registered {
			return
		}
		r, err1 := url.Parse(registered)
		u, err2 := url.Parse(uri)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q matched %q, which does not parse: %v %v", uri, registered, err1, err2)
		}
		if u.Scheme != "http" || r.Scheme != "http" || u.Hostname() != r.Hostname() || !(u.Hostname() == "127.0.0.1" || u.Hostname() == "::1") ||
			u.User != nil || u.Fragment != "" || u.Path != r.Path || u.RawQuery != r.RawQuery || u.Opaque != "" {
			t.Fatalf("%q matched %q", uri, registered)
		}
	})
}
