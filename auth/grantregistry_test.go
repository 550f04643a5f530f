package auth

import (
	"context"
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// TestGrantRegistry: the grants a client may be registered for are exactly
// the registry's; a public client may be registered for exactly the grants
// the registry allows public clients; every grant has a handler that
// LookupGrant finds; anything else is unsupported_grant_type.
func TestGrantRegistry(t *testing.T) {
	if len(grants) == 0 || len(ClientGrants) != len(grants) {
		t.Fatalf("ClientGrants %v, registry %v", ClientGrants, GrantTypes())
	}
	uris := []string{"https://app.example.com/cb"}
	for _, g := range grants {
		if g.handle == nil {
			t.Errorf("%s has no handler", g.Type)
		}
		got, err := LookupGrant(g.Type)
		if err != nil || got.Type != g.Type {
			t.Errorf("LookupGrant(%s): %v, %v", g.Type, got, err)
		}
		// The grant alone, or with authorization_code where validSpec
		// needs it (redirect URIs, refresh_token).
		spec := ClientSpec{Name: "x", Grants: []string{g.Type}}
		if g.Type != gatehouse.GrantClientCredentials {
			spec.Grants = append(spec.Grants, gatehouse.GrantAuthorizationCode)
			spec.RedirectURIs = uris
		}
		if _, grantsOut, _, _, err := validSpec(spec); err != nil || !contains(grantsOut, g.Type) {
			t.Errorf("a confidential client for %s: %v %v", g.Type, grantsOut, err)
		}
		spec.Public = true
		_, _, _, _, err = validSpec(spec)
		if g.Public != (err == nil) {
			t.Errorf("a public client for %s (Public %v): %v", g.Type, g.Public, err)
		}
		if contains(PublicGrantTypes(), g.Type) != g.Public {
			t.Errorf("PublicGrantTypes %v and %s", PublicGrantTypes(), g.Type)
		}
	}
	for _, gt := range []string{"password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "Client_Credentials"} {
		if _, err := LookupGrant(gt); gatehouse.ErrorCode(err) != gatehouse.EUnsupportedGrantType {
			t.Errorf("LookupGrant(%s): %v", gt, err)
		}
		if _, _, _, _, err := validSpec(ClientSpec{Name: "x", Grants: []string{gt}}); gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
			t.Errorf("validSpec with grant %s: %v", gt, err)
		}
	}
	if _, err := LookupGrant(""); gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
		t.Errorf("LookupGrant(\"\"): %v", err)
	}
}

// TestTokenSharedSteps: Token refuses, before any handler runs (the OAuth
// has no store or keys, so a handler that ran would panic), a client not
// registered for the grant, a public client on a grant that does not allow
// one, and a scope beyond the client's for a grant that takes a scope.
func TestTokenSharedSteps(t *testing.T) {
	o := &OAuth{}
	ctx := context.Background()
	cc, _ := LookupGrant(gatehouse.GrantClientCredentials)
	code, _ := LookupGrant(gatehouse.GrantAuthorizationCode)
	refresh, _ := LookupGrant(gatehouse.GrantRefreshToken)
	conf := &gatehouse.Client{ClientID: "c", Grants: []string{gatehouse.GrantClientCredentials}, Scopes: []string{"audit:read"}}
	pub := &gatehouse.Client{ClientID: "p", Public: true, Scopes: []string{"audit:read"},
		Grants: []string{gatehouse.GrantAuthorizationCode, gatehouse.GrantClientCredentials, gatehouse.GrantRefreshToken}}
	for _, tc := range []struct {
		name string
		g    *Grant
		c    *gatehouse.Client
		p    url.Values
		want gatehouse.Code
	}{
		{"not registered for the grant", code, conf, url.Values{}, gatehouse.EUnauthorizedClient},
		{"not registered for refresh", refresh, conf, url.Values{}, gatehouse.EUnauthorizedClient},
		{"a public client on client_credentials", cc, pub, url.Values{}, gatehouse.EUnauthorizedClient},
		{"scope beyond the client's", cc, conf, url.Values{"scope": {"workspaces:read"}}, gatehouse.EInvalidScope},
		{"unknown scope", cc, conf, url.Values{"scope": {"root"}}, gatehouse.EInvalidScope},
		{"malformed scope", refresh, pub, url.Values{"scope": {"audit:read  audit:read"}}, gatehouse.EInvalidScope},
		{"no grant", nil, conf, url.Values{}, gatehouse.EUnsupportedGrantType},
	} {
		if _, err := o.Token(ctx, tc.g, tc.c, tc.p); gatehouse.ErrorCode(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}
