package postgres_test

import (
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/postgres"
)

func TestMigrateGrants(t *testing.T) {
	t.Parallel()
	pg := testdb.Postgres(t)
	// Again, twice at once: idempotent and safe to race.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = postgres.Migrate(ctx, pg.OwnerURL, testdb.AppRole) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	if err := postgres.CheckSchema(ctx, pg.DB); err != nil {
		t.Errorf("CheckSchema as the app role: %v", err)
	}

	owner, err := sql.Open("pgx", pg.OwnerURL)
	must(t, err)
	defer owner.Close()
	want := map[string]string{
		"users":             "select insert update delete",
		"workspaces":        "select insert update delete",
		"memberships":       "select insert update delete",
		"audit_events":      "select insert",
		"schema_migrations": "select",
	}
	rows, err := owner.QueryContext(ctx, `select tablename,
		has_table_privilege($1, tablename, 'select'), has_table_privilege($1, tablename, 'insert'),
		has_table_privilege($1, tablename, 'update'), has_table_privilege($1, tablename, 'delete'),
		has_table_privilege($1, tablename, 'truncate'), has_table_privilege($1, tablename, 'references')
		from pg_tables where schemaname = current_schema()`, testdb.AppRole)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var table string
		var p [6]bool
		must(t, rows.Scan(&table, &p[0], &p[1], &p[2], &p[3], &p[4], &p[5]))
		var got []string
		for i, name := range []string{"select", "insert", "update", "delete", "truncate", "references"} {
			if p[i] {
				got = append(got, name)
			}
		}
		w, known := want[table]
		if !known {
			w = "select insert update delete"
		}
		if g := strings.Join(got, " "); g != w {
			t.Errorf("%s: app role may %q, want %q", table, g, w)
		}
	}
	must(t, rows.Err())
	// The lookups of 0014: EXECUTE granted to the app role itself, not only
	// through PUBLIC's default, which hardened databases revoke.
	var n int
	must(t, owner.QueryRowContext(ctx, `select count(*) from pg_proc p, aclexplode(p.proacl) a
		where p.proname in ('gatehouse_pat_lookup', 'gatehouse_client_lookup') and a.privilege_type = 'EXECUTE'
		  and a.grantee = (select oid from pg_roles where rolname = $1)`, testdb.AppRole).Scan(&n))
	if n != 2 {
		t.Errorf("the app role holds EXECUTE on %d of the 2 lookup functions", n)
	}
}

func TestMigrateRefusesBadAppRole(t *testing.T) {
	t.Parallel()
	pg := testdb.Postgres(t)
	err := postgres.Migrate(ctx, pg.OwnerURL, "gatehouse_no_such_role")
	if !errors.Is(err, postgres.ErrAppRoleMissing) {
		t.Errorf("missing role: %v, want ErrAppRoleMissing", err)
	}
	if err := postgres.Migrate(ctx, pg.OwnerURL, testdb.OwnerRole); err == nil || !strings.Contains(err.Error(), "must not be the owner") {
		t.Errorf("app role = owner: %v", err)
	}
	var super string
	must(t, pg.DB.SQL().QueryRowContext(ctx, `select rolname from pg_roles where rolsuper limit 1`).Scan(&super))
	if err := postgres.Migrate(ctx, pg.OwnerURL, super); err == nil || !strings.Contains(err.Error(), "NOSUPERUSER") {
		t.Errorf("app role = superuser %q: %v", super, err)
	}
	// Migrations alone (no app role) still work.
	if err := postgres.Migrate(ctx, pg.OwnerURL, ""); err != nil {
		t.Errorf("Migrate without app role: %v", err)
	}
}

func TestOpenHidesPassword(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(ctx, "postgres://u:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=1")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open with a bad address: %v (must fail without the password)", err)
	}
	_, err = postgres.Open(ctx, "postgres://u:s3cret-pw@[::1/x%zz")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open with a malformed URL: %v (must fail without the password)", err)
	}
}
