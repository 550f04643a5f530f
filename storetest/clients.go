package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testClients: OAuth clients are created, listed, read and changed in their
// workspace's scope only, found by client id without a scope, and go with
// their workspace.
func testClients(t *testing.T, open Opener) {
	s := open(t)
	alice := newUser(t, s, "client-alice@example.com")
	a, b := newWorkspace(t, s, "clients-a", alice), newWorkspace(t, s, "clients-b", alice)
	c := &gatehouse.Client{ID: gatehouse.NewID(base), WorkspaceID: a.ID, ClientID: "7d0f5c2e-3b1a-4c6d-9e8f-0a1b2c3d4e5f", Name: "billing",
		SecretHash: strings.Repeat("ef", 32), Grants: []string{gatehouse.GrantClientCredentials},
		Scopes: []string{"audit:read", "workspaces:read"}, CreatedBy: alice.ID, CreatedAt: base,
		IDTokenAlg: "RS256", PostLogoutRedirectURIs: []string{"https://app.example.com/bye", "https://app.example.com/bye?x=1"},
		BackchannelLogoutURI: "https://app.example.com/backchannel"}

	t.Run("create in the workspace's scope", func(t *testing.T) {
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.CreateClient(ctx, c) })
		dup := *c
		dup.ID, dup.WorkspaceID = gatehouse.NewID(base), b.ID
		wantIs(t, txErr(s, wsScope(b.ID), func(tx gatehouse.Tx) error { return tx.CreateClient(ctx, &dup) }), gatehouse.ErrConflict)
	})

	t.Run("read in the workspace only", func(t *testing.T) {
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			got, err := tx.Client(ctx, a.ID, c.ClientID)
			if err != nil {
				return err
			}
			if got.ID != c.ID || got.Name != "billing" || got.SecretHash != c.SecretHash || len(got.Scopes) != 2 ||
				!got.HasGrant(gatehouse.GrantClientCredentials) || got.Public || !got.CreatedAt.Equal(base) || !got.SecretRotatedAt.IsZero() ||
				got.IDTokenAlg != "RS256" || strings.Join(got.PostLogoutRedirectURIs, " ") != strings.Join(c.PostLogoutRedirectURIs, " ") ||
				got.BackchannelLogoutURI != c.BackchannelLogoutURI {
				t.Fatalf("Client %+v", got)
			}
			l, err := tx.Clients(ctx, a.ID)
			if err != nil || len(l) != 1 {
				t.Fatalf("Clients %v %v", l, err)
			}
			return nil
		})
		tx(t, s, wsScope(b.ID), func(tx gatehouse.Tx) error {
			_, err := tx.Client(ctx, b.ID, c.ClientID)
			wantIs(t, err, gatehouse.ErrNotFound)
			l, err := tx.Clients(ctx, b.ID)
			if err != nil || len(l) != 0 {
				t.Fatalf("workspace B lists %v %v", l, err)
			}
			wantIs(t, tx.DeleteClient(ctx, b.ID, c.ClientID), gatehouse.ErrNotFound)
			wantIs(t, tx.SetClientSecret(ctx, b.ID, c.ClientID, strings.Repeat("00", 32), base), gatehouse.ErrNotFound)
			return nil
		})
	})

	t.Run("find by client id without a scope", func(t *testing.T) {
		find := func(tx gatehouse.Tx) error {
			got, err := tx.ClientByClientID(ctx, c.ClientID)
			if err != nil {
				return err
			}
			if got.WorkspaceID != a.ID || got.SecretHash != c.SecretHash {
				t.Fatalf("ClientByClientID %+v", got)
			}
			_, err = tx.ClientByClientID(ctx, "00000000-0000-4000-8000-000000000000")
			wantIs(t, err, gatehouse.ErrNotFound)
			return nil
		}
		tx(t, s, unscoped, find)
		// One statement: it needs no transaction either.
		if err := s.Read(ctx, unscoped, find); err != nil {
			t.Fatalf("ClientByClientID in an unscoped Read: %v", err)
		}
	})

	t.Run("rotate the secret", func(t *testing.T) {
		at := base.Add(time.Hour)
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			if err := tx.SetClientSecret(ctx, a.ID, c.ClientID, strings.Repeat("12", 32), at); err != nil {
				return err
			}
			got, err := tx.Client(ctx, a.ID, c.ClientID)
			if err != nil {
				return err
			}
			if got.SecretHash != strings.Repeat("12", 32) || !got.SecretRotatedAt.Equal(at) {
				t.Fatalf("after rotation %+v", got)
			}
			return nil
		})
	})

	t.Run("delete", func(t *testing.T) {
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.DeleteClient(ctx, a.ID, c.ClientID) })
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			_, err := tx.ClientByClientID(ctx, c.ClientID)
			wantIs(t, err, gatehouse.ErrNotFound)
			return nil
		})
	})
}
