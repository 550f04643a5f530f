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
