package auth_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestRedirectURIHosts: a redirect URI is refused at registration unless
// its host is a DNS name or an IP literal, written as is, so that nothing a
// page derives from it (the consent page's CSP form-action) carries
// injected markup or policy.
func TestRedirectURIHosts(t *testing.T) {
	for _, tc := range []struct {
		uri    string
		ok     bool
		origin string
	}{
		{"https://app.example.com/cb", true, "https://app.example.com"},
		{"https://app.example.com:8443/cb?x=1", true, "https://app.example.com:8443"},
		{"https://xn--bcher-kva.example/cb", true, "https://xn--bcher-kva.example"},
		{"https://intranet/cb", true, "https://intranet"},
		{"https://a-b.c0.example.com/", true, "https://a-b.c0.example.com"},
		{"https://192.0.2.1/cb", true, "https://192.0.2.1"},
		{"https://[2001:db8::1]:8443/cb", true, "https://[2001:db8::1]:8443"},
		{"http://127.0.0.1:8080/cb", true, "http://127.0.0.1:8080"},
		{"http://[::1]/cb", true, "http://[::1]"},
		{"http://localhost:3000/", true, "http://localhost:3000"},
		{"https://app.example.com/cb;x=1", true, "https://app.example.com"}, // ; in the path is fine

		// Hostile hosts: the CSP injection of the issue and its cousins.
		{"https://app.example.com;script-src-elem/cb", false, ""},
		{"https://app.example.com;/cb", false, ""},
		{"https://app.example.com%3Bscript-src%20*/cb", false, ""},
		{"https://app.example.com%3B/cb", false, ""},
		{"https://app%2eexample.com/cb", false, ""},
		{`https://app.example.com"/cb`, false, ""},
		{"https://app.example.com'/cb", false, ""},
		{"https://app.example.com%22/cb", false, ""},
		{"https://app.example.com<x>/cb", false, ""},
		{"https://app.example.com%3Cx%3E/cb", false, ""},
		{"https://app example.com/cb", false, ""},
		{"https://app.example.com%20x/cb", false, ""},
		{"https://app.exämple.com/cb", false, ""},
		{"https://app.ex%C3%A4mple.com/cb", false, ""},
		{"https://*.example.com/cb", false, ""},
		{"https://*/cb", false, ""},
		{"https:///cb", false, ""},
		{"https://:443/cb", false, ""},
		{"https://app.example.com:/cb", false, ""},
		{"https://app.example.com:0/cb", false, ""},
		{"https://app.example.com:65536/cb", false, ""},
		{"https://app.example.com:+443/cb", false, ""},
		{"https://app_x.example.com/cb", false, ""},
		{"https://-app.example.com/cb", false, ""},
		{"https://app-.example.com/cb", false, ""},
		{"https://app..example.com/cb", false, ""},
		{"https://app.example.com./cb", false, ""},
		{"https://" + strings.Repeat("a", 64) + ".example.com/cb", false, ""},
		{"https://127.1/cb", false, ""}, // a browser reads it as 127.0.0.1
		{"https://0x7f.0.0.1/cb", false, ""},
		{"https://example.0x1/cb", false, ""},
		{"https://[::1%25eth0]/cb", false, ""},
		{"https://[v1.x]/cb", false, ""},
		{"https://[::ffff:1.2.3.4/cb", false, ""},
		{"https://a.com]/cb", false, ""},
		{"https://a.com\\@b.com/cb", false, ""},
		{"HTTPS://app.example.com/cb", false, ""},
		{"javascript://app.example.com/%0aalert(1)", false, ""},
	} {
		err := auth.ValidRedirectURI(tc.uri)
		if (err == nil) != tc.ok {
			t.Errorf("ValidRedirectURI(%q): %v, want ok %v", tc.uri, err, tc.ok)
		}
		origin, err := auth.RedirectOrigin(tc.uri)
		if (err == nil) != tc.ok || origin != tc.origin {
			t.Errorf("RedirectOrigin(%q) = %q, %v; want %q", tc.uri, origin, err, tc.origin)
		}
	}
}

var safeOrigin = regexp.MustCompile(`^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-fA-F:.]+\](:[0-9]{1,5})?$`)

// FuzzRedirectOrigin: the origin of an accepted redirect URI is its own
// opening and holds nothing but a scheme, a host of letters, digits, dots,
// hyphens (or an IPv6 literal) and a port: no character that could end a
// CSP directive or an attribute.
func FuzzRedirectOrigin(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://127.0.0.1:1/x", "http://[::1]/", "https://a.com;x/", "https://a.com%3Bx/", "https://[::1%25x]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		origin, err := auth.RedirectOrigin(s)
		if err != nil {
			return
		}
		if !safeOrigin.MatchString(origin) || !strings.HasPrefix(s, origin) {
			t.Fatalf("RedirectOrigin(%q) = %q", s, origin)
		}
		if rest := s[len(origin):]; rest != "" && rest[0] != '/' && rest[0] != '?' {
			t.Fatalf("RedirectOrigin(%q) = %q, followed by %q", s, origin, rest)
		}
	})
}

// TestAuthorizationClientRefusesInvalidStoredRedirect: a client stored with
// a redirect URI whose host was never checked (registered before hosts
// were) is refused at the authorization endpoint as an unknown redirect
// (an error page, no redirect, no consent page), while its valid loopback
// URI matches at any port.
func TestAuthorizationClientRefusesInvalidStoredRedirect(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newOAuthFixture(t, s)
		owner := f.user(t, "owner@example.com")
		w, err := f.ws.Create(ctx, owner, "acme")
		if err != nil {
			t.Fatal(err)
		}
		const hostile = "https://app.example.com;script-src-elem/cb"
		now := time.Now()
		c := &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: w.ID, ClientID: "6f1c2d3e-4b5a-4c6d-8e7f-000000000001", Name: "old",
			Grants: []string{gatehouse.GrantAuthorizationCode}, RedirectURIs: []string{hostile, "http://127.0.0.1/cb"}, Public: true,
			CreatedBy: "system", CreatedAt: now}
		if err := s.Tx(ctx, gatehouse.Scope{WorkspaceID: w.ID}, func(tx gatehouse.Tx) error { return tx.CreateClient(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		if _, err := f.oauth.AuthorizationClient(ctx, c.ClientID, hostile); !errors.Is(err, auth.ErrUnknownRedirect) {
			t.Fatalf("stored hostile redirect URI: %v", err)
		}
		if got, err := f.oauth.AuthorizationClient(ctx, c.ClientID, "http://127.0.0.1:51234/cb"); err != nil || got.ClientID != c.ClientID {
			t.Fatalf("loopback at another port: %v", err)
		}
		if _, err := f.oauth.AuthorizationClient(ctx, c.ClientID, "http://127.0.0.1:51234/cb/"); !errors.Is(err, auth.ErrUnknownRedirect) {
			t.Fatalf("loopback with another path: %v", err)
		}
	})
}
