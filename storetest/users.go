package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func testUsers(t *testing.T, open Opener) {
	s := open(t)

	t.Run("CreateAndRead", func(t *testing.T) {
		u := &gatehouse.User{
			ID: gatehouse.NewID(base), Email: "ada@example.com", PasswordHash: "phc",
			Status: gatehouse.StatusActive, Admin: true,
			CreatedAt: base.Add(123 * time.Microsecond), UpdatedAt: base.Add(time.Second),
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) })
		for name, get := range map[string]func(tx gatehouse.Tx) (*gatehouse.User, error){
			"ByID":    func(tx gatehouse.Tx) (*gatehouse.User, error) { return tx.UserByID(ctx, u.ID) },
			"ByEmail": func(tx gatehouse.Tx) (*gatehouse.User, error) { return tx.UserByEmail(ctx, u.Email) },
		} {
			var got *gatehouse.User
			tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = get(tx); return })
			if *got != *u {
				t.Errorf("%s = %+v, want %+v", name, got, u)
			}
		}
	})

	t.Run("UnicodeEmail", func(t *testing.T) {
		email, err := gatehouse.NormalizeEmail("Zoë.ÅSE@Exämple.com")
		if err != nil {
			t.Fatal(err)
		}
		u := newUser(t, s, email)
		var got *gatehouse.User
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.UserByEmail(ctx, email); return })
		if got.ID != u.ID || got.Email != "zoë.åse@exämple.com" {
			t.Errorf("UserByEmail(%q) = %+v", email, got)
		}
	})

	t.Run("EmailConflict", func(t *testing.T) {
		newUser(t, s, "dup@example.com")
		u := &gatehouse.User{ID: gatehouse.NewID(base), Email: "dup@example.com", Status: gatehouse.StatusActive, CreatedAt: base, UpdatedAt: base}
		err := txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) })
		wantIs(t, err, gatehouse.ErrConflict)
		if gatehouse.ErrorCode(err) != gatehouse.EConflict {
			t.Errorf("code = %q, want conflict", gatehouse.ErrorCode(err))
		}
		// The failed transaction left nothing behind.
		err = txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.UserByID(ctx, u.ID); return err })
		wantIs(t, err, gatehouse.ErrNotFound)
	})

	t.Run("IDConflict", func(t *testing.T) {
		a := newUser(t, s, "first@example.com")
		b := &gatehouse.User{ID: a.ID, Email: "second@example.com", Status: gatehouse.StatusActive, CreatedAt: base, UpdatedAt: base}
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, b) }), gatehouse.ErrConflict)
	})

	t.Run("RefusesUnnormalizedEmail", func(t *testing.T) {
		for _, email := range []string{"Ada@Example.com", " ada2@example.com", "", "no-at-sign"} {
			u := &gatehouse.User{ID: gatehouse.NewID(base), Email: email, Status: gatehouse.StatusActive, CreatedAt: base, UpdatedAt: base}
			err := txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) })
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Errorf("CreateUser(%q) = %v, want invalid_request", email, err)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		for name, fn := range map[string]func(tx gatehouse.Tx) error{
			"UserByID":          func(tx gatehouse.Tx) error { _, err := tx.UserByID(ctx, gatehouse.NewID(base)); return err },
			"UserByIDMalformed": func(tx gatehouse.Tx) error { _, err := tx.UserByID(ctx, "not-a-uuid"); return err },
			"UserByEmail":       func(tx gatehouse.Tx) error { _, err := tx.UserByEmail(ctx, "nobody@example.com"); return err },
			"UpdateUserStatus": func(tx gatehouse.Tx) error {
				return tx.UpdateUserStatus(ctx, gatehouse.NewID(base), gatehouse.StatusLocked, base)
			},
			"SetUserAdmin":       func(tx gatehouse.Tx) error { return tx.SetUserAdmin(ctx, gatehouse.NewID(base), true, base) },
			"UpdatePasswordHash": func(tx gatehouse.Tx) error { return tx.UpdatePasswordHash(ctx, gatehouse.NewID(base), "x", base) },
		} {
			t.Run(name, func(t *testing.T) { wantIs(t, txErr(s, unscoped, fn), gatehouse.ErrNotFound) })
		}
	})

	t.Run("Updates", func(t *testing.T) {
		u := newUser(t, s, "grace@example.com")
		later := base.Add(time.Hour)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			if err := tx.UpdateUserStatus(ctx, u.ID, gatehouse.StatusLocked, later); err != nil {
				return err
			}
			if err := tx.SetUserAdmin(ctx, u.ID, true, later); err != nil {
				return err
			}
			return tx.UpdatePasswordHash(ctx, u.ID, "new-hash", later)
		})
		var got *gatehouse.User
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.UserByID(ctx, u.ID); return })
		if got.Status != gatehouse.StatusLocked || !got.Admin || got.PasswordHash != "new-hash" ||
			!got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(base) {
			t.Errorf("after updates: %+v", got)
		}
		err := txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, u.ID, "frozen", later) })
		if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
			t.Errorf("UpdateUserStatus(frozen) = %v, want invalid_request", err)
		}
	})

	t.Run("RollbackOnError", func(t *testing.T) {
		u := newUser(t, s, "rollback@example.com")
		boom := gatehouse.Errorf(gatehouse.EForbidden, "boom")
		err := txErr(s, unscoped, func(tx gatehouse.Tx) error {
			if err := tx.UpdateUserStatus(ctx, u.ID, gatehouse.StatusDisabled, base); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("Tx returned %v, want fn's error", err)
		}
		var got *gatehouse.User
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.UserByID(ctx, u.ID); return })
		if got.Status != gatehouse.StatusActive {
			t.Errorf("status = %q after rollback, want active", got.Status)
		}
	})
}
