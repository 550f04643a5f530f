package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlite"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

var ctx = context.Background()

func TestMigrationsNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":  {"core.sql": {Data: []byte("select 1")}},
		"zero":       {"0000_x.sql": {Data: []byte("select 1")}},
		"duplicate":  {"0001_a.sql": {Data: []byte("select 1")}, "0001_b.sql": {Data: []byte("select 1")}},
		"not digits": {"00a1_x.sql": {Data: []byte("select 1")}},
	} {
		if _, err := sqlstore.Migrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ms, err := sqlstore.Migrations(fstest.MapFS{
		"0010_b.sql": {Data: []byte("b")}, "0002_a.sql": {Data: []byte("a")}, "README": {Data: []byte("x")},
	})
	if err != nil || len(ms) != 2 || ms[0].Version != 2 || ms[0].Name != "0002_a" || ms[1].Version != 10 || ms[1].SQL != "b" {
		t.Errorf("Migrations = %+v, %v", ms, err)
	}
}

func TestMigrateAndCheckSchema(t *testing.T) {
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	err = sqlite.CheckSchema(ctx, db)
	if !errors.Is(err, sqlstore.ErrSchemaBehind) || !strings.Contains(err.Error(), "gatehouse migrate") {
		t.Fatalf("CheckSchema(empty) = %v, want ErrSchemaBehind naming `gatehouse migrate`", err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := sqlite.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if err := sqlite.CheckSchema(ctx, db); err != nil {
		t.Fatalf("CheckSchema after Migrate = %v", err)
	}
	embedded, err := sqlstore.Migrations(sqlite.Migrations)
	if err != nil || len(embedded) == 0 {
		t.Fatalf("embedded migrations: %v, %v", embedded, err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `select count(*) from schema_migrations`).Scan(&n); err != nil || n != len(embedded) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d (one per migration, applied once)", n, err, len(embedded))
	}

	// A binary with one more migration finds the schema behind, and names it.
	next := fstest.MapFS{"0099_extra.sql": {Data: []byte("create table extra (id text primary key);")}}
	ms, _ := sqlstore.Migrations(sqlite.Migrations)
	for _, m := range ms {
		next[m.Name+".sql"] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	err = sqlstore.CheckSchema(ctx, db, next)
	if !errors.Is(err, sqlstore.ErrSchemaBehind) || !strings.Contains(err.Error(), "0099_extra") {
		t.Fatalf("CheckSchema(behind) = %v", err)
	}
	if err := sqlstore.Migrate(ctx, db, next); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.CheckSchema(ctx, db, next); err != nil {
		t.Fatalf("CheckSchema after the extra migration = %v", err)
	}
}

// TestMigrationFailureRollsBack checks on both backends that a failing
// migration leaves neither its changes nor its version behind.
func TestMigrationFailureRollsBack(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { migrationFailure(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		pg := testdb.Postgres(t)
		owner := ownerStore(t, pg)
		migrationFailure(t, owner)
	})
}

func migrationFailure(t *testing.T, db *sqlstore.DB) {
	bad := fstest.MapFS{"0098_bad.sql": {Data: []byte("create table half (id text); insert into nowhere values (1);")}}
	if err := sqlstore.Migrate(ctx, db, bad); err == nil || !strings.Contains(err.Error(), "0098_bad") {
		t.Fatalf("Migrate(bad) = %v, want an error naming the migration", err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `select count(*) from schema_migrations where version = 98`).Scan(&n); err != nil || n != 0 {
		t.Errorf("failed migration recorded: %d, %v", n, err)
	}
	if _, err := db.SQL().ExecContext(ctx, `select * from half`); err == nil {
		t.Error("the failed migration's table exists")
	}
}
