package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// BenchmarkClientCredentials is the work of one token request after the
// HTTP layer: client authentication (one read transaction, SHA-256, a
// constant-time comparison), signing the access token, and the token.issued
// event (one write transaction). BenchmarkIntrospect is an introspection of
// a client's access token (signature check, cached after the first, and one
// read transaction that the client still exists).
func BenchmarkClientCredentials(b *testing.B) {
	for name, open := range map[string]func(testing.TB) *sqlstore.DB{
		"sqlite":   func(tb testing.TB) *sqlstore.DB { return testdb.SQLite(tb) },
		"postgres": func(tb testing.TB) *sqlstore.DB { return testdb.Postgres(tb).DB },
	} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			f := newOAuthFixture(b, open(b))
			now := time.Now().UTC()
			u := &gatehouse.User{ID: gatehouse.NewID(now), Email: "alice@example.com", Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
			if err := f.core.Store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
				b.Fatal(err)
			}
			alice := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: u.ID, SessionID: testdb.NewSession(b, f.core.Store, u.ID)}
			w, err := f.ws.Create(ctx, alice, "Acme")
			if err != nil {
				b.Fatal(err)
			}
			cc, err := f.clients.Create(ctx, alice, w.ID, auth.ClientSpec{Name: "bench", Scopes: []string{"audit:read"}})
			if err != nil {
				b.Fatal(err)
			}
			secret := cc.Secret.Reveal()
			b.Run("TokenRequest", func(b *testing.B) {
				for b.Loop() {
					c, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, cc.Client.ClientID, secret)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := f.oauth.ClientCredentials(ctx, c, ""); err != nil {
						b.Fatal(err)
					}
				}
			})
			it, err := f.oauth.ClientCredentials(ctx, cc.Client, "")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("Introspect", func(b *testing.B) {
				for b.Loop() {
					in, err := f.oauth.Introspect(ctx, cc.Client, it.AccessToken)
					if err != nil || !in.Active {
						b.Fatal(in, err)
					}
				}
			})
		})
	}
}
