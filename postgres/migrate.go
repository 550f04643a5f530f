package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/jackc/pgx/v5"
)

// DefaultAppRole is the server's role that `gatehouse migrate` grants to
// when not told otherwise.
const DefaultAppRole = "gatehouse_app"

// ErrAppRoleMissing is matched (errors.Is) by Migrate's error when the
// migrations were applied but the app role does not exist, so nothing could
// be granted to it.
var ErrAppRoleMissing = errors.New("app role does not exist; create it as docs/postgres.md says, then run migrate again")

// Table privileges of the app role, where they differ from
// defaultPrivileges, are declared in the migrations by a comment line
//
//	-- app-role: <table> <privilege>, <privilege>…
//
// (so that an area adding an append-only table says so next to its CREATE
// TABLE, and the test template's hash covers it). schema_migrations, which the
// runner creates, is read-only for the server.
var tablePrivileges = map[string]string{
	"schema_migrations": "select", // serve checks the schema version
}

const appRoleMarker = "-- app-role:"

// declaredPrivileges returns tablePrivileges plus the app-role lines of the
// embedded migrations.
func declaredPrivileges() (map[string]string, error) {
	ms, err := sqlstore.Migrations(Migrations)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(tablePrivileges)
	for _, m := range ms {
		for _, line := range strings.Split(m.SQL, "\n") {
			rest, ok := strings.CutPrefix(strings.TrimSpace(line), appRoleMarker)
			if !ok {
				continue
			}
			table, privs, _ := strings.Cut(strings.TrimSpace(rest), " ")
			var clean []string
			for _, p := range strings.Split(privs, ",") {
				p = strings.ToLower(strings.TrimSpace(p))
				switch p {
				case "select", "insert", "update", "delete":
					clean = append(clean, p)
				default:
					return nil, fmt.Errorf("postgres: migration %s: bad privilege %q in %q", m.Name, p, line)
				}
			}
			if table == "" || len(clean) == 0 {
				return nil, fmt.Errorf("postgres: migration %s: bad line %q", m.Name, line)
			}
			out[table] = strings.Join(clean, ", ")
		}
	}
	return out, nil
}

const defaultPrivileges = "select, insert, update, delete"

// Migrate applies the embedded migrations connected as the owner role
// (ownerURL), then grants appRole what the server needs, every time (so it
// is idempotent and also repairs grants): USAGE on the schema, the table
// privileges above, and USAGE, SELECT on sequences. An empty appRole skips
// the grants. appRole must exist, must not be the owner and must be neither
// superuser nor BYPASSRLS.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	db, err := Open(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SQL().SetMaxOpenConns(2)
	if err := sqlstore.Migrate(ctx, db, Migrations); err != nil {
		return err
	}
	if appRole == "" {
		return nil
	}
	return grantApp(ctx, db.SQL(), appRole)
}

func grantApp(ctx context.Context, db *sql.DB, appRole string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Concurrent GRANTs on one object fail ("tuple concurrently updated"):
	// take the migration lock.
	if _, err := tx.ExecContext(ctx, Dialect.MigrationLock); err != nil {
		return fmt.Errorf("postgres: grants: %w", err)
	}
	var exists, super, bypass bool
	var current, schema string
	err = tx.QueryRowContext(ctx, `select
		exists (select 1 from pg_roles where rolname = $1),
		coalesce((select rolsuper from pg_roles where rolname = $1), false),
		coalesce((select rolbypassrls from pg_roles where rolname = $1), false),
		current_user, current_schema()`, appRole).Scan(&exists, &super, &bypass, &current, &schema)
	if err != nil {
		return fmt.Errorf("postgres: grants: %w", err)
	}
	switch {
	case !exists:
		return fmt.Errorf("postgres: role %q: %w", appRole, ErrAppRoleMissing)
	case appRole == current:
		return fmt.Errorf("postgres: the app role %q must not be the owner role that runs migrate", appRole)
	case super || bypass:
		return fmt.Errorf("postgres: the app role %q must be NOSUPERUSER NOBYPASSRLS", appRole)
	}
	declared, err := declaredPrivileges()
	if err != nil {
		return err
	}
	role := pgx.Identifier{appRole}.Sanitize()
	sch := pgx.Identifier{schema}.Sanitize()

	rows, err := tx.QueryContext(ctx, `select tablename from pg_tables where schemaname = $1 order by tablename`, schema)
	if err != nil {
		return fmt.Errorf("postgres: grants: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: grants: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: grants: %w", err)
	}

	stmts := []string{`grant usage on schema ` + sch + ` to ` + role}
	for _, t := range tables {
		privs, ok := declared[t]
		if !ok {
			privs = defaultPrivileges
		}
		tbl := pgx.Identifier{schema, t}.Sanitize()
		stmts = append(stmts,
			`revoke all on table `+tbl+` from `+role,
			`grant `+privs+` on table `+tbl+` to `+role)
	}
	stmts = append(stmts, `grant usage, select on all sequences in schema `+sch+` to `+role,
		// The one-statement lookups (migration 0014), explicitly: default
		// privileges may have revoked EXECUTE from PUBLIC.
		`grant execute on all functions in schema `+sch+` to `+role)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("postgres: %s: %w", s, err)
		}
	}
	return tx.Commit()
}
