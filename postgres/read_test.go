package postgres_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// TestWorkspaceTablesNeedAScope: every table with a workspace_id column has
// row-level security enabled and forced, so an unscoped Store.Read (no
// transaction, no app.workspace_id) sees none of its rows; and the
// store's own reads under an unscoped Read find nothing of a workspace.
func TestWorkspaceTablesNeedAScope(t *testing.T) {
	w := seed(t)
	db := w.pg.DB.SQL()
	rows, err := db.QueryContext(ctx, `select c.relname, c.relrowsecurity, c.relforcerowsecurity
		from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = current_schema() and c.relkind = 'r'
		  and (c.relname = 'workspaces' or exists (select 1 from pg_attribute a
		       where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped))
		order by c.relname`)
	must(t, err)
	var tables []string
	for rows.Next() {
		var name string
		var rls, force bool
		must(t, rows.Scan(&name, &rls, &force))
		if !rls || !force {
			t.Errorf("%s: row-level security enabled=%v forced=%v, want both", name, rls, force)
		}
		tables = append(tables, name)
	}
	must(t, rows.Err())
	rows.Close()
	if len(tables) < 7 {
		t.Fatalf("found only workspace tables %v", tables)
	}
	for _, table := range tables {
		if n := count(t, db, `select count(*) from `+table); n != 0 {
			t.Errorf("%s: %d rows visible without a scope, want 0", table, n)
		}
	}

	err = w.pg.DB.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		if _, err := tx.WorkspaceByID(ctx, w.a); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Errorf("WorkspaceByID in an unscoped Read: %v, want not found", err)
		}
		if ms, err := tx.Members(ctx, w.a); err != nil || len(ms) != 0 {
			t.Errorf("Members in an unscoped Read: %d, %v; want none", len(ms), err)
		}
		if evs, err := tx.AuditEvents(ctx, gatehouse.AuditFilter{}); err != nil || len(evs) != 0 {
			t.Errorf("AuditEvents in an unscoped Read: %d, %v; want none", len(evs), err)
		}
		return nil
	})
	must(t, err)
}
