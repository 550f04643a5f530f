package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testGuards: what writes made for a caller check (a live session or PAT of
// an active account), owner counting and the workspace lock, member paging,
// the PAT count, and the revocation of a removed member's OAuth grants.
func testGuards(t *testing.T, open Opener) {
	s := open(t)
	alice, bob := newUser(t, s, "guard-alice@example.com"), newUser(t, s, "guard-bob@example.com")
	w := newWorkspace(t, s, "guards", alice)

	t.Run("session writable", func(t *testing.T) {
		sess := newSession(t, s, alice, "guard-1") // last used at base, ends at base+1h
		check := func(sid, uid string, now, idleSince time.Time) bool {
			var ok bool
			tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { ok, err = tx.SessionWritable(ctx, sid, uid, now, idleSince); return })
			return ok
		}
		now := base.Add(time.Minute)
		if !check(sess.ID, alice.ID, now, time.Time{}) || !check(sess.ID, alice.ID, now, base.Add(-time.Second)) {
			t.Fatal("a live session is not writable")
		}
		if check(sess.ID, bob.ID, now, time.Time{}) || check(gatehouse.NewID(base), alice.ID, now, time.Time{}) || check("junk", alice.ID, now, time.Time{}) {
			t.Fatal("another user's, an unknown or a malformed session is writable")
		}
		if check(sess.ID, alice.ID, base.Add(time.Hour), time.Time{}) {
			t.Fatal("an expired session is writable")
		}
		if check(sess.ID, alice.ID, now, base) {
			t.Fatal("an idle session is writable")
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, alice.ID, gatehouse.StatusLocked, base) })
		if check(sess.ID, alice.ID, now, time.Time{}) {
			t.Fatal("a locked account's session is writable")
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, alice.ID, gatehouse.StatusActive, base) })
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.RevokeSession(ctx, sess.ID, base) })
		if check(sess.ID, alice.ID, now, time.Time{}) {
			t.Fatal("a revoked session is writable")
		}
	})

	t.Run("PAT writable", func(t *testing.T) {
		p := &gatehouse.PAT{ID: gatehouse.NewID(base), WorkspaceID: w.ID, UserID: alice.ID, Name: "g", Prefix: "gth_guard0",
			Hash: strings.Repeat("9a", 32), Scopes: []string{"workspaces:write"}, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		both := gatehouse.Scope{WorkspaceID: w.ID, UserID: alice.ID}
		tx(t, s, both, func(tx gatehouse.Tx) error { return tx.CreatePAT(ctx, p) })
		check := func(id, uid string, now time.Time) bool {
			var ok bool
			tx(t, s, both, func(tx gatehouse.Tx) (err error) { ok, err = tx.PATWritable(ctx, id, uid, now); return })
			return ok
		}
		if !check(p.ID, alice.ID, base) {
			t.Fatal("a live PAT is not writable")
		}
		if check(p.ID, bob.ID, base) || check(p.ID, alice.ID, base.Add(time.Hour)) || check("junk", alice.ID, base) {
			t.Fatal("another user's, an expired or a malformed PAT is writable")
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, alice.ID, gatehouse.StatusDisabled, base) })
		if check(p.ID, alice.ID, base) {
			t.Fatal("a disabled owner's PAT is writable")
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, alice.ID, gatehouse.StatusActive, base) })
		var n int
		tx(t, s, both, func(tx gatehouse.Tx) (err error) { n, err = tx.CountPATsForUser(ctx, alice.ID); return })
		if n != 1 {
			t.Fatalf("CountPATsForUser = %d", n)
		}
		tx(t, s, both, func(tx gatehouse.Tx) error { return tx.DeletePAT(ctx, alice.ID, p.ID) })
		if check(p.ID, alice.ID, base) {
			t.Fatal("a deleted PAT is writable")
		}
	})

	t.Run("owners, lock and member pages", func(t *testing.T) {
		sc := wsScope(w.ID)
		var others []*gatehouse.User
		for i := range 5 {
			u := newUser(t, s, fmt.Sprintf("guard-m%d@example.com", i))
			others = append(others, u)
			role := gatehouse.RoleMember
			if i == 0 {
				role = gatehouse.RoleOwner
			}
			tx(t, s, sc, func(tx gatehouse.Tx) error {
				return tx.AddMember(ctx, &gatehouse.Member{WorkspaceID: w.ID, UserID: u.ID, Role: role, CreatedAt: base.Add(time.Duration(i+1) * time.Second)})
			})
		}
		tx(t, s, sc, func(tx gatehouse.Tx) error {
			if err := tx.LockWorkspace(ctx, w.ID); err != nil {
				return err
			}
			if n, err := tx.CountOwners(ctx, w.ID); err != nil || n != 2 {
				t.Fatalf("CountOwners = %d, %v", n, err)
			}
			return nil
		})
		wantIs(t, txErr(s, sc, func(tx gatehouse.Tx) error { return tx.LockWorkspace(ctx, gatehouse.NewID(base)) }), gatehouse.ErrNotFound)

		// Six members (alice first), two a page.
		var got []string
		cursor := ""
		for range 4 {
			var page []*gatehouse.Member
			tx(t, s, sc, func(tx gatehouse.Tx) (err error) { page, err = tx.MembersPage(ctx, w.ID, cursor, 2); return })
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				got = append(got, m.UserID)
			}
			cursor = page[len(page)-1].UserID
		}
		want := []string{alice.ID}
		for _, u := range others {
			want = append(want, u.ID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("pages %v, want %v", got, want)
		}
		var all []*gatehouse.Member
		tx(t, s, sc, func(tx gatehouse.Tx) (err error) {
			all, err = tx.MembersPage(ctx, w.ID, "", gatehouse.MaxMembersPage+10)
			return
		})
		if len(all) != 6 {
			t.Fatalf("one page of all: %d", len(all))
		}
		if err := txErr(s, sc, func(tx gatehouse.Tx) error { _, err := tx.MembersPage(ctx, w.ID, "junk", 2); return err }); gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
			t.Fatalf("malformed cursor: %v", err)
		}
	})

	t.Run("revoke a member's OAuth grants", func(t *testing.T) {
		other := newWorkspace(t, s, "guards-other", alice)
		const client = "7d0f5c2e-3b1a-4c6d-9e8f-0a1b2c3d4e61"
		grant := func(ws, user string) string {
			g := &gatehouse.OAuthGrant{ID: gatehouse.NewID(base), WorkspaceID: ws, ClientID: client, UserID: user, SessionID: gatehouse.NewID(base),
				Scope: "profile:read", CreatedAt: base, LastUsedAt: base, ExpiresAt: base.Add(time.Hour), RefreshHash: hashOf("g" + gatehouse.NewID(base))}
			tx(t, s, wsScope(ws), func(tx gatehouse.Tx) error { return tx.CreateOAuthGrant(ctx, g) })
			return g.ID
		}
		mine1, mine2, elsewhere, bobs := grant(w.ID, alice.ID), grant(w.ID, alice.ID), grant(other.ID, alice.ID), grant(w.ID, bob.ID)
		var n int64
		tx(t, s, wsScope(w.ID), func(tx gatehouse.Tx) (err error) {
			n, err = tx.RevokeUserOAuthGrants(ctx, w.ID, alice.ID, base)
			return
		})
		if n != 2 {
			t.Fatalf("revoked %d", n)
		}
		for _, c := range []struct {
			ws, id  string
			revoked bool
		}{{w.ID, mine1, true}, {w.ID, mine2, true}, {other.ID, elsewhere, false}, {w.ID, bobs, false}} {
			tx(t, s, wsScope(c.ws), func(tx gatehouse.Tx) error {
				g, err := tx.OAuthGrantByID(ctx, c.ws, c.id)
				if err == nil && g.RevokedAt.IsZero() == c.revoked {
					t.Errorf("grant %s revoked %v, want %v", c.id, !g.RevokedAt.IsZero(), c.revoked)
				}
				return err
			})
		}
		tx(t, s, wsScope(w.ID), func(tx gatehouse.Tx) (err error) {
			n, err = tx.RevokeUserOAuthGrants(ctx, w.ID, alice.ID, base)
			return
		})
		if n != 0 {
			t.Fatalf("revoked again %d", n)
		}
	})
}
