package sqlite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/sqlite"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) gatehouse.Store { return testdb.SQLite(tb) })
}

func TestOpenSettings(t *testing.T) {
	s := testdb.SQLite(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := s.SQL().QueryRow(`pragma ` + pragma).Scan(&got); err != nil || got != want {
			t.Errorf("pragma %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
	for _, bad := range []string{"", ":memory:", "x.db?mode=ro", "a#b"} {
		if _, err := sqlite.Open(context.Background(), bad); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
}

// TestAuditAppendOnly: SQLite has no roles, so triggers keep the audit trail
// append-only.
func TestAuditAppendOnly(t *testing.T) {
	s := testdb.SQLite(t)
	ctx := context.Background()
	ev := &gatehouse.AuditEvent{Time: time.Now(), Type: gatehouse.EventLogout, Outcome: gatehouse.OutcomeSuccess}
	if err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.AppendAuditEvent(ctx, ev) }); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`update audit_events set type = 'forged'`, `delete from audit_events`} {
		if _, err := s.SQL().Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
}

// TestEmailCheck: the schema itself refuses an email that is not lower case.
func TestEmailCheck(t *testing.T) {
	s := testdb.SQLite(t)
	_, err := s.SQL().Exec(`insert into users (id, email, status, created_at, updated_at) values ('x', 'Ada@Example.com', 'active', 0, 0)`)
	if err == nil {
		t.Error("upper-case email stored")
	}
}
