package postgres_test

import (
	"crypto/sha256"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestPurgeDoorUnderRLS checks, in raw SQL as the server's role, the door
// 0008 opens for the purge: without a workspace scope, a transaction that
// sets app.purge_before sees and deletes only the OAuth grants that ended
// before it, never a live one, and can update none.
func TestPurgeDoorUnderRLS(t *testing.T) {
	w := seed(t)
	now := time.Now().Truncate(time.Microsecond)
	mk := func(name string, expires, revoked time.Time) *gatehouse.OAuthGrant {
		h := sha256.Sum256([]byte(name))
		g := &gatehouse.OAuthGrant{ID: gatehouse.NewID(now), WorkspaceID: w.a, ClientID: "c", UserID: w.alice, SessionID: gatehouse.NewID(now),
			CreatedAt: now, LastUsedAt: now, ExpiresAt: expires, RevokedAt: revoked, RefreshHash: h[:]}
		must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a}, func(tx gatehouse.Tx) error { return tx.CreateOAuthGrant(ctx, g) }))
		return g
	}
	mk("ended", now.Add(time.Minute), now.Add(time.Second))
	live := mk("live", now.Add(time.Hour), time.Time{})
	app, err := sql.Open("pgx", w.pg.AppURL)
	must(t, err)
	defer app.Close()
	cutoff := strconv.FormatInt(sqlstore.Micros(now.Add(10*time.Minute)), 10)

	run := func(settings map[string]string, stmt string, args ...any) int64 {
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
			must(t, tx.QueryRowContext(ctx, `select count(*) from oauth_grants`).Scan(&n))
			return n
		}
		res, err := tx.ExecContext(ctx, stmt, args...)
		must(t, err)
		n, _ := res.RowsAffected()
		return n
	}
	door := map[string]string{"app.purge_before": cutoff}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     int64
	}{
		{"no setting", nil, 0},
		{"empty setting", map[string]string{"app.purge_before": ""}, 0},
		{"before either ended", map[string]string{"app.purge_before": strconv.FormatInt(sqlstore.Micros(now), 10)}, 0},
		{"the purge cutoff", door, 1},
		{"workspace A", map[string]string{"app.workspace_id": w.a}, 2},
	} {
		if n := run(tc.settings, ""); n != tc.want {
			t.Errorf("%s: sees %d grants, want %d", tc.name, n, tc.want)
		}
	}
	if n := run(door, `update oauth_grants set scope = 'x'`); n != 0 {
		t.Fatalf("updated through the purge door: %d rows", n)
	}
	if n := run(door, `delete from oauth_grants where id = $1`, live.ID); n != 0 {
		t.Fatalf("deleted a live grant through the purge door: %d rows", n)
	}
	if n := run(door, `delete from oauth_grants`); n != 1 {
		t.Fatalf("the purge door deleted %d rows, want the ended one", n)
	}
}
