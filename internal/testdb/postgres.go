package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/postgres"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The roles the harness creates (if missing) in the test cluster.
const (
	OwnerRole = "gatehouse_test_owner" // owns the test databases and tables, runs migrations
	AppRole   = "gatehouse_test_app"   // the server's role: LOGIN NOSUPERUSER NOBYPASSRLS, owns nothing
)

// DefaultAdminURL is used when GATEHOUSE_TEST_POSTGRES is not set.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PG is a fresh PostgreSQL database for one test.
type PG struct {
	// DB is the store connected as AppRole, as `serve` would be.
	DB *sqlstore.DB
	// Name is the database's name.
	Name string
	// OwnerURL connects to this database as OwnerRole (migrations);
	// AppURL as AppRole.
	OwnerURL, AppURL string
}

var (
	setupOnce sync.Once
	setup     struct {
		admin    *sql.DB
		adminURL *url.URL
		template string
		skip     error // PostgreSQL unreachable
		err      error // anything else: a failure
	}
)

// Postgres creates a database for this test from a template migrated once
// per set of migrations (shared by test processes), opens it as AppRole, and
// drops it when the test ends.
func Postgres(tb testing.TB) *PG {
	tb.Helper()
	setupOnce.Do(doSetup)
	if setup.skip != nil {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("testdb: PostgreSQL required (GATEHOUSE_TEST_REQUIRE_SERVICES=1): %v", setup.skip)
		}
		tb.Skipf("testdb: PostgreSQL unavailable (set GATEHOUSE_TEST_POSTGRES): %v", setup.skip)
	}
	if setup.err != nil {
		tb.Fatalf("testdb: PostgreSQL setup: %v", setup.err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("gh_test_%d_%s", time.Now().Unix(), randHex(6))
	if err := createFromTemplate(ctx, name); err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	pg := &PG{Name: name, OwnerURL: roleURL(OwnerRole, name), AppURL: roleURL(AppRole, name)}
	tb.Cleanup(func() {
		if pg.DB != nil {
			pg.DB.Close()
		}
		if _, err := setup.admin.ExecContext(context.Background(),
			`drop database if exists `+pgx.Identifier{name}.Sanitize()+` with (force)`); err != nil {
			tb.Errorf("testdb: drop %s: %v", name, err)
		}
	})
	db, err := postgres.Open(ctx, pg.AppURL)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	pg.DB = db
	return pg
}

func adminURLString() string {
	if u := os.Getenv("GATEHOUSE_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultAdminURL
}

func roleURL(role, dbname string) string {
	u := *setup.adminURL
	u.User = url.User(role)
	u.Path = "/" + dbname
	return u.String()
}

func doSetup() {
	u, err := url.Parse(adminURLString())
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		setup.err = errors.New("GATEHOUSE_TEST_POSTGRES must be a postgres:// URL")
		return
	}
	setup.adminURL = u
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		setup.err = errors.New("GATEHOUSE_TEST_POSTGRES cannot be parsed")
		return
	}
	cfg.ConnectTimeout = 3 * time.Second
	admin := stdlib.OpenDB(*cfg)
	admin.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = admin.PingContext(ctx)
	cancel()
	if err != nil {
		admin.Close()
		setup.skip = err
		return
	}
	setup.admin = admin
	setup.err = prepare(context.Background(), admin)
}

// prepare creates the roles and the template database, under an advisory
// lock so that concurrent test processes do it once.
func prepare(ctx context.Context, admin *sql.DB) error {
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const lockKey = 7340318425570262
	if _, err := conn.ExecContext(ctx, `select pg_advisory_lock($1)`, lockKey); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `select pg_advisory_unlock($1)`, lockKey)

	for _, role := range []string{OwnerRole, AppRole} {
		var exists bool
		if err := conn.QueryRowContext(ctx, `select exists (select 1 from pg_roles where rolname = $1)`, role).Scan(&exists); err != nil {
			return err
		}
		r := pgx.Identifier{role}.Sanitize()
		if !exists {
			if _, err := conn.ExecContext(ctx, `create role `+r+` login nosuperuser nobypassrls nocreatedb nocreaterole`); err != nil {
				return fmt.Errorf("create role %s: %w", role, err)
			}
		} else if _, err := conn.ExecContext(ctx, `alter role `+r+` login nosuperuser nobypassrls`); err != nil {
			return fmt.Errorf("alter role %s: %w", role, err)
		}
	}

	if err := sweep(ctx, conn); err != nil {
		return err
	}

	sum, err := migrationsHash()
	if err != nil {
		return err
	}
	tmpl := "gh_tmpl_" + sum
	var exists, isTemplate bool
	err = conn.QueryRowContext(ctx, `select true, datistemplate from pg_database where datname = $1`, tmpl).Scan(&exists, &isTemplate)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	t := pgx.Identifier{tmpl}.Sanitize()
	if exists && !isTemplate { // left half-made by a crashed run
		if _, err := conn.ExecContext(ctx, `drop database `+t+` with (force)`); err != nil {
			return err
		}
	}
	if !isTemplate {
		if _, err := conn.ExecContext(ctx, `create database `+t+` owner `+pgx.Identifier{OwnerRole}.Sanitize()); err != nil {
			return fmt.Errorf("create template: %w", err)
		}
		if err := postgres.Migrate(ctx, roleURL(OwnerRole, tmpl), AppRole); err != nil {
			return fmt.Errorf("migrate template: %w", err)
		}
		// No connection may remain on a template that is copied; is_template
		// marks it complete.
		if _, err := conn.ExecContext(ctx, `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, tmpl); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, `alter database `+t+` is_template true allow_connections false`); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`comment on database %s is 'gatehouse test template, made %d'`, t, time.Now().Unix())); err != nil {
			return err
		}
	}
	setup.template = tmpl
	return nil
}

// Databases left behind by test processes that were killed: test databases
// older than staleTest, templates not made for a day (other worktrees may
// still use newer ones).
const (
	staleTest     = 2 * time.Hour
	staleTemplate = 24 * time.Hour
)

func sweep(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `select datname, coalesce(shobj_description(oid, 'pg_database'), '')
		from pg_database where datname like 'gh\_test\_%' or datname like 'gh\_tmpl\_%'`)
	if err != nil {
		return err
	}
	var stale []string
	now := time.Now()
	for rows.Next() {
		var name, comment string
		if err := rows.Scan(&name, &comment); err != nil {
			rows.Close()
			return err
		}
		var made int64
		if rest, ok := strings.CutPrefix(name, "gh_test_"); ok {
			if _, err := fmt.Sscanf(rest, "%d_", &made); err == nil && now.Sub(time.Unix(made, 0)) > staleTest {
				stale = append(stale, name)
			}
		} else if _, err := fmt.Sscanf(comment, "gatehouse test template, made %d", &made); err == nil &&
			now.Sub(time.Unix(made, 0)) > staleTemplate {
			stale = append(stale, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range stale {
		n := pgx.Identifier{name}.Sanitize()
		// A template must stop being one before it can be dropped.
		conn.ExecContext(ctx, `alter database `+n+` is_template false`)
		if _, err := conn.ExecContext(ctx, `drop database if exists `+n+` with (force)`); err != nil {
			return fmt.Errorf("drop stale %s: %w", name, err)
		}
	}
	return nil
}

// migrationsHash names the template after the migrations it was made from,
// so worktrees with different migrations never share one.
func migrationsHash() (string, error) {
	ms, err := sqlstore.Migrations(postgres.Migrations)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", OwnerRole, AppRole)
	for _, m := range ms {
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00", m.Version, m.Name, m.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func createFromTemplate(ctx context.Context, name string) error {
	q := `create database ` + pgx.Identifier{name}.Sanitize() +
		` template ` + pgx.Identifier{setup.template}.Sanitize() +
		` owner ` + pgx.Identifier{OwnerRole}.Sanitize()
	var err error
	for i := 0; i < 20; i++ {
		if _, err = setup.admin.ExecContext(ctx, q); err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("create database %s: %w", name, err)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
