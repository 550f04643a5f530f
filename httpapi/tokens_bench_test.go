package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/token"
)

// BenchmarkJWTAuthenticatedGET is BenchmarkMiddlewareAuthenticatedGET with
// the real bearer authenticator: an EdDSA access token verified against the
// key service's snapshot (no store access). Compare with BenchmarkBareHandler.
func BenchmarkJWTAuthenticatedGET(b *testing.B) {
	e := benchEnv(b)
	kek, _ := kms.NewLocal(bytes.Repeat([]byte{3}, 32))
	keys, err := auth.NewKeys(auth.NewCore(testdb.SQLite(b), e.s.log), auth.KeysConfig{Issuer: "https://auth.example.com", KEK: kek})
	if err != nil {
		b.Fatal(err)
	}
	if err := keys.Tick(context.Background()); err != nil {
		b.Fatal(err)
	}
	e.s.auth = BearerAuth{Credentials: &auth.Credentials{Keys: keys}}
	tok, _, err := keys.IssueAccessToken(context.Background(), token.Claims{Subject: gatehouse.NewID(e.s.now()), ClientID: "gatehouse", SessionID: "s1"})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/me", withPattern(e.s.requireAuth(e.s.handle(okJSON))))
	h, err := e.s.middleware(mux)
	if err != nil {
		b.Fatal(err)
	}
	benchServe(b, h, req("GET", "/v1/me", "", "Authorization", "Bearer "+tok, "Origin", "https://app.example.com"))
}
