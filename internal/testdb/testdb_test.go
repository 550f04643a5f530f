package testdb_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

func TestPostgresIsFreshAndAppRole(t *testing.T) {
	a, b := testdb.Postgres(t), testdb.Postgres(t)
	if a.Name == b.Name || !strings.HasPrefix(a.Name, "gh_test_") {
		t.Fatalf("databases %q and %q", a.Name, b.Name)
	}
	var user, db string
	var n int
	if err := a.DB.SQL().QueryRowContext(context.Background(),
		`select current_user, current_database(), (select count(*) from users)`).Scan(&user, &db, &n); err != nil {
		t.Fatal(err)
	}
	if user != testdb.AppRole || db != a.Name || n != 0 {
		t.Errorf("connected as %s to %s with %d users; want %s, %s, 0", user, db, n, testdb.AppRole, a.Name)
	}
	if !strings.Contains(a.OwnerURL, testdb.OwnerRole+"@") || !strings.Contains(a.AppURL, testdb.AppRole+"@") {
		t.Errorf("URLs %q %q", a.OwnerURL, a.AppURL)
	}
}

func TestSQLiteMigrated(t *testing.T) {
	s := testdb.SQLite(t)
	var n int
	if err := s.SQL().QueryRow(`select count(*) from schema_migrations`).Scan(&n); err != nil || n < 1 {
		t.Errorf("schema_migrations: %d, %v", n, err)
	}
}

// TestUnreachable is run by TestSkipOrFatal in a child process.
func TestUnreachable(t *testing.T) {
	if os.Getenv("TESTDB_CHILD") != "1" {
		t.Skip("run by TestSkipOrFatal")
	}
	testdb.Postgres(t)
	t.Log("REACHED")
}

// TestSkipOrFatal checks the services rule: an unreachable PostgreSQL skips,
// unless GATEHOUSE_TEST_REQUIRE_SERVICES=1, which fails.
func TestSkipOrFatal(t *testing.T) {
	for _, tc := range []struct {
		require string
		fail    bool
		want    string
	}{
		{"", false, "SKIP: TestUnreachable"},
		{"1", true, "FAIL: TestUnreachable"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachable$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTDB_CHILD=1",
			"GATEHOUSE_TEST_POSTGRES=postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
			"GATEHOUSE_TEST_REQUIRE_SERVICES="+tc.require)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.fail || !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "REACHED") {
			t.Errorf("REQUIRE_SERVICES=%q: err=%v, output:\n%s", tc.require, err, out)
		}
	}
}
