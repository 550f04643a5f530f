package auth

import (
	"context"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// The grant types of the token endpoint (RFC 6749 sections 4 and 6), in one
// list that the token endpoint's dispatch (httpapi), the grants a client may
// be registered for (validSpec) and the discovery document's
// grant_types_supported (RFC 8414 section 2) all read, as Fosite keeps one
// TokenEndpointHandler per grant. A grant is a small handler behind the
// shared steps, which run in this order for every grant:
//
//  1. the grant type is known (else unsupported_grant_type, whoever asks);
//  2. the client authenticates, under the token endpoint's limits
//     (httpapi): with its secret, or, when the grant allows public
//     clients, a public client with its client_id alone;
//  3. the client is registered for the grant (else unauthorized_client),
//     and a public client uses only a grant that allows public clients;
//  4. a scope parameter, for a grant that takes one, is well-formed and
//     within the client's scopes, plus the OpenID Connect scopes for a
//     grant that acts for a person (else invalid_scope);
//  5. the grant's handler.
//
// Steps 3 to 5 are (*OAuth).Token, the only caller of a handler; a new grant
// (device code, token exchange) is one more entry here and cannot skip them.

// TokenParams are a token request's parameters (the form body); url.Values
// is one.
type TokenParams interface{ Get(key string) string }

// Grant is one grant type of the token endpoint.
type Grant struct {
	// Type is the grant_type value.
	Type string
	// Public reports whether a public client (no secret, RFC 6749 section
	// 2.1) may use the grant, naming itself with client_id alone.
	Public bool
	// Scoped reports whether the token request takes a scope parameter
	// (RFC 6749 sections 4.4.2 and 6); the shared scope check reads it.
	Scoped bool
	// Person reports whether the grant acts for a person, so that its scope
	// may also hold the OpenID Connect scopes (oidc.go), which no client
	// registers.
	Person bool
	// handle runs the grant for an authenticated client registered for it.
	handle func(ctx context.Context, o *OAuth, c *gatehouse.Client, p TokenParams) (*IssuedGrant, error)
}

// grants is the registry, in the order discovery lists it.
var grants = []Grant{
	{Type: gatehouse.GrantAuthorizationCode, Public: true, Person: true,
		handle: func(ctx context.Context, o *OAuth, c *gatehouse.Client, p TokenParams) (*IssuedGrant, error) {
			return o.ExchangeCode(ctx, c, p.Get("code"), p.Get("redirect_uri"), p.Get("code_verifier"))
		}},
	{Type: gatehouse.GrantClientCredentials, Scoped: true,
		handle: func(ctx context.Context, o *OAuth, c *gatehouse.Client, p TokenParams) (*IssuedGrant, error) {
			it, err := o.ClientCredentials(ctx, c, p.Get("scope"))
			if err != nil {
				return nil, err
			}
			return &IssuedGrant{IssuedToken: *it}, nil // no refresh token (section 4.4.3)
		}},
	{Type: gatehouse.GrantRefreshToken, Public: true, Scoped: true, Person: true,
		handle: func(ctx context.Context, o *OAuth, c *gatehouse.Client, p TokenParams) (*IssuedGrant, error) {
			return o.RefreshGrant(ctx, c, p.Get("refresh_token"), p.Get("scope"))
		}},
}

// GrantTypes returns the registry's grant types, in its order: the grants a
// client may be registered for and that discovery advertises.
func GrantTypes() []string {
	out := make([]string, len(grants))
	for i, g := range grants {
		out[i] = g.Type
	}
	return out
}

// PublicGrantTypes returns the grant types a public client may use.
func PublicGrantTypes() []string {
	var out []string
	for _, g := range grants {
		if g.Public {
			out = append(out, g.Type)
		}
	}
	return out
}

// LookupGrant returns the grant of grant_type gt: invalid_request when gt is
// empty, unsupported_grant_type when no grant has that type (password is
// never one: RFC 9700 section 2.4).
func LookupGrant(gt string) (*Grant, error) {
	if gt == "" {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "grant_type is required")
	}
	for i := range grants {
		if grants[i].Type == gt {
			return &grants[i], nil
		}
	}
	return nil, gatehouse.Errorf(gatehouse.EUnsupportedGrantType, "the supported grant types are %s", strings.Join(GrantTypes(), ", "))
}

// Token runs grant g for client c, authenticated as g allows: the shared
// steps 3 and 4 above, then g's handler.
func (o *OAuth) Token(ctx context.Context, g *Grant, c *gatehouse.Client, p TokenParams) (*IssuedGrant, error) {
	if g == nil || g.handle == nil {
		return nil, gatehouse.Errorf(gatehouse.EUnsupportedGrantType, "the supported grant types are %s", strings.Join(GrantTypes(), ", "))
	}
	if !c.HasGrant(g.Type) || (c.Public && !g.Public) {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorizedClient, "the client is not registered for the %s grant", g.Type)
	}
	if scope := p.Get("scope"); g.Scoped && scope != "" {
		check := clientScope
		if g.Person {
			check = personScope
		}
		if _, err := check(c, scope); err != nil {
			return nil, err
		}
	}
	return g.handle(ctx, o, c, p)
}
