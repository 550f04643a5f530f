package postgres_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// TestClientLookupUnderRLS checks, in raw SQL as the server's role, the door
// 0006 opens: an OAuth client row is visible without a workspace scope only
// to a transaction that sets app.client_id to that client's id, and only for
// reading.
func TestClientLookupUnderRLS(t *testing.T) {
	w := seed(t)
	now := time.Now()
	c := &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: w.a, ClientID: "7d0f5c2e-3b1a-4c6d-9e8f-0a1b2c3d4e5f", Name: "svc",
		SecretHash: strings.Repeat("ab", 32), Grants: []string{gatehouse.GrantClientCredentials}, CreatedAt: now}
	must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a}, func(tx gatehouse.Tx) error { return tx.CreateClient(ctx, c) }))
	app, err := sql.Open("pgx", w.pg.AppURL)
	must(t, err)
	defer app.Close()

	run := func(settings map[string]string, stmt string) int64 {
		t.Helper()
		tx, err := app.BeginTx(ctx, nil)
		must(t, err)
		defer tx.Rollback()
		for k, v := range settings {
			_, err := tx.ExecContext(ctx, `select set_config($1, $2, true)`, k, v)
			must(t, err)
		}
		if stmt == "" {
			var n int64
			must(t, tx.QueryRowContext(ctx, `select count(*) from oauth_clients`).Scan(&n))
			return n
		}
		res, err := tx.ExecContext(ctx, stmt, c.ClientID)
		must(t, err)
		n, _ := res.RowsAffected()
		return n
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     int64
	}{
		{"no setting", nil, 0},
		{"another client id", map[string]string{"app.client_id": "00000000-0000-4000-8000-000000000000"}, 0},
		{"empty client id", map[string]string{"app.client_id": ""}, 0},
		{"the client id", map[string]string{"app.client_id": c.ClientID}, 1},
		{"workspace B", map[string]string{"app.workspace_id": w.b}, 0},
		{"workspace A", map[string]string{"app.workspace_id": w.a}, 1},
		{"user alice", map[string]string{"app.user_id": w.alice}, 0},
	} {
		if n := run(tc.settings, ""); n != tc.want {
			t.Errorf("%s: sees %d client rows, want %d", tc.name, n, tc.want)
		}
	}
	door := map[string]string{"app.client_id": c.ClientID}
	if n := run(door, `update oauth_clients set name = 'x' where client_id = $1`); n != 0 {
		t.Fatalf("updated through the client-id door: %d rows", n)
	}
	if n := run(door, `delete from oauth_clients where client_id = $1`); n != 0 {
		t.Fatalf("deleted through the client-id door: %d rows", n)
	}
	if n := run(map[string]string{"app.workspace_id": w.a}, `update oauth_clients set name = 'x' where client_id = $1`); n != 1 {
		t.Fatalf("update in the workspace's scope: %d rows", n)
	}
}
