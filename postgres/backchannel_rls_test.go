package postgres_test

import (
	"bytes"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestBackchannelDoorUnderRLS checks, in raw SQL as the server's role, the
// door 0012 opens for back-channel logout: without a workspace scope, a
// transaction that sets app.ended_at sees only the grants approved from a
// session revoked at exactly that instant (never one of a live session,
// nor of a session revoked at another time) and only the clients that
// registered a back-channel logout URI, and can write none of them.
func TestBackchannelDoorUnderRLS(t *testing.T) {
	w := seed(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	ended, other := now.Add(-time.Minute), now.Add(-2*time.Minute)
	sessions := map[string]time.Time{"ended": ended, "other": other, "live": {}}
	ids := map[string]string{}
	for name, revoked := range sessions {
		s := &gatehouse.Session{ID: gatehouse.NewID(now), UserID: w.alice, Method: gatehouse.MethodPassword, CreatedAt: now.Add(-time.Hour),
			LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: bytes.Repeat([]byte{1}, 32)}
		must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			if err := tx.CreateSession(ctx, s); err != nil {
				return err
			}
			if revoked.IsZero() {
				return nil
			}
			return tx.RevokeSession(ctx, s.ID, revoked)
		}))
		ids[name] = s.ID
		must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a}, func(tx gatehouse.Tx) error {
			return tx.CreateOAuthGrant(ctx, &gatehouse.OAuthGrant{ID: gatehouse.NewID(now), WorkspaceID: w.a, ClientID: "c-" + name,
				UserID: w.alice, SessionID: s.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: bytes.Repeat([]byte{2}, 32)})
		}))
	}
	for i, uri := range []string{"https://rp.example.com/bc", ""} {
		must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a}, func(tx gatehouse.Tx) error {
			return tx.CreateClient(ctx, &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: w.a, ClientID: "client-" + strconv.Itoa(i), Name: "c",
				Public: true, BackchannelLogoutURI: uri, CreatedAt: now})
		}))
	}
	app, err := sql.Open("pgx", w.pg.AppURL)
	must(t, err)
	defer app.Close()
	at := strconv.FormatInt(sqlstore.Micros(ended), 10)
	run := func(settings map[string]string, q string) int64 {
		t.Helper()
		tx, err := app.BeginTx(ctx, nil)
		must(t, err)
		defer tx.Rollback()
		for k, v := range settings {
			_, err := tx.ExecContext(ctx, `select set_config($1, $2, true)`, k, v)
			must(t, err)
		}
		if len(q) > 6 && q[:6] == "select" {
			var n int64
			must(t, tx.QueryRowContext(ctx, q).Scan(&n))
			return n
		}
		res, err := tx.ExecContext(ctx, q)
		must(t, err)
		n, _ := res.RowsAffected()
		return n
	}
	door := map[string]string{"app.ended_at": at}
	for _, tc := range []struct {
		name, q  string
		settings map[string]string
		want     int64
	}{
		{"grants, no setting", `select count(*) from oauth_grants`, nil, 0},
		{"grants, empty setting", `select count(*) from oauth_grants`, map[string]string{"app.ended_at": ""}, 0},
		{"grants, the door", `select count(*) from oauth_grants`, door, 1},
		{"the door's grant is the ended session's", `select count(*) from oauth_grants where session_id = '` + ids["ended"] + `'`, door, 1},
		{"grants, workspace A", `select count(*) from oauth_grants`, map[string]string{"app.workspace_id": w.a}, 3},
		{"clients, no setting", `select count(*) from oauth_clients`, nil, 0},
		{"clients, the door", `select count(*) from oauth_clients`, door, 1},
		{"clients, the door: only back-channel ones", `select count(*) from oauth_clients where backchannel_logout_uri = ''`, door, 0},
		{"grants, updated through the door", `update oauth_grants set scope = 'x'`, door, 0},
		{"clients, updated through the door", `update oauth_clients set name = 'x'`, door, 0},
		{"grants, deleted through the door", `delete from oauth_grants`, door, 0},
	} {
		if n := run(tc.settings, tc.q); n != tc.want {
			t.Errorf("%s: %d rows, want %d", tc.name, n, tc.want)
		}
	}
}
