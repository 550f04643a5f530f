// Package postgres is gatehouse's PostgreSQL store: the shared SQL layer of
// package sqlstore over pgx v5 (database/sql through pgx's stdlib driver),
// with embedded migrations and row-level security.
//
// Two roles are involved (docs/postgres.md): the owner role runs Migrate and
// owns every table; the server's role (`serve`) owns nothing, is NOSUPERUSER
// NOBYPASSRLS, and is granted only what it needs — SELECT and INSERT on
// audit_events, which makes the audit trail append-only for it.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the embedded PostgreSQL migrations, NNNN_name.sql.
var Migrations fs.FS = sqlstore.MigrationsDir(migrationFiles, "migrations")

// Dialect is the PostgreSQL dialect of sqlstore.
var Dialect = sqlstore.Dialect{
	Name:      "postgres",
	ForUpdate: " FOR UPDATE",
	SetScope:  setScope,
	Classify:  classify,
	// Two `gatehouse migrate` runs take turns.
	MigrationLock: "select pg_advisory_xact_lock(7340318425570261)",
}

// setScope applies a scope in one statement. The settings are
// transaction-local (is_local = true): they end with the transaction, so a
// pooled connection never carries a previous request's scope. Policies read
// them through nullif(…, empty string), so an unset scope field (an empty
// string) fails closed: no rows, no cast error.
func setScope(ctx context.Context, tx *sql.Tx, s gatehouse.Scope) error {
	all := ""
	if s.AllAudit {
		all = "on"
	}
	_, err := tx.ExecContext(ctx, `select set_config('app.workspace_id', $1, true),
		set_config('app.user_id', $2, true), set_config('app.audit_all', $3, true)`,
		s.WorkspaceID, s.UserID, all)
	return err
}

// PostgreSQL error codes (Appendix A of the PostgreSQL manual).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeInvalidText         = "22P02" // e.g. a malformed uuid
)

func classify(err error) error {
	if unavailable(err) {
		return sqlstore.ErrUnavailable
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case codeUniqueViolation:
		return gatehouse.ErrConflict
	case codeForeignKeyViolation, codeInvalidText:
		return gatehouse.ErrNotFound
	}
	return nil
}

// unavailable reports whether err says the database cannot be reached or
// is going away, rather than that a statement was wrong: no connection
// could be made, or the server ended the connection (a restart, a
// failover: SQLSTATE class 08 and 57P01–57P03, PostgreSQL Appendix A), or
// the connection broke under the statement. Such a request is answered
// 503 with Retry-After, not 500 (docs/faults.md).
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	return errors.As(err, &ne) && !ne.Timeout() || errors.Is(err, io.EOF)
}

// Pool limits. Two cores and a database that does ~0.1 ms of work per
// transaction are saturated by a handful of connections; more only queue
// inside PostgreSQL.
const (
	maxOpenConns    = 16
	maxIdleConns    = 16
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// Open connects to url (postgres://…) through pgx and checks that the
// database answers. It does not migrate and does not check the schema (see
// CheckSchema) or the role (see CheckAppRole).
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: do not wrap it.
		return nil, errors.New("postgres: the database URL cannot be parsed")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	return sqlstore.New(db, Dialect), nil
}

// CheckSchema returns an error that says to run `gatehouse migrate` when the
// database lacks a migration of this binary.
func CheckSchema(ctx context.Context, db *sqlstore.DB) error {
	return sqlstore.CheckSchema(ctx, db, Migrations)
}

// CheckAppRole returns an error when the role db is connected as could defeat
// row-level security: a superuser, a role with BYPASSRLS, or one that owns a
// table (owners can turn RLS off). `serve` should run as a role that passes.
func CheckAppRole(ctx context.Context, db *sqlstore.DB) error {
	var name string
	var super, bypass bool
	var owned int
	err := db.SQL().QueryRowContext(ctx, `select r.rolname, r.rolsuper, r.rolbypassrls,
		(select count(*) from pg_class c where c.relowner = r.oid and c.relkind in ('r', 'p'))
		from pg_roles r where r.rolname = current_user`).Scan(&name, &super, &bypass, &owned)
	if err != nil {
		return fmt.Errorf("postgres: check role: %w", err)
	}
	switch {
	case super:
		return fmt.Errorf("postgres: role %q is a superuser, which bypasses row-level security; serve must run as the app role (docs/postgres.md)", name)
	case bypass:
		return fmt.Errorf("postgres: role %q has BYPASSRLS; serve must run as the app role (docs/postgres.md)", name)
	case owned > 0:
		return fmt.Errorf("postgres: role %q owns %d tables and could turn row-level security off; serve must run as the app role (docs/postgres.md)", name, owned)
	}
	return nil
}
