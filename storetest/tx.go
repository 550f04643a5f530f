package storetest

import (
	"context"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// testTx checks the transaction contract itself: commit on nil, rollback on
// error and panic, and a store that stays usable after either.
func testTx(t *testing.T, open Opener) {
	s := open(t)
	u := newUser(t, s, "tx@example.com")
	status := func() gatehouse.UserStatus {
		var got *gatehouse.User
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.UserByID(ctx, u.ID); return })
		return got.Status
	}

	t.Run("PanicRollsBack", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic did not propagate")
				}
			}()
			s.Tx(ctx, unscoped, func(tx gatehouse.Tx) error {
				if err := tx.UpdateUserStatus(ctx, u.ID, gatehouse.StatusDisabled, base); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		if got := status(); got != gatehouse.StatusActive {
			t.Errorf("status after a panicking transaction = %q, want active", got)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Tx(c, unscoped, func(tx gatehouse.Tx) error {
			return tx.UpdateUserStatus(c, u.ID, gatehouse.StatusLocked, base)
		})
		if err == nil {
			t.Error("Tx with a canceled context succeeded")
		}
		if got := status(); got != gatehouse.StatusActive {
			t.Errorf("status = %q, want active", got)
		}
	})

	t.Run("Commit", func(t *testing.T) {
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, u.ID, gatehouse.StatusLocked, base) })
		if got := status(); got != gatehouse.StatusLocked {
			t.Errorf("status after commit = %q, want locked", got)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

// testRead checks Read: an unscoped read sees committed rows without a
// transaction, and a scoped read sees its workspace (it runs in the
// transaction its scope needs; postgres/rls_test.go covers isolation).
func testRead(t *testing.T, open Opener) {
	s := open(t)
	u := newUser(t, s, "read@example.com")
	var got *gatehouse.User
	if err := s.Read(ctx, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.UserByID(ctx, u.ID); return }); err != nil || got.Email != u.Email {
		t.Fatalf("unscoped Read: %v %+v", err, got)
	}
	w := &gatehouse.Workspace{ID: gatehouse.NewID(base), Name: "read", CreatedAt: base}
	tx(t, s, gatehouse.Scope{WorkspaceID: w.ID}, func(tx gatehouse.Tx) error { return tx.CreateWorkspace(ctx, w) })
	var seen *gatehouse.Workspace
	if err := s.Read(ctx, gatehouse.Scope{WorkspaceID: w.ID}, func(tx gatehouse.Tx) (err error) { seen, err = tx.WorkspaceByID(ctx, w.ID); return }); err != nil || seen.Name != "read" {
		t.Fatalf("scoped Read: %v %+v", err, seen)
	}
}
