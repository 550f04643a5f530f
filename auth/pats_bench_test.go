package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// BenchmarkPATAuthenticate is a whole PAT check: format and checksum,
// SHA-256, and the store look-up (one transaction; last_used_at is written at
// most once a minute, so not in the steady state measured here).
// BenchmarkBareTx, one trivial read in a transaction on the same store, is
// its baseline: report PATAuthenticate ÷ BareTx.
func BenchmarkPATAuthenticate(b *testing.B) {
	for name, open := range map[string]func(testing.TB) *sqlstore.DB{
		"sqlite":   func(tb testing.TB) *sqlstore.DB { return testdb.SQLite(tb) },
		"postgres": func(tb testing.TB) *sqlstore.DB { return testdb.Postgres(tb).DB },
	} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			f := newFixture(open(b))
			pats := &auth.PATs{Core: f.core}
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
			cr, err := pats.Create(ctx, alice, w.ID, "bench", nil, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			secret := cr.Token.Reveal()
			if _, err := pats.Authenticate(ctx, secret); err != nil { // first use writes last_used_at
				b.Fatal(err)
			}
			b.Run("PATAuthenticate", func(b *testing.B) {
				for b.Loop() {
					if _, err := pats.Authenticate(ctx, secret); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("BareTx", func(b *testing.B) {
				for b.Loop() {
					err := f.core.Store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
						_, err := tx.SigningKeysVersion(ctx)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
