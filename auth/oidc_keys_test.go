package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
)

// algsOf maps each published kid to its algorithm.
func algsOf(t *testing.T, k *auth.Keys) map[string]string {
	t.Helper()
	j, err := k.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var doc token.JWKS
	if err := json.Unmarshal(j.Body, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, key := range doc.Keys {
		out[key.KID] = string(key.Alg)
	}
	return out
}

// TestIDTokenKeyFamilies: with an RS256 family beside EdDSA, a fresh key
// set publishes one active key of each; access tokens stay EdDSA; a
// rotation schedules a next key in each family; revoking the active RS256
// key replaces it with an RS256 key at once (EdDSA untouched); an
// unsupported family is refused at start.
func TestIDTokenKeyFamilies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c := newTestClock()
		core := auth.NewCore(db, slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
		core.Now = c.Now
		k, err := auth.NewKeys(core, auth.KeysConfig{Issuer: testIssuer, KEK: testKEK, IDTokenAlgs: []token.Alg{token.RS256},
			PublishAhead: time.Hour, RotationPeriod: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := k.IDTokenAlgs(); len(got) != 2 || got[0] != "EdDSA" || got[1] != "RS256" {
			t.Fatalf("IDTokenAlgs %v", got)
		}
		algs := algsOf(t, k)
		byAlg := map[string]string{}
		for kid, a := range algs {
			byAlg[a] = kid
		}
		if len(algs) != 2 || byAlg["EdDSA"] == "" || byAlg["RS256"] == "" {
			t.Fatalf("fresh JWKS %v", algs)
		}
		tok, _, err := k.IssueAccessToken(ctx, token.Claims{Subject: "u", ClientID: "gatehouse"})
		if err != nil || kidOf(t, tok) != byAlg["EdDSA"] {
			t.Fatalf("access token kid %v, %v", kidOf(t, tok), err)
		}

		if _, err := k.Rotate(ctx, false, "test"); err != nil {
			t.Fatal(err)
		}
		if n := len(algsOf(t, k)); n != 4 {
			t.Fatalf("after a scheduled rotation: %d keys, want a next key in each family", n)
		}
		if statusOf(t, k, byAlg["RS256"]) != gatehouse.KeyActive {
			t.Fatal("the RS256 key stopped signing before its successor's time")
		}

		if err := k.Revoke(ctx, byAlg["RS256"], "test"); err != nil {
			t.Fatal(err)
		}
		var rsActive, edActive int
		for _, ki := range must(k.List(ctx)) {
			if ki.Status == gatehouse.KeyActive {
				switch ki.Alg {
				case "RS256":
					rsActive++
				case "EdDSA":
					edActive++
				}
			}
		}
		if rsActive != 1 || edActive != 1 || statusOf(t, k, byAlg["EdDSA"]) != gatehouse.KeyActive {
			t.Fatalf("after revoking the RS256 key: %d RS256 and %d EdDSA active", rsActive, edActive)
		}

		if _, err := auth.NewKeys(core, auth.KeysConfig{Issuer: testIssuer, KEK: testKEK, IDTokenAlgs: []token.Alg{"HS256"}}); err == nil {
			t.Fatal("an HS256 family was accepted")
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
