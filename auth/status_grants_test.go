package auth_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

func (e *env) grantRevoked(r rp) bool {
	e.t.Helper()
	var g *gatehouse.OAuthGrant
	if err := e.store.Tx(ctx, gatehouse.Scope{WorkspaceID: r.workspaceID}, func(tx gatehouse.Tx) error {
		var err error
		g, err = tx.OAuthGrantByID(ctx, r.workspaceID, r.grantID)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return !g.RevokedAt.IsZero()
}

// TestStatusChangeEndsGrants: locking an account ends its sessions (with a
// back-channel notice) and its OAuth grants in every workspace, so that
// reactivating it brings none back (both stores).
func TestStatusChangeEndsGrants(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		if _, err := e.s.CreateAccount(ctx, "st@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		a := e.login("st@example.com")
		b := e.login("st@example.com")
		ra, rb := e.grantFrom(a), e.grantFrom(b)
		// A grant whose session had already ended (a logout that left it).
		if err := e.core.InTx(ctx, gatehouse.Scope{}, func(t *auth.Tx) error { return t.Tx.RevokeSession(ctx, b.SessionID, e.clock.Now()) }); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		if _, err := e.s.Accounts.SetStatus(ctx, nil, a.UserID, gatehouse.StatusLocked, "test"); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(a.SessionID) {
			t.Error("no back-channel logout notice for the locked account's session")
		}
		if !e.grantRevoked(ra) || !e.grantRevoked(rb) {
			t.Errorf("grants live after locking: %v %v", e.grantRevoked(ra), e.grantRevoked(rb))
		}
		if _, err := e.s.Accounts.SetStatus(ctx, nil, a.UserID, gatehouse.StatusActive, ""); err != nil {
			t.Fatal(err)
		}
		if !e.grantRevoked(ra) || !e.grantRevoked(rb) {
			t.Error("a grant came back with reactivation")
		}
	})
}
