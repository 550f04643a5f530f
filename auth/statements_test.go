package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// TestCredentialStatements pins what the credential checks of every API
// call cost PostgreSQL (docs/scaling.md): a PAT and a client are each found
// in one statement (migration 0014's lookups, no transaction), a PAT's use
// is written at most once a minute, client_credentials adds only its audit
// transaction, and a client introspecting its own machine token costs
// nothing beyond its own authentication.
func TestCredentialStatements(t *testing.T) {
	ctx := context.Background()
	db, qc := countingPostgres(t)
	f := newOAuthFixture(t, db)
	alice := f.user(t, "alice@example.com")
	w, err := f.ws.Create(ctx, alice, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	pat, err := f.pats.Create(ctx, alice, w.ID, "ci", nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := f.clients.Create(ctx, alice, w.ID, auth.ClientSpec{Name: "svc", Scopes: []string{"audit:read"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.clients.Create(ctx, alice, w.ID, auth.ClientSpec{Name: "svc2", Scopes: []string{"audit:read"}})
	if err != nil {
		t.Fatal(err)
	}
	count := func(what string, want int64, fn func() error) {
		t.Helper()
		before := qc.n.Load()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := qc.n.Load() - before; n != want {
			t.Errorf("%s sent %d statements, want %d", what, n, want)
		}
	}
	authPAT := func() error { _, err := f.pats.Authenticate(ctx, pat.Token.Reveal()); return err }
	count("a PAT's first use (lookup, then BEGIN, set_config, UPDATE, COMMIT)", 5, authPAT)
	count("a PAT's next use (the lookup)", 1, authPAT)

	var client *gatehouse.Client
	count("a client's authentication (the lookup)", 1, func() error {
		client, err = f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, cr.Client.ClientID, cr.Secret.Reveal())
		return err
	})
	var it *auth.IssuedToken
	count("client_credentials (BEGIN, scope, INSERT audit, COMMIT)", 4, func() error {
		it, err = f.oauth.ClientCredentials(ctx, client, "")
		return err
	})
	count("introspection of the caller's own token", 0, func() error {
		got, err := f.oauth.Introspect(ctx, client, it.AccessToken)
		if err == nil && !got.Active {
			t.Error("own token inactive")
		}
		return err
	})
	otherTok, err := f.oauth.ClientCredentials(ctx, other.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	count("introspection of another client's token (BEGIN, scope, its client, COMMIT)", 4, func() error {
		got, err := f.oauth.Introspect(ctx, client, otherTok.AccessToken)
		if err == nil && !got.Active {
			t.Error("the workspace's other client's token inactive")
		}
		return err
	})
	if err := f.clients.Delete(ctx, alice, w.ID, other.Client.ClientID); err != nil {
		t.Fatal(err)
	}
	if got, err := f.oauth.Introspect(ctx, client, otherTok.AccessToken); err != nil || got.Active {
		t.Fatalf("a deleted client's token: %+v %v, want inactive", got, err)
	}
}
