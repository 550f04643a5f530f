// Package testdb opens real, migrated gatehouse stores for tests: SQLite in
// t.TempDir() and PostgreSQL in a fresh database per call, connected as the
// server's role (NOSUPERUSER NOBYPASSRLS, owns nothing), so tests see what
// row-level security lets the server see.
//
// PostgreSQL comes from GATEHOUSE_TEST_POSTGRES (an admin URL; default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). When it
// cannot be reached the test is skipped, unless
// GATEHOUSE_TEST_REQUIRE_SERVICES=1, which makes it fail.
package testdb

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/sqlite"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// SQLite returns a migrated SQLite store in a temporary directory, closed
// when the test ends.
func SQLite(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := sqlite.Migrate(ctx, db); err != nil {
		tb.Fatalf("testdb: migrate sqlite: %v", err)
	}
	return db
}

// Each runs fn as a subtest per backend: "sqlite" and "postgres" (the
// latter skipped when PostgreSQL is unreachable, see the package doc).
func Each(t *testing.T, fn func(t *testing.T, s *sqlstore.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t).DB) })
}

// NewSession stores a live session of userID (as a sign-in would) and
// returns its id, for tests that build a person's principal or access token
// without going through sign-in: credential changes check that the session
// behind an access token is still live.
func NewSession(tb testing.TB, s gatehouse.Store, userID string) string {
	tb.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	sess := &gatehouse.Session{ID: gatehouse.NewID(now), UserID: userID, Method: gatehouse.MethodPassword,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(24 * time.Hour), RefreshHash: make([]byte, 32),
		AMR: []string{"pwd"}, AuthTime: now}
	if _, err := rand.Read(sess.RefreshHash); err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateSession(ctx, sess) }); err != nil {
		tb.Fatalf("testdb: session: %v", err)
	}
	return sess.ID
}
