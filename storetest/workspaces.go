package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func testWorkspaces(t *testing.T, open Opener) {
	s := open(t)
	owner := newUser(t, s, "owner@example.com")
	other := newUser(t, s, "other@example.com")

	t.Run("CreateAndRead", func(t *testing.T) {
		w := newWorkspace(t, s, "Acme", owner)
		var got *gatehouse.Workspace
		tx(t, s, wsScope(w.ID), func(tx gatehouse.Tx) (err error) { got, err = tx.WorkspaceByID(ctx, w.ID); return })
		if *got != *w {
			t.Errorf("WorkspaceByID = %+v, want %+v", got, w)
		}
		var m *gatehouse.Member
		tx(t, s, wsScope(w.ID), func(tx gatehouse.Tx) (err error) { m, err = tx.Member(ctx, w.ID, owner.ID); return })
		want := gatehouse.Member{WorkspaceID: w.ID, UserID: owner.ID, Email: owner.Email, Role: gatehouse.RoleOwner, CreatedAt: base}
		if *m != want {
			t.Errorf("Member = %+v, want %+v", m, want)
		}
	})

	t.Run("WorkspaceConflict", func(t *testing.T) {
		w := newWorkspace(t, s, "Twice", nil)
		err := txErr(s, wsScope(w.ID), func(tx gatehouse.Tx) error {
			return tx.CreateWorkspace(ctx, &gatehouse.Workspace{ID: w.ID, Name: "again", CreatedAt: base})
		})
		wantIs(t, err, gatehouse.ErrConflict)
	})

	t.Run("WorkspacesForUser", func(t *testing.T) {
		u := newUser(t, s, "lister@example.com")
		a := newWorkspace(t, s, "A", u)
		b := &gatehouse.Workspace{ID: gatehouse.NewID(base), Name: "B", CreatedAt: base.Add(time.Minute)}
		tx(t, s, wsScope(b.ID), func(tx gatehouse.Tx) error {
			if err := tx.CreateWorkspace(ctx, b); err != nil {
				return err
			}
			return tx.AddMember(ctx, &gatehouse.Member{WorkspaceID: b.ID, UserID: u.ID, Role: gatehouse.RoleMember, CreatedAt: base})
		})
		newWorkspace(t, s, "not mine", other)
		var got []*gatehouse.Workspace
		tx(t, s, gatehouse.Scope{UserID: u.ID}, func(tx gatehouse.Tx) (err error) { got, err = tx.WorkspacesForUser(ctx, u.ID); return })
		if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
			t.Errorf("WorkspacesForUser = %v, want [%s %s] oldest first", names(got), a.ID, b.ID)
		}
		tx(t, s, gatehouse.Scope{UserID: other.ID}, func(tx gatehouse.Tx) (err error) {
			got, err = tx.WorkspacesForUser(ctx, gatehouse.NewID(base))
			return
		})
		if len(got) != 0 {
			t.Errorf("WorkspacesForUser(stranger) = %v, want none", names(got))
		}
	})

	t.Run("WorkspacesForUserBounded", func(t *testing.T) {
		// Anyone may add any account to workspaces of their own: the list
		// of a person's workspaces must not grow without bound.
		u := newUser(t, s, "popular@example.com")
		for i := 0; i <= gatehouse.MaxWorkspacesListed; i++ {
			newWorkspace(t, s, "W", u)
		}
		var got []*gatehouse.Workspace
		tx(t, s, gatehouse.Scope{UserID: u.ID}, func(tx gatehouse.Tx) (err error) { got, err = tx.WorkspacesForUser(ctx, u.ID); return })
		if len(got) != gatehouse.MaxWorkspacesListed {
			t.Errorf("WorkspacesForUser = %d workspaces, want at most %d", len(got), gatehouse.MaxWorkspacesListed)
		}
	})

	t.Run("Members", func(t *testing.T) {
		w := newWorkspace(t, s, "Team", owner)
		sc := wsScope(w.ID)
		add := &gatehouse.Member{WorkspaceID: w.ID, UserID: other.ID, Role: gatehouse.RoleMember, CreatedAt: base.Add(time.Second)}
		tx(t, s, sc, func(tx gatehouse.Tx) error { return tx.AddMember(ctx, add) })
		wantIs(t, txErr(s, sc, func(tx gatehouse.Tx) error { return tx.AddMember(ctx, add) }), gatehouse.ErrConflict)

		var ms []*gatehouse.Member
		tx(t, s, sc, func(tx gatehouse.Tx) (err error) { ms, err = tx.Members(ctx, w.ID); return })
		if len(ms) != 2 || ms[0].UserID != owner.ID || ms[1].UserID != other.ID || ms[1].Email != other.Email || ms[1].Role != gatehouse.RoleMember {
			t.Fatalf("Members = %+v", ms)
		}

		tx(t, s, sc, func(tx gatehouse.Tx) error { return tx.UpdateMemberRole(ctx, w.ID, other.ID, gatehouse.RoleAdmin) })
		var m *gatehouse.Member
		tx(t, s, sc, func(tx gatehouse.Tx) (err error) { m, err = tx.Member(ctx, w.ID, other.ID); return })
		if m.Role != gatehouse.RoleAdmin {
			t.Errorf("role after update = %q, want admin", m.Role)
		}
		err := txErr(s, sc, func(tx gatehouse.Tx) error { return tx.UpdateMemberRole(ctx, w.ID, other.ID, "root") })
		if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
			t.Errorf("UpdateMemberRole(root) = %v, want invalid_request", err)
		}

		tx(t, s, sc, func(tx gatehouse.Tx) error { return tx.RemoveMember(ctx, w.ID, other.ID) })
		wantIs(t, txErr(s, sc, func(tx gatehouse.Tx) error { _, err := tx.Member(ctx, w.ID, other.ID); return err }), gatehouse.ErrNotFound)
		wantIs(t, txErr(s, sc, func(tx gatehouse.Tx) error { return tx.RemoveMember(ctx, w.ID, other.ID) }), gatehouse.ErrNotFound)
		wantIs(t, txErr(s, sc, func(tx gatehouse.Tx) error { return tx.UpdateMemberRole(ctx, w.ID, other.ID, gatehouse.RoleMember) }), gatehouse.ErrNotFound)
	})

	t.Run("MemberOfUnknownUser", func(t *testing.T) {
		w := newWorkspace(t, s, "Ghosts", nil)
		err := txErr(s, wsScope(w.ID), func(tx gatehouse.Tx) error {
			return tx.AddMember(ctx, &gatehouse.Member{WorkspaceID: w.ID, UserID: gatehouse.NewID(base), Role: gatehouse.RoleMember, CreatedAt: base})
		})
		wantIs(t, err, gatehouse.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		w := newWorkspace(t, s, "Empty", nil)
		for name, fn := range map[string]func(tx gatehouse.Tx) error{
			"WorkspaceByID":          func(tx gatehouse.Tx) error { _, err := tx.WorkspaceByID(ctx, gatehouse.NewID(base)); return err },
			"WorkspaceByIDMalformed": func(tx gatehouse.Tx) error { _, err := tx.WorkspaceByID(ctx, "x"); return err },
			"Member":                 func(tx gatehouse.Tx) error { _, err := tx.Member(ctx, w.ID, owner.ID); return err },
		} {
			t.Run(name, func(t *testing.T) { wantIs(t, txErr(s, wsScope(w.ID), fn), gatehouse.ErrNotFound) })
		}
		// A malformed scope names nothing.
		wantIs(t, txErr(s, wsScope("nope"), func(gatehouse.Tx) error { return nil }), gatehouse.ErrNotFound)
	})
}

func names(ws []*gatehouse.Workspace) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID+" "+w.Name)
	}
	return out
}
