package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testMyGrants: UserOAuthGrants lists one person's live grants in the
// scope's workspace, newest first: never another person's, never a
// revoked, expired or idle one.
func testMyGrants(t *testing.T, open Opener) {
	s := open(t)
	alice := newUser(t, s, "mygrants-alice@example.com")
	bob := newUser(t, s, "mygrants-bob@example.com")
	a := newWorkspace(t, s, "mygrants-a", alice)
	const client = "7d0f5c2e-3b1a-4c6d-9e8f-0a1b2c3d4e61"
	now := base.Add(time.Hour)
	idleSince := now.Add(-30 * time.Minute)
	mk := func(user *gatehouse.User, created, lastUsed, expires, revoked time.Time) *gatehouse.OAuthGrant {
		g := &gatehouse.OAuthGrant{ID: gatehouse.NewID(created), WorkspaceID: a.ID, ClientID: client, UserID: user.ID,
			SessionID: gatehouse.NewID(created), Scope: "openid email", CreatedAt: created, LastUsedAt: lastUsed, ExpiresAt: expires,
			RevokedAt: revoked, RefreshHash: hashOf("mygrants-" + created.String() + user.ID)}
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.CreateOAuthGrant(ctx, g) })
		return g
	}
	older := mk(alice, base, now, now.Add(time.Hour), time.Time{})
	newer := mk(alice, base.Add(time.Minute), now.Add(-time.Minute), now.Add(time.Hour), time.Time{})
	mk(alice, base.Add(2*time.Minute), now, now.Add(time.Hour), now.Add(-time.Second)) // revoked
	mk(alice, base.Add(3*time.Minute), now, now, time.Time{})                          // expired
	mk(alice, base.Add(4*time.Minute), idleSince, now.Add(time.Hour), time.Time{})     // idle
	mk(bob, base.Add(5*time.Minute), now, now.Add(time.Hour), time.Time{})             // another person's

	var got []*gatehouse.OAuthGrant
	tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
		var err error
		got, err = tx.UserOAuthGrants(ctx, a.ID, alice.ID, now, idleSince)
		return err
	})
	if len(got) != 2 || got[0].ID != newer.ID || got[1].ID != older.ID {
		t.Fatalf("UserOAuthGrants = %v, want [%s %s]", grantIDs(got), newer.ID, older.ID)
	}
	if got[0].Scope != "openid email" || got[0].ClientID != client || !got[0].CreatedAt.Equal(newer.CreatedAt) || !got[0].LastUsedAt.Equal(newer.LastUsedAt) {
		t.Errorf("grant read back as %+v", got[0])
	}
	tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
		var err error
		got, err = tx.UserOAuthGrants(ctx, a.ID, "not-an-id", now, idleSince)
		return err
	})
	if len(got) != 0 {
		t.Fatalf("a malformed user id listed %d grants", len(got))
	}
}

func grantIDs(gs []*gatehouse.OAuthGrant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}
