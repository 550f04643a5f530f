package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/postgres"
	"github.com/jackc/pgx/v5/pgconn"
)

var ctx = context.Background()

// The workspace-scoped tables of 0001; TestRLSOnEveryWorkspaceTable finds
// later ones by their workspace_id column.
var scopedTables = []string{"workspaces", "memberships", "audit_events"}

// world is two workspaces, A and B, each with a member and an event, one user
// in both, and an event outside any workspace.
type world struct {
	pg           *testdb.PG
	a, b         string // workspace ids
	alice, bob   string // alice in A, bob in B
	both         string // a user in A and B
	eventA       string
	eventB       string
	eventOutside string
}

func seed(t *testing.T) *world {
	t.Helper()
	pg := testdb.Postgres(t)
	now := time.Now()
	w := &world{pg: pg, a: gatehouse.NewID(now), b: gatehouse.NewID(now)}
	var users []*gatehouse.User
	for _, email := range []string{"alice@example.com", "bob@example.com", "both@example.com"} {
		users = append(users, &gatehouse.User{ID: gatehouse.NewID(now), Email: email, Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now})
	}
	w.alice, w.bob, w.both = users[0].ID, users[1].ID, users[2].ID
	must(t, pg.DB.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		ev := &gatehouse.AuditEvent{Time: now, Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure}
		err := tx.AppendAuditEvent(ctx, ev)
		w.eventOutside = ev.ID
		return err
	}))
	for _, ws := range []struct {
		id, member string
		event      *string
	}{{w.a, w.alice, &w.eventA}, {w.b, w.bob, &w.eventB}} {
		must(t, pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: ws.id}, func(tx gatehouse.Tx) error {
			if err := tx.CreateWorkspace(ctx, &gatehouse.Workspace{ID: ws.id, Name: "ws", CreatedAt: now}); err != nil {
				return err
			}
			for _, u := range []string{ws.member, w.both} {
				if err := tx.AddMember(ctx, &gatehouse.Member{WorkspaceID: ws.id, UserID: u, Role: gatehouse.RoleOwner, CreatedAt: now}); err != nil {
					return err
				}
			}
			ev := &gatehouse.AuditEvent{Time: now, Type: gatehouse.EventMemberAdded, Outcome: gatehouse.OutcomeSuccess, WorkspaceID: ws.id}
			err := tx.AppendAuditEvent(ctx, ev)
			*ws.event = ev.ID
			return err
		}))
	}
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// queryer is what *sql.DB, *sql.Conn and *sql.Tx share.
type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func count(t *testing.T, q queryer, query string, args ...any) int {
	t.Helper()
	var n int
	must(t, q.QueryRowContext(ctx, query, args...).Scan(&n))
	return n
}

// scoped begins a transaction on the app role's connection pool and applies
// the settings as sqlstore does.
func scoped(t *testing.T, db *sql.DB, ws, user, all string) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	must(t, err)
	t.Cleanup(func() { tx.Rollback() })
	_, err = tx.ExecContext(ctx, `select set_config('app.workspace_id', $1, true),
		set_config('app.user_id', $2, true), set_config('app.audit_all', $3, true)`, ws, user, all)
	must(t, err)
	return tx
}

// wantRefused fails unless err is PostgreSQL's insufficient_privilege (42501),
// which is both "permission denied" and "violates row-level security policy".
func wantRefused(t *testing.T, err error, what string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("%s: err = %v, want insufficient_privilege (42501)", what, err)
	}
}

func TestRLSNoSettingNoRows(t *testing.T) {
	t.Parallel()
	w := seed(t)
	db := w.pg.DB.SQL()
	for _, table := range scopedTables {
		if n := count(t, db, `select count(*) from `+table); n != 0 {
			t.Errorf("%s: %d rows visible without a setting, want 0", table, n)
		}
	}
	// Users live outside workspaces: no RLS.
	if n := count(t, db, `select count(*) from users`); n != 3 {
		t.Errorf("users: %d rows, want 3", n)
	}
}

func TestRLSEmptySettingFailsClosed(t *testing.T) {
	t.Parallel()
	w := seed(t)
	tx := scoped(t, w.pg.DB.SQL(), "", "", "")
	for _, table := range scopedTables {
		if n := count(t, tx, `select count(*) from `+table); n != 0 {
			t.Errorf("%s: %d rows visible with empty settings, want 0", table, n)
		}
	}
}

func TestRLSWorkspaceSeesOnlyItsRows(t *testing.T) {
	t.Parallel()
	w := seed(t)
	tx := scoped(t, w.pg.DB.SQL(), w.a, "", "")
	if n := count(t, tx, `select count(*) from workspaces`); n != 1 {
		t.Errorf("workspaces: %d visible, want 1 (A)", n)
	}
	if n := count(t, tx, `select count(*) from workspaces where id <> $1`, w.a); n != 0 {
		t.Errorf("workspaces: %d rows other than A", n)
	}
	if n := count(t, tx, `select count(*) from memberships`); n != 2 {
		t.Errorf("memberships: %d visible, want A's 2", n)
	}
	if n := count(t, tx, `select count(*) from memberships where workspace_id <> $1`, w.a); n != 0 {
		t.Errorf("memberships: %d rows of other workspaces", n)
	}
	var ids []string
	rows, err := tx.QueryContext(ctx, `select id from audit_events`)
	must(t, err)
	for rows.Next() {
		var id string
		must(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	must(t, rows.Err())
	if len(ids) != 1 || ids[0] != w.eventA {
		t.Errorf("audit_events visible = %v, want only A's %s", ids, w.eventA)
	}
	// Asking for B by id does not help.
	if n := count(t, tx, `select count(*) from memberships where workspace_id = $1`, w.b); n != 0 {
		t.Errorf("B's memberships visible from A: %d", n)
	}
}

func TestRLSUserSeesOwnMemberships(t *testing.T) {
	t.Parallel()
	w := seed(t)
	tx := scoped(t, w.pg.DB.SQL(), "", w.both, "")
	if n := count(t, tx, `select count(*) from memberships`); n != 2 {
		t.Errorf("memberships of user in A and B: %d visible, want 2 (own only)", n)
	}
	if n := count(t, tx, `select count(*) from memberships where user_id <> $1`, w.both); n != 0 {
		t.Errorf("other users' memberships visible: %d", n)
	}
	if n := count(t, tx, `select count(*) from workspaces`); n != 2 {
		t.Errorf("workspaces of the user: %d, want 2", n)
	}
	if n := count(t, tx, `select count(*) from audit_events`); n != 0 {
		t.Errorf("audit events visible through user scope: %d, want 0", n)
	}
	tx2 := scoped(t, w.pg.DB.SQL(), "", w.alice, "")
	if n := count(t, tx2, `select count(*) from workspaces where id = $1`, w.b); n != 0 {
		t.Error("a user sees a workspace they are not a member of")
	}
}

func TestRLSAuditAll(t *testing.T) {
	t.Parallel()
	w := seed(t)
	tx := scoped(t, w.pg.DB.SQL(), "", "", "on")
	if n := count(t, tx, `select count(*) from audit_events`); n != 3 {
		t.Errorf("audit_all: %d events visible, want 3 (A, B and outside)", n)
	}
	if n := count(t, tx, `select count(*) from memberships`); n != 0 {
		t.Errorf("audit_all leaks memberships: %d", n)
	}
	// Events outside workspaces are for admins only.
	tx2 := scoped(t, w.pg.DB.SQL(), w.a, "", "")
	if n := count(t, tx2, `select count(*) from audit_events where workspace_id is null`); n != 0 {
		t.Errorf("workspace scope sees %d events outside workspaces", n)
	}
}

func TestRLSWriteOtherWorkspaceRefused(t *testing.T) {
	t.Parallel()
	w := seed(t)
	db := w.pg.DB.SQL()
	now := time.Now()
	for name, stmt := range map[string]struct {
		q    string
		args []any
	}{
		"insert workspace":       {`insert into workspaces (id, name, created_at) values ($1, 'x', 0)`, []any{gatehouse.NewID(now)}},
		"insert membership of B": {`insert into memberships (workspace_id, user_id, role, created_at) values ($1, $2, 'member', 0)`, []any{w.b, w.alice}},
		"insert audit of B":      {`insert into audit_events (id, workspace_id, time, type, outcome) values ($1, $2, 0, 't', 'success')`, []any{gatehouse.NewID(now), w.b}},
		"move membership to B":   {`update memberships set workspace_id = $1 where workspace_id = $2 and user_id = $3`, []any{w.b, w.a, w.alice}},
		"rename workspace to B":  {`update workspaces set id = $1 where id = $2`, []any{gatehouse.NewID(now), w.a}},
	} {
		t.Run(name, func(t *testing.T) {
			tx := scoped(t, db, w.a, "", "")
			_, err := tx.ExecContext(ctx, stmt.q, stmt.args...)
			wantRefused(t, err, name)
		})
	}
	// Writes to B's rows that RLS hides from A touch nothing.
	tx := scoped(t, db, w.a, "", "")
	for _, q := range []string{
		`update memberships set role = 'member' where workspace_id = $1`,
		`delete from memberships where workspace_id = $1`,
		`update workspaces set name = 'pwned' where id = $1`,
		`delete from workspaces where id = $1`,
	} {
		res, err := tx.ExecContext(ctx, q, w.b)
		must(t, err)
		if n, _ := res.RowsAffected(); n != 0 {
			t.Errorf("%s from A changed %d rows of B", q, n)
		}
	}
	// A user scope lists own memberships elsewhere but cannot change them.
	tx2 := scoped(t, db, w.a, w.both, "")
	res, err := tx2.ExecContext(ctx, `delete from memberships where workspace_id = $1 and user_id = $2`, w.b, w.both)
	must(t, err)
	if n, _ := res.RowsAffected(); n != 0 {
		t.Error("user scope deleted own membership of another workspace")
	}
}

func TestRLSPooledConnectionForgetsScope(t *testing.T) {
	t.Parallel()
	w := seed(t)
	for _, end := range []string{"commit", "rollback"} {
		t.Run(end, func(t *testing.T) {
			conn, err := w.pg.DB.SQL().Conn(ctx)
			must(t, err)
			defer conn.Close()
			tx, err := conn.BeginTx(ctx, nil)
			must(t, err)
			_, err = tx.ExecContext(ctx, `select set_config('app.workspace_id', $1, true), set_config('app.user_id', $2, true)`, w.a, w.alice)
			must(t, err)
			if n := count(t, tx, `select count(*) from memberships`); n != 2 {
				t.Fatalf("in the scoped transaction: %d memberships, want 2", n)
			}
			if end == "commit" {
				must(t, tx.Commit())
			} else {
				must(t, tx.Rollback())
			}
			// The same connection, no setting.
			var setting string
			must(t, conn.QueryRowContext(ctx, `select current_setting('app.workspace_id', true)`).Scan(&setting))
			if setting != "" {
				t.Errorf("app.workspace_id after %s = %q, want ''", end, setting)
			}
			for _, table := range scopedTables {
				if n := count(t, conn, `select count(*) from `+table); n != 0 {
					t.Errorf("%s after %s: %d rows visible on the same connection", table, end, n)
				}
			}
		})
	}
}

func TestAppRoleAuditAppendOnly(t *testing.T) {
	t.Parallel()
	w := seed(t)
	db := w.pg.DB.SQL()
	for _, q := range []string{
		`update audit_events set type = 'forged' where id = $1`,
		`delete from audit_events where id = $1`,
	} {
		tx := scoped(t, db, w.a, "", "on")
		_, err := tx.ExecContext(ctx, q, w.eventA)
		wantRefused(t, err, q)
	}
	tx := scoped(t, db, w.a, "", "on")
	_, err := tx.ExecContext(ctx, `truncate audit_events`)
	wantRefused(t, err, "truncate")
	// And it can still append and read.
	must(t, w.pg.DB.Tx(ctx, gatehouse.Scope{WorkspaceID: w.a}, func(tx gatehouse.Tx) error {
		return tx.AppendAuditEvent(ctx, &gatehouse.AuditEvent{Time: time.Now(), Type: gatehouse.EventLogout, Outcome: gatehouse.OutcomeSuccess, WorkspaceID: w.a})
	}))
}

func TestAppRoleCannotEscape(t *testing.T) {
	t.Parallel()
	w := seed(t)
	db := w.pg.DB.SQL()
	var super, bypass bool
	var owned int
	must(t, db.QueryRowContext(ctx, `select rolsuper, rolbypassrls,
		(select count(*) from pg_class c where c.relowner = r.oid)
		from pg_roles r where rolname = current_user`).Scan(&super, &bypass, &owned))
	if super || bypass || owned != 0 {
		t.Errorf("app role: superuser=%v bypassrls=%v owns %d relations; want false, false, 0", super, bypass, owned)
	}
	if err := postgres.CheckAppRole(ctx, w.pg.DB); err != nil {
		t.Errorf("CheckAppRole(app) = %v", err)
	}
	// The app role cannot turn RLS off or change the schema.
	for _, q := range []string{
		`alter table memberships disable row level security`,
		`alter table audit_events no force row level security`,
		`drop policy memberships_select on memberships`,
		`set row_security = off`,
		`create table sneaky (id int)`,
		`create policy open_door on audit_events using (true)`,
		`alter table audit_events owner to current_user`,
	} {
		t.Run(q, func(t *testing.T) {
			tx, err := db.BeginTx(ctx, nil)
			must(t, err)
			defer tx.Rollback()
			_, err = tx.ExecContext(ctx, q)
			if q == `set row_security = off` {
				// Allowed to set, but then any query that RLS would filter
				// errors instead of bypassing.
				if err == nil {
					_, err = tx.ExecContext(ctx, `select count(*) from memberships`)
				}
				if err == nil {
					t.Error("row_security = off let a query bypass RLS")
				}
				return
			}
			if err == nil {
				t.Errorf("%s: allowed", q)
			}
		})
	}
	// The owner role, by contrast, fails the check.
	owner, err := postgres.Open(ctx, w.pg.OwnerURL)
	must(t, err)
	defer owner.Close()
	if err := postgres.CheckAppRole(ctx, owner); err == nil || !strings.Contains(err.Error(), "owns") {
		t.Errorf("CheckAppRole(owner) = %v, want an error about owning tables", err)
	}
}

// TestRLSOnEveryWorkspaceTable guards future migrations: every table with a
// workspace_id column, and workspaces itself, has RLS enabled and forced,
// and every policy on it reads the settings through nullif with an empty string.
func TestRLSOnEveryWorkspaceTable(t *testing.T) {
	t.Parallel()
	pg := testdb.Postgres(t)
	owner, err := sql.Open("pgx", pg.OwnerURL)
	must(t, err)
	defer owner.Close()
	rows, err := owner.QueryContext(ctx, `select c.relname, c.relrowsecurity, c.relforcerowsecurity
		from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = current_schema() and c.relkind in ('r', 'p')
		  and (c.relname = 'workspaces' or exists (
			select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped))
		order by 1`)
	must(t, err)
	defer rows.Close()
	var seen []string
	for rows.Next() {
		var name string
		var enabled, forced bool
		must(t, rows.Scan(&name, &enabled, &forced))
		seen = append(seen, name)
		if !enabled || !forced {
			t.Errorf("%s: row level security enabled=%v forced=%v, want both", name, enabled, forced)
		}
	}
	must(t, rows.Err())
	for _, want := range scopedTables {
		if !strings.Contains(strings.Join(seen, ","), want) {
			t.Errorf("scoped table %s not found (saw %v)", want, seen)
		}
	}
	prow, err := owner.QueryContext(ctx, `select tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '')
		from pg_policies where schemaname = current_schema()`)
	must(t, err)
	defer prow.Close()
	n := 0
	for prow.Next() {
		var table, policy, expr string
		must(t, prow.Scan(&table, &policy, &expr))
		n++
		if strings.Contains(expr, "current_setting('app.workspace_id'") &&
			!strings.Contains(expr, "NULLIF(current_setting('app.workspace_id'::text, true), ''::text)") {
			t.Errorf("policy %s on %s reads app.workspace_id without nullif: %s", policy, table, expr)
		}
		if !strings.Contains(expr, "current_setting(") {
			t.Errorf("policy %s on %s does not depend on a setting: %s", policy, table, expr)
		}
	}
	must(t, prow.Err())
	if n < 9 {
		t.Errorf("%d policies, want at least 9", n)
	}
}
