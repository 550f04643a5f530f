package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestOIDCWithGoOIDC signs a person in to a relying party built from other
// people's libraries, golang.org/x/oauth2 and github.com/coreos/go-oidc,
// against the real handler over TLS: provider discovery (the issuer must
// match), the code flow with PKCE and a nonce, IDTokenVerifier (signature
// from the JWKS, iss, aud, exp, nonce) and the at_hash check, UserInfo, and
// a refresh whose id_token verifies too. It runs for the default (EdDSA)
// id_token and for a client that registered RS256.
func TestOIDCWithGoOIDC(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		srv := httptest.NewUnstartedServer(nil)
		issuer := "https://" + srv.Listener.Addr().String()
		e := newEnv(t, withPublicURL(issuer), withSessions(t, db, t.TempDir()),
			withCookieMode(t, CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: 720 * time.Hour}),
			func(c *Config, d *Deps) {
				core := auth.NewCore(db, d.Logger)
				d.Clients = &auth.Clients{Core: core}
				d.OAuth = &auth.OAuth{Core: core, Keys: d.Keys, Sessions: d.Sessions}
				c.CORSOrigins = []string{"https://app.example.com"}
			})
		srv.Config.Handler = e.s
		srv.StartTLS()
		defer srv.Close()
		ctx := oidc.ClientContext(context.Background(), srv.Client())

		br := &browser{t: t, h: e.s, jar: map[string]string{}}
		origin := []string{"Origin", issuer}
		if w := br.send("POST", "/v1/auth/signup", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`, origin...); w.Code != 201 {
			t.Fatalf("signup: %d %s", w.Code, w.Body)
		}
		w := br.send("POST", "/v1/auth/token", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`, origin...)
		bearer, _ := jsonOf(t, w)["access_token"].(string)
		w = br.send("POST", "/v1/workspaces", "application/json", `{"name":"acme"}`, append(origin, "Authorization", "Bearer "+bearer)...)
		wsID, _ := jsonOf(t, w)["id"].(string)

		provider, err := oidc.NewProvider(ctx, issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		for _, alg := range []string{"", "RS256"} {
			const cb = "https://app.example.com/cb"
			w = br.send("POST", "/v1/workspaces/"+wsID+"/clients", "application/json",
				`{"name":"rp","public":true,"redirect_uris":["`+cb+`"],"id_token_signed_response_alg":"`+alg+`"}`,
				append(origin, "Authorization", "Bearer "+bearer)...)
			client := jsonOf(t, w)
			clientID, _ := client["client_id"].(string)
			conf := oauth2.Config{ClientID: clientID, RedirectURL: cb, Scopes: []string{oidc.ScopeOpenID, "email"},
				Endpoint: provider.Endpoint()}
			conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client: client_id in the body
			verifier, nonce := oauth2.GenerateVerifier(), "nonce-"+alg
			authURL := conf.AuthCodeURL("st", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
			u, _ := url.Parse(authURL)
			w = br.send("GET", u.RequestURI(), "", "")
			if w.Code != 200 {
				t.Fatalf("authorize %s: %d %s", alg, w.Code, w.Body)
			}
			fields := consentForm(t, w.Body.String())
			fields.Set("decision", "approve")
			w = br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", fields.Encode(), origin...)
			loc, _ := url.Parse(w.Header().Get("Location"))
			if loc.Query().Get("iss") != issuer {
				t.Fatalf("iss %q", loc.Query().Get("iss"))
			}
			tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange %s: %v", alg, err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idv := provider.Verifier(&oidc.Config{ClientID: clientID})
			idt, err := idv.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("IDTokenVerifier %s: %v", alg, err)
			}
			if idt.Nonce != nonce || idt.AccessTokenHash == "" {
				t.Fatalf("nonce %q at_hash %q", idt.Nonce, idt.AccessTokenHash)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Fatalf("at_hash %s: %v", alg, err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken + "x"); err == nil {
				t.Fatal("at_hash matched another access token")
			}
			if h := jwtPart(t, raw, 0); alg != "" && h["alg"] != alg {
				t.Fatalf("alg %v, want %s", h["alg"], alg)
			}
			ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil || ui.Subject != idt.Subject || ui.Email != "ada@example.com" {
				t.Fatalf("UserInfo: %+v %v", ui, err)
			}
			// Refresh through the library: a new id_token that verifies.
			tok.Expiry = time.Now().Add(-time.Minute)
			nt, err := conf.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			raw2, _ := nt.Extra("id_token").(string)
			idt2, err := idv.Verify(ctx, raw2)
			if err != nil || idt2.Subject != idt.Subject || !strings.HasPrefix(nt.AccessToken, "ey") {
				t.Fatalf("refreshed id_token: %v %v", idt2, err)
			}
		}
	})
}
