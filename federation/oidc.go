package federation

import (
	"context"
	"fmt"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-auth/gatehouse"
	"golang.org/x/oauth2"
)

// oidcConnector is an upstream OpenID Connect provider: the authorization-
// code flow with PKCE S256 (RFC 7636) and the id_token checked as OpenID
// Connect Core 1.0 section 3.1.3.7 says, by go-oidc: the signature with a key
// of the provider's JWKS (refetched when an unknown kid appears), iss equal
// to the discovered issuer, aud holding our client_id, exp in the future;
// then here: azp, when present, equal to our client_id, and nonce equal to
// the one this sign-in sent.
type oidcConnector struct {
	http     *http.Client
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	clientID string
}

func newOIDC(ctx context.Context, hc *http.Client, p *gatehouse.Provider, secret string) (*oidcConnector, error) {
	if err := CheckURL(p.Issuer); err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, hc)
	prov, err := oidc.NewProvider(ctx, p.Issuer) // discovery; checks that the document's issuer is p.Issuer
	if err != nil {
		return nil, fmt.Errorf("federation: discovery of %s: %w", p.Issuer, err)
	}
	ep := prov.Endpoint()
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := prov.Claims(&doc); err != nil {
		return nil, fmt.Errorf("federation: discovery of %s: %w", p.Issuer, err)
	}
	for _, u := range []string{ep.AuthURL, ep.TokenURL} {
		if err := CheckURL(u); err != nil {
			return nil, fmt.Errorf("federation: discovered endpoint: %w", err)
		}
	}
	if err := checkFetchURL(doc.JWKSURI); err != nil {
		return nil, fmt.Errorf("federation: discovered jwks_uri: %w", err)
	}
	scopes := append([]string{oidc.ScopeOpenID}, p.Scopes...)
	if len(p.Scopes) == 0 {
		scopes = append(scopes, "email", "profile")
	}
	return &oidcConnector{
		http:     hc,
		oauth:    oauth2.Config{ClientID: p.ClientID, ClientSecret: secret, Endpoint: ep, Scopes: scopes},
		verifier: prov.Verifier(&oidc.Config{ClientID: p.ClientID}),
		clientID: p.ClientID,
	}, nil
}

func (c *oidcConnector) AuthURL(req gatehouse.AuthRequest) string {
	cfg := c.oauth
	cfg.RedirectURL = req.RedirectURI
	return cfg.AuthCodeURL(req.State, oidc.Nonce(req.Nonce), oauth2.S256ChallengeOption(req.Verifier))
}

var errUpstream = gatehouse.Errorf(gatehouse.EInvalidGrant, "the provider's answer could not be verified")

func (c *oidcConnector) Identity(ctx context.Context, code string, req gatehouse.AuthRequest) (*gatehouse.UpstreamIdentity, error) {
	ctx = oidc.ClientContext(ctx, c.http)
	cfg := c.oauth
	cfg.RedirectURL = req.RedirectURI
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(req.Verifier))
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EInvalidGrant, err, "the provider refused the authorization code")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, gatehouse.Errorf(gatehouse.EInvalidGrant, "the provider sent no id_token")
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EInvalidGrant, err, "the provider's id_token is not valid")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
		AZP           string `json:"azp"`
		Nonce         string `json:"nonce"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, gatehouse.Wrap(gatehouse.EInvalidGrant, err, "the provider's id_token is not valid")
	}
	// OpenID Connect Core 3.1.3.7, steps 4 and 5: azp, when present, names us.
	if claims.AZP != "" && claims.AZP != c.clientID {
		return nil, gatehouse.Errorf(gatehouse.EInvalidGrant, "the provider's id_token was issued to another client")
	}
	// Step 11: the nonce is the one this sign-in sent (constant time: it
	// is derived from the browser's binding).
	if !equal(claims.Nonce, req.Nonce) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidGrant, "the provider's id_token does not carry this sign-in's nonce")
	}
	if idt.Subject == "" {
		return nil, errUpstream
	}
	return &gatehouse.UpstreamIdentity{Subject: idt.Subject, Email: claims.Email, EmailVerified: verifiedClaim(claims.EmailVerified), Name: claims.Name}, nil
}

// verifiedClaim reads email_verified, a boolean (some providers send the
// string "true").
func verifiedClaim(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}
