package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// TestStoreScopeIsolation checks isolation through the store API, as the
// server uses it: a transaction scoped to A cannot read or write B, even when
// it names B's ids in its calls (which the auth layer should never do).
func TestStoreScopeIsolation(t *testing.T) {
	t.Parallel()
	w := seed(t)
	s := w.pg.DB
	inA := gatehouse.Scope{WorkspaceID: w.a}
	now := time.Now()
	for name, fn := range map[string]func(tx gatehouse.Tx) error{
		"WorkspaceByID(B)": func(tx gatehouse.Tx) error { _, err := tx.WorkspaceByID(ctx, w.b); return err },
		"Member(B, bob)":   func(tx gatehouse.Tx) error { _, err := tx.Member(ctx, w.b, w.bob); return err },
		"UpdateMemberRole(B)": func(tx gatehouse.Tx) error {
			return tx.UpdateMemberRole(ctx, w.b, w.bob, gatehouse.RoleMember)
		},
		"RemoveMember(B)": func(tx gatehouse.Tx) error { return tx.RemoveMember(ctx, w.b, w.bob) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := s.Tx(ctx, inA, fn); !errors.Is(err, gatehouse.ErrNotFound) {
				t.Errorf("err = %v, want not found", err)
			}
		})
	}
	t.Run("Members(B)", func(t *testing.T) {
		var ms []*gatehouse.Member
		must(t, s.Tx(ctx, inA, func(tx gatehouse.Tx) (err error) { ms, err = tx.Members(ctx, w.b); return }))
		if len(ms) != 0 {
			t.Errorf("B's members visible from A: %d", len(ms))
		}
	})
	t.Run("AuditEvents", func(t *testing.T) {
		for _, f := range []gatehouse.AuditFilter{{WorkspaceID: w.b}, {}} {
			var evs []*gatehouse.AuditEvent
			must(t, s.Tx(ctx, inA, func(tx gatehouse.Tx) (err error) { evs, err = tx.AuditEvents(ctx, f); return }))
			for _, ev := range evs {
				if ev.WorkspaceID != w.a {
					t.Errorf("filter %+v from A returned an event of %q", f, ev.WorkspaceID)
				}
			}
		}
	})
	for name, fn := range map[string]func(tx gatehouse.Tx) error{
		"AddMember(B)": func(tx gatehouse.Tx) error {
			return tx.AddMember(ctx, &gatehouse.Member{WorkspaceID: w.b, UserID: w.alice, Role: gatehouse.RoleAdmin, CreatedAt: now})
		},
		"AppendAuditEvent(B)": func(tx gatehouse.Tx) error {
			return tx.AppendAuditEvent(ctx, &gatehouse.AuditEvent{Time: now, Type: gatehouse.EventLogout, Outcome: gatehouse.OutcomeSuccess, WorkspaceID: w.b})
		},
		"CreateWorkspace(other)": func(tx gatehouse.Tx) error {
			return tx.CreateWorkspace(ctx, &gatehouse.Workspace{ID: gatehouse.NewID(now), Name: "x", CreatedAt: now})
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := s.Tx(ctx, inA, fn); err == nil {
				t.Error("write into another workspace succeeded")
			}
		})
	}
	// Nothing of B changed.
	var ms []*gatehouse.Member
	must(t, s.Tx(ctx, gatehouse.Scope{WorkspaceID: w.b}, func(tx gatehouse.Tx) (err error) { ms, err = tx.Members(ctx, w.b); return }))
	if len(ms) != 2 {
		t.Errorf("B has %d members after A's attempts, want 2", len(ms))
	}
	// The unscoped store sees no workspace at all.
	err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { _, err := tx.WorkspaceByID(ctx, w.a); return err })
	if !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("unscoped WorkspaceByID = %v, want not found", err)
	}
}
