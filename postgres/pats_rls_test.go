package postgres_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// TestPATLookupUnderRLS checks, in raw SQL as the server's role, the one
// extra door 0004 opens: a PAT row is visible without a workspace scope only
// to a transaction that sets app.pat_hash to that token's hash.
func TestPATLookupUnderRLS(t *testing.T) {
	w := seed(t)
	secret, _ := token.NewPAT(nil)
	hash := token.LookupHashHex(secret.Reveal())
	now := time.Now()
	pat := &gatehouse.PAT{ID: gatehouse.NewID(now), WorkspaceID: w.a, UserID: w.alice, Name: "ci", Prefix: secret.Prefix(),
		Hash: hash, Scopes: []string{"profile:read"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a, UserID: w.alice}, func(tx gatehouse.Tx) error {
		return tx.CreatePAT(ctx, pat)
	}))
	app, err := sql.Open("pgx", w.pg.AppURL)
	must(t, err)
	defer app.Close()
	other, _ := token.NewPAT(nil)

	count := func(settings map[string]string, stmt string) int64 {
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
			must(t, tx.QueryRowContext(ctx, `select count(*) from pats`).Scan(&n))
			return n
		}
		res, err := tx.ExecContext(ctx, stmt, pat.ID)
		must(t, err)
		n, _ := res.RowsAffected()
		return n
	}
	for _, c := range []struct {
		name     string
		settings map[string]string
		want     int64
	}{
		{"no setting", nil, 0},
		{"another token's hash", map[string]string{"app.pat_hash": token.LookupHashHex(other.Reveal())}, 0},
		{"empty hash", map[string]string{"app.pat_hash": ""}, 0},
		{"the token's hash", map[string]string{"app.pat_hash": hash}, 1},
		{"workspace B", map[string]string{"app.workspace_id": w.b}, 0},
		{"workspace A", map[string]string{"app.workspace_id": w.a}, 1},
		{"user bob", map[string]string{"app.user_id": w.bob}, 0},
		{"user alice", map[string]string{"app.user_id": w.alice}, 1},
	} {
		if n := count(c.settings, ""); n != c.want {
			t.Errorf("%s: sees %d PAT rows, want %d", c.name, n, c.want)
		}
	}
	// The hash opens reading and the last-used update, never deletion.
	if n := count(map[string]string{"app.pat_hash": hash}, `delete from pats where id = $1`); n != 0 {
		t.Fatalf("deleted through the hash door: %d rows", n)
	}
	if n := count(map[string]string{"app.pat_hash": hash}, `update pats set last_used_at = 1 where id = $1`); n != 1 {
		t.Fatalf("last-used update through the hash: %d rows", n)
	}
}

// TestLookupFunctionsEndTheirSetting: the one-statement lookups of
// migration 0014 see the one row they name, and the setting they make
// does not outlive their statement, outside a transaction or inside one:
// the next statement sees no PAT and no client.
func TestLookupFunctionsEndTheirSetting(t *testing.T) {
	w := seed(t)
	secret, _ := token.NewPAT(nil)
	hash := token.LookupHashHex(secret.Reveal())
	now := time.Now()
	must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a, UserID: w.alice}, func(tx gatehouse.Tx) error {
		return tx.CreatePAT(ctx, &gatehouse.PAT{ID: gatehouse.NewID(now), WorkspaceID: w.a, UserID: w.alice, Name: "ci",
			Prefix: secret.Prefix(), Hash: hash, Scopes: []string{"profile:read"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}))
	clientID := gatehouse.NewID(now)
	must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a}, func(tx gatehouse.Tx) error {
		return tx.CreateClient(ctx, &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: w.a, ClientID: clientID, Name: "svc",
			SecretHash: strings.Repeat("ab", 32), Grants: []string{gatehouse.GrantClientCredentials}, CreatedAt: now})
	}))
	app, err := sql.Open("pgx", w.pg.AppURL)
	must(t, err)
	defer app.Close()
	conn, err := app.Conn(ctx) // one connection: what a setting left behind would leak into
	must(t, err)
	defer conn.Close()
	for _, c := range []struct{ lookup, arg, table string }{
		{"gatehouse_pat_lookup", hash, "pats"},
		{"gatehouse_client_lookup", clientID, "oauth_clients"},
	} {
		var n int64
		must(t, conn.QueryRowContext(ctx, `select count(*) from `+c.lookup+`($1)`, c.arg).Scan(&n))
		if n != 1 {
			t.Errorf("%s(the row's key) finds %d rows, want 1", c.lookup, n)
		}
		must(t, conn.QueryRowContext(ctx, `select count(*) from `+c.lookup+`($1)`, "nope").Scan(&n))
		if n != 0 {
			t.Errorf("%s(another key) finds %d rows, want 0", c.lookup, n)
		}
		must(t, conn.QueryRowContext(ctx, `select count(*) from `+c.lookup+`($1)`, c.arg).Scan(&n))
		must(t, conn.QueryRowContext(ctx, `select count(*) from `+c.table).Scan(&n))
		if n != 0 {
			t.Errorf("after %s, the next statement sees %d %s rows, want 0: the setting outlived its statement", c.lookup, n, c.table)
		}
		// Inside a transaction too: the function puts the setting back.
		tx, err := conn.BeginTx(ctx, nil)
		must(t, err)
		must(t, tx.QueryRowContext(ctx, `select count(*) from `+c.lookup+`($1)`, c.arg).Scan(&n))
		if n != 1 {
			t.Errorf("%s in a transaction finds %d rows, want 1", c.lookup, n)
		}
		must(t, tx.QueryRowContext(ctx, `select count(*) from `+c.table).Scan(&n))
		if n != 0 {
			t.Errorf("after %s, the transaction's next statement sees %d %s rows, want 0", c.lookup, n, c.table)
		}
		must(t, tx.Rollback())
	}
}
