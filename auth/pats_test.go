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

func TestPATAuthenticate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(s)
		c := newTestClock()
		c.t = time.Now().UTC() // user rows are stamped with the real clock
		f.core.Now = c.Now
		pats := &auth.PATs{Core: f.core, DefaultTTL: time.Hour}
		alice := f.user(t, "alice@example.com")
		w, err := f.ws.Create(ctx, alice, "Acme")
		if err != nil {
			t.Fatal(err)
		}
		cr, err := pats.Create(ctx, alice, w.ID, "ci", []string{"audit:read", "audit:read"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cr.PAT.Scopes) != 1 || !cr.PAT.ExpiresAt.Equal(c.Now().Truncate(time.Microsecond).Add(time.Hour)) {
			t.Fatalf("created %+v", cr.PAT)
		}
		p, err := pats.Authenticate(ctx, cr.Token.Reveal())
		if err != nil || p.Kind != gatehouse.KindPAT || p.UserID != alice.UserID || p.WorkspaceID != w.ID || p.TokenID != cr.PAT.ID ||
			!p.HasScope("audit:read") || p.HasScope("workspaces:read") {
			t.Fatalf("principal %+v, %v", p, err)
		}
		// A PAT principal cannot mint another.
		if _, err := pats.Create(ctx, p, w.ID, "x", nil, time.Time{}); code(err) != gatehouse.EForbidden {
			t.Fatalf("PAT mints a PAT: %v", err)
		}
		// Expired: refused.
		c.Advance(time.Hour)
		if _, err := pats.Authenticate(ctx, cr.Token.Reveal()); code(err) != gatehouse.EUnauthorized {
			t.Fatalf("expired PAT: %v", err)
		}
		// Owner not active: refused. (The clock moved an hour: the sign-in
		// is not recent any more, which PAT creation needs, reauth.go.)
		f.core.ReauthMaxAge = 2 * time.Hour
		cr2, err := pats.Create(ctx, alice, w.ID, "ci2", nil, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			return tx.UpdateUserStatus(ctx, alice.UserID, gatehouse.StatusLocked, c.Now())
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := pats.Authenticate(ctx, cr2.Token.Reveal()); code(err) != gatehouse.EUnauthorized {
			t.Fatalf("locked owner's PAT: %v", err)
		}
		// Removed from the workspace: the PAT goes with the membership.
		bob, carol := f.user(t, "bob@example.com"), f.user(t, "carol@example.com")
		w2, err := f.ws.Create(ctx, bob, "Bobs")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ws.AddMember(ctx, bob, w2.ID, "carol@example.com", gatehouse.RoleMember); err != nil {
			t.Fatal(err)
		}
		cr3, err := pats.Create(ctx, carol, w2.ID, "ci", nil, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pats.Authenticate(ctx, cr3.Token.Reveal()); err != nil {
			t.Fatal(err)
		}
		if err := f.ws.RemoveMember(ctx, bob, w2.ID, carol.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := pats.Authenticate(ctx, cr3.Token.Reveal()); code(err) != gatehouse.EUnauthorized {
			t.Fatalf("PAT of a removed member: %v", err)
		}
	})
}
