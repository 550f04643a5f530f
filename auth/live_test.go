package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// A PAT with workspaces:write changes members only while its owner is
// active; a revoked session writes nothing, and neither does a client.
func TestWritesNeedALiveCredential(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(s)
		alice := f.user(t, "live-alice@example.com")
		f.user(t, "live-bob@example.com")
		f.user(t, "live-carol@example.com")
		w, err := f.ws.Create(ctx, alice, "w")
		if err != nil {
			t.Fatal(err)
		}
		pats := &auth.PATs{Core: f.core}
		c, err := pats.Create(ctx, alice, w.ID, "ci", []string{gatehouse.ScopeWorkspacesWrite, gatehouse.ScopeWorkspacesRead}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		pp, err := pats.Authenticate(ctx, c.Token.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ws.AddMember(ctx, pp, w.ID, "live-bob@example.com", gatehouse.RoleMember); err != nil {
			t.Fatalf("a live PAT: %v", err)
		}
		setStatus := func(st gatehouse.UserStatus) {
			if err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, alice.UserID, st, time.Now()) }); err != nil {
				t.Fatal(err)
			}
		}
		setStatus(gatehouse.StatusLocked)
		if _, err := f.ws.AddMember(ctx, pp, w.ID, "live-carol@example.com", gatehouse.RoleMember); code(err) != gatehouse.EUnauthorized {
			t.Fatalf("a locked owner's PAT: %v", err)
		}
		if _, err := f.ws.AddMember(ctx, alice, w.ID, "live-carol@example.com", gatehouse.RoleMember); code(err) != gatehouse.EUnauthorized {
			t.Fatalf("a locked account's session: %v", err)
		}
		setStatus(gatehouse.StatusActive)
		if err := pats.Delete(ctx, alice, c.PAT.ID); err != nil {
			t.Fatal(err)
		}
		// The principal outlives its PAT (a request in flight): no write.
		if _, err := f.ws.AddMember(ctx, pp, w.ID, "live-carol@example.com", gatehouse.RoleMember); code(err) != gatehouse.EUnauthorized {
			t.Fatalf("a deleted PAT: %v", err)
		}
		// A client's token changes nothing.
		client := &gatehouse.Principal{Kind: gatehouse.KindClient, ClientID: "7d0f5c2e-3b1a-4c6d-9e8f-0a1b2c3d4e62", WorkspaceID: w.ID,
			Scopes: []string{gatehouse.ScopeWorkspacesWrite}}
		if _, err := f.ws.AddMember(ctx, client, w.ID, "live-carol@example.com", gatehouse.RoleMember); code(err) != gatehouse.EForbidden {
			t.Fatalf("a client: %v", err)
		}
		ms, err := f.ws.Members(ctx, alice, w.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("members %d %v", len(ms), err)
		}
	})
}
