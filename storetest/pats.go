package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testPATs: tokens are found by hash without a scope, listed and changed by
// their owner, bound to a membership, and last_used_at is coalesced.
func testPATs(t *testing.T, open Opener) {
	s := open(t)
	alice, bob := newUser(t, s, "pat-alice@example.com"), newUser(t, s, "pat-bob@example.com")
	w := newWorkspace(t, s, "pats", alice)
	hash := strings.Repeat("ab", 32)
	p := &gatehouse.PAT{ID: gatehouse.NewID(base), WorkspaceID: w.ID, UserID: alice.ID, Name: "ci", Prefix: "gth_abcdef",
		Hash: hash, Scopes: []string{"audit:read", "profile:read"}, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	both := gatehouse.Scope{WorkspaceID: w.ID, UserID: alice.ID}
	owner := gatehouse.Scope{UserID: alice.ID}

	t.Run("create needs a membership", func(t *testing.T) {
		tx(t, s, both, func(tx gatehouse.Tx) error { return tx.CreatePAT(ctx, p) })
		stranger := *p
		stranger.ID, stranger.UserID, stranger.Hash = gatehouse.NewID(base), bob.ID, strings.Repeat("cd", 32)
		if err := txErr(s, gatehouse.Scope{WorkspaceID: w.ID, UserID: bob.ID}, func(tx gatehouse.Tx) error { return tx.CreatePAT(ctx, &stranger) }); err == nil {
			t.Fatal("a PAT for a non-member was stored")
		}
	})

	t.Run("find by hash without a scope", func(t *testing.T) {
		find := func(tx gatehouse.Tx) error {
			got, err := tx.PATByHash(ctx, hash)
			if err != nil {
				return err
			}
			if got.ID != p.ID || got.WorkspaceID != w.ID || got.OwnerStatus != gatehouse.StatusActive || len(got.Scopes) != 2 || !got.ExpiresAt.Equal(p.ExpiresAt) {
				t.Fatalf("PATByHash %+v", got)
			}
			_, err = tx.PATByHash(ctx, strings.Repeat("00", 32))
			wantIs(t, err, gatehouse.ErrNotFound)
			return nil
		}
		tx(t, s, unscoped, find)
		// One statement: it needs no transaction either.
		if err := s.Read(ctx, unscoped, find); err != nil {
			t.Fatalf("PATByHash in an unscoped Read: %v", err)
		}
	})

	t.Run("owner reads; others do not", func(t *testing.T) {
		tx(t, s, owner, func(tx gatehouse.Tx) error {
			l, err := tx.PATsForUser(ctx, alice.ID)
			if err != nil || len(l) != 1 || l[0].Hash != hash {
				t.Fatalf("list %+v %v", l, err)
			}
			_, err = tx.PAT(ctx, alice.ID, p.ID)
			return err
		})
		wantIs(t, txErr(s, gatehouse.Scope{UserID: bob.ID}, func(tx gatehouse.Tx) error { _, err := tx.PAT(ctx, bob.ID, p.ID); return err }), gatehouse.ErrNotFound)
	})

	t.Run("last_used_at at most once per interval", func(t *testing.T) {
		touch := func(at time.Time) time.Time {
			var used time.Time
			tx(t, s, unscoped, func(tx gatehouse.Tx) error {
				if err := tx.TouchPAT(ctx, hash, at, time.Minute); err != nil {
					return err
				}
				got, err := tx.PATByHash(ctx, hash)
				used = got.LastUsedAt
				return err
			})
			return used
		}
		if u := touch(base.Add(time.Minute)); !u.Equal(base.Add(time.Minute)) {
			t.Fatalf("first use %v", u)
		}
		if u := touch(base.Add(90 * time.Second)); !u.Equal(base.Add(time.Minute)) {
			t.Fatalf("second use within a minute wrote %v", u)
		}
		if u := touch(base.Add(2 * time.Minute)); !u.Equal(base.Add(2 * time.Minute)) {
			t.Fatalf("use after a minute %v", u)
		}
	})

	t.Run("update and delete by the owner", func(t *testing.T) {
		q := *p
		q.Name, q.Scopes, q.ExpiresAt = "ci-2", []string{"profile:read"}, base.Add(30*time.Minute)
		tx(t, s, both, func(tx gatehouse.Tx) error { return tx.UpdatePAT(ctx, &q) })
		tx(t, s, owner, func(tx gatehouse.Tx) error {
			got, err := tx.PAT(ctx, alice.ID, p.ID)
			if err != nil || got.Name != "ci-2" || len(got.Scopes) != 1 || !got.ExpiresAt.Equal(q.ExpiresAt) {
				t.Fatalf("updated %+v %v", got, err)
			}
			return nil
		})
		wantIs(t, txErr(s, gatehouse.Scope{UserID: bob.ID}, func(tx gatehouse.Tx) error { return tx.DeletePAT(ctx, bob.ID, p.ID) }), gatehouse.ErrNotFound)
		tx(t, s, both, func(tx gatehouse.Tx) error { return tx.DeletePAT(ctx, alice.ID, p.ID) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.PATByHash(ctx, hash); return err }), gatehouse.ErrNotFound)
	})
}
