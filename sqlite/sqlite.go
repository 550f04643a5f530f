// Package sqlite is gatehouse's SQLite store, for `serve --dev` and small
// single-instance installs: the shared SQL layer of package sqlstore over
// modernc.org/sqlite (pure Go, no cgo).
//
// There are no roles and no row-level security in SQLite: workspace
// isolation rests on the workspace_id filter in every query of sqlstore and
// on the checks in package auth. Use PostgreSQL where that is not enough.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the embedded SQLite migrations, NNNN_name.sql.
var Migrations fs.FS = sqlstore.MigrationsDir(migrationFiles, "migrations")

// Dialect is the SQLite dialect of sqlstore.
var Dialect = sqlstore.Dialect{
	Name:      "sqlite",
	ForUpdate: "",
	Classify:  classify,
	// One writer: BEGIN IMMEDIATE (the _txlock DSN parameter) keeps other
	// processes out; in this process transactions wait their turn in Go.
	Serialize: true,
}

func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return gatehouse.ErrConflict
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return gatehouse.ErrNotFound
	}
	return nil
}

// Open opens (creating it if need be) the SQLite database at path in WAL
// mode, with foreign keys on, a busy timeout, and write transactions that
// take the write lock at BEGIN so that a read-modify-write cannot interleave
// with another. It does not migrate: call Migrate (`gatehouse migrate`, or
// `serve --dev` on a fresh file).
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":memory:") {
		return nil, fmt.Errorf("sqlite: %q is not a usable database file path", path)
	}
	dsn := "file:" + path +
		"?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// Transactions run one at a time (Dialect.Serialize); a few more
	// connections serve Ping and the migration runner.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return sqlstore.New(db, Dialect), nil
}

// Migrate applies the embedded migrations that the database lacks.
func Migrate(ctx context.Context, db *sqlstore.DB) error {
	return sqlstore.Migrate(ctx, db, Migrations)
}

// CheckSchema returns an error that says to run `gatehouse migrate` when the
// database lacks a migration of this binary.
func CheckSchema(ctx context.Context, db *sqlstore.DB) error {
	return sqlstore.CheckSchema(ctx, db, Migrations)
}
