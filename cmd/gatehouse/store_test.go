package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
)

func readyz(t *testing.T, r *running) map[string]any {
	t.Helper()
	resp, body := r.get(t, "/readyz")
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	v["status_code"] = float64(resp.StatusCode)
	return v
}

// TestServeSQLiteNeedsMigrate: production serve on an unmigrated SQLite file
// refuses to start and says to run `gatehouse migrate`; after migrate it
// serves and is ready.
func TestServeSQLiteNeedsMigrate(t *testing.T) {
	dir := t.TempDir()
	env := prodEnv()
	env["GATEHOUSE_DATABASE_URL"] = "sqlite:" + filepath.Join(dir, "g.db")
	err := run(context.Background(), []string{"serve"}, envOf(env), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "gatehouse migrate") || !strings.HasPrefix(err.Error(), "GATEHOUSE_DATABASE_URL") {
		t.Fatalf("serve on an empty database: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, envOf(env), &out, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res["migrated"] != true || res["database"] != "sqlite" {
		t.Fatalf("migrate printed %q", out.String())
	}
	// Idempotent.
	if err := run(context.Background(), []string{"migrate"}, envOf(env), io.Discard, io.Discard); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	r := start(t, env)
	if v := readyz(t, r); v["status_code"] != 200.0 || v["checks"].(map[string]any)["database"] != "ok" {
		t.Fatalf("/readyz = %v", v)
	}
}

func TestMigrateNeedsDatabaseURL(t *testing.T) {
	err := run(context.Background(), []string{"migrate"}, envOf(nil), io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_DATABASE_URL") {
		t.Fatalf("err = %v", err)
	}
	err = run(context.Background(), []string{"migrate"}, envOf(map[string]string{"GATEHOUSE_DATABASE_URL": "mysql://root:pw@x/y"}), io.Discard, io.Discard)
	if err == nil || strings.Contains(err.Error(), "pw@") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeDevReady(t *testing.T) {
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{}, "--dev")
	if v := readyz(t, r); v["status_code"] != 200.0 {
		t.Fatalf("/readyz = %v", v)
	}
	if _, err := os.Stat("gatehouse-data/gatehouse.db"); err != nil {
		t.Fatalf("no SQLite database: %v", err)
	}
}

// emptyPostgres creates an empty database owned by the test owner role that
// the test app role may connect to, and returns the owner's and the app's
// URLs. It is dropped when the test ends.
func emptyPostgres(t *testing.T) (ownerURL, appURL string) {
	t.Helper()
	testdb.Postgres(t) // skips or fails as the harness does; makes sure the roles exist
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if admin == "" {
		admin = testdb.DefaultAdminURL
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	name := "gh_test_cmd_" + hex.EncodeToString(b)
	ident := pgx.Identifier{name}.Sanitize()
	for _, q := range []string{
		"create database " + ident + " owner " + testdb.OwnerRole,
		"revoke all on database " + ident + " from public",
		"grant connect on database " + ident + " to " + testdb.OwnerRole + ", " + testdb.AppRole,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := db.Exec("drop database if exists " + ident + " with (force)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	u.User = url.User(testdb.OwnerRole)
	ownerURL = u.String()
	u.User = url.User(testdb.AppRole)
	return ownerURL, u.String()
}

// TestServePostgres runs the production path on PostgreSQL: serve refuses an
// unmigrated database and says to run migrate; migrate as the owner role
// grants the app role; serve as the app role is ready, with Redis checked.
func TestServePostgres(t *testing.T) {
	ownerURL, appURL := emptyPostgres(t)
	env := prodEnv()
	env["GATEHOUSE_DATABASE_URL"] = appURL
	env["GATEHOUSE_REDIS_URL"] = needRedis(t)

	err := run(context.Background(), []string{"serve"}, envOf(env), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "gatehouse migrate") {
		t.Fatalf("serve on an unmigrated database: %v", err)
	}

	menv := map[string]string{"GATEHOUSE_DATABASE_URL": ownerURL}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--app-role", testdb.AppRole}, envOf(menv), &out, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out.String(), `"database":"postgres"`) {
		t.Fatalf("migrate printed %q", out.String())
	}

	r := start(t, env)
	v := readyz(t, r)
	checks, _ := v["checks"].(map[string]any)
	if v["status_code"] != 200.0 || checks["database"] != "ok" || checks["redis"] != "ok" {
		t.Fatalf("/readyz = %v\n%s", v, r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), "can defeat row-level security") {
		t.Fatalf("the app role was reported as able to bypass RLS:\n%s", r.stderr.String())
	}
}

// TestReadyzRedisDown: with Redis unreachable, /readyz is 503 naming redis.
func TestReadyzRedisDown(t *testing.T) {
	t.Chdir(t.TempDir())
	env := map[string]string{"GATEHOUSE_REDIS_URL": "redis://127.0.0.1:1/0"}
	r := start(t, env, "--dev")
	v := readyz(t, r)
	if v["status_code"] != 503.0 || v["error"] != "unavailable" || !strings.Contains(v["error_description"].(string), "redis") {
		t.Fatalf("/readyz = %v", v)
	}
	if v["checks"].(map[string]any)["database"] != "ok" {
		t.Fatalf("/readyz = %v", v)
	}
}

// needRedis returns the test Redis URL, skipping the test when Redis does not
// answer (failing it when GATEHOUSE_TEST_REQUIRE_SERVICES=1).
func needRedis(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/15"
	}
	ping, c, err := redisCheck(u)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_REDIS: %v", err)
	}
	defer c.Close()
	if err := ping(context.Background()); err != nil {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("Redis required (GATEHOUSE_TEST_REQUIRE_SERVICES=1): %v", err)
		}
		t.Skipf("Redis unavailable (set GATEHOUSE_TEST_REDIS): %v", err)
	}
	return u
}

// redisCheck returns a ping of the Redis at redisURL and its client (serve
// itself pings through the rate limiter's failover).
func redisCheck(redisURL string) (func(context.Context) error, io.Closer, error) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, err
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.PoolSize = 2
	c := redis.NewClient(opt)
	return func(ctx context.Context) error { return c.Ping(ctx).Err() }, c, nil
}
