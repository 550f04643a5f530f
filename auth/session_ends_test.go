package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/pquerna/otp/totp"
)

// rp is a client with a back-channel logout URI in a workspace of its own
// (owned by the account), holding a grant approved from a session.
type rp struct {
	workspaceID, clientID, grantID string
}

// grantFrom registers a client with a back-channel logout URI in a new
// workspace owned by tr's person and gives it a grant approved from tr's
// session.
func (e *env) grantFrom(tr *auth.TokenResponse) rp {
	e.t.Helper()
	ws := &auth.Workspaces{Core: e.core}
	w, err := ws.Create(ctx, sessionPrincipal(tr), "rp of "+tr.SessionID)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	r := rp{workspaceID: w.ID, clientID: gatehouse.NewID(now), grantID: gatehouse.NewID(now)}
	if err := e.store.Tx(ctx, gatehouse.Scope{WorkspaceID: w.ID}, func(tx gatehouse.Tx) error {
		if err := tx.CreateClient(ctx, &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: w.ID, ClientID: r.clientID, Name: "rp",
			Public: true, Grants: []string{gatehouse.GrantAuthorizationCode}, RedirectURIs: []string{"https://rp.example.com/cb"},
			BackchannelLogoutURI: "https://rp.example.com/bc", CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateOAuthGrant(ctx, &gatehouse.OAuthGrant{ID: r.grantID, WorkspaceID: w.ID, ClientID: r.clientID,
			UserID: tr.UserID, SessionID: tr.SessionID, Scope: "openid", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
			RefreshHash: bytes.Repeat([]byte{2}, 32)})
	}); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// notices reads every back-channel logout notice in the outbox.
func (e *env) notices() []auth.BackchannelNotice {
	e.t.Helper()
	var out []auth.BackchannelNotice
	far := e.clock.Now().Add(24 * time.Hour)
	if err := e.store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		items, err := tx.ClaimOutbox(ctx, far, far, 1000)
		for _, it := range items {
			var n auth.BackchannelNotice
			if it.Kind == auth.OutboxBackchannel && json.Unmarshal(it.Payload, &n) == nil {
				out = append(out, n)
			}
		}
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) noticeFor(sessionID string) bool {
	for _, n := range e.notices() {
		if n.SessionID == sessionID {
			return true
		}
	}
	return false
}

// TestPasswordChangeTellsClientsOfEndedSessions: a password change ends the
// person's other sessions, and a client holding a grant from one of them
// gets a back-channel logout notice in the outbox (both stores).
func TestPasswordChangeTellsClientsOfEndedSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		if _, err := e.s.CreateAccount(ctx, "pc@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		other := e.login("pc@example.com")
		me := e.login("pc@example.com")
		e.grantFrom(other)
		if err := e.s.ChangePassword(ctx, sessionPrincipal(me), goodPassword, "a new passphrase for pc"); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(other.SessionID) {
			t.Fatal("no back-channel logout notice for the session the password change ended")
		}
	})
}

// TestSessionEndsEnqueueBackchannelLogout: the other ways a session ends
// (password reset, account deletion, revoke-all, the person revoking one)
// each write a back-channel logout notice (both stores).
func TestSessionEndsEnqueueBackchannelLogout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		for _, a := range []string{"one@example.com", "two@example.com", "three@example.com"} {
			if _, err := e.s.CreateAccount(ctx, a, goodPassword); err != nil {
				t.Fatal(err)
			}
		}
		// The person revokes one of their sessions.
		one, held := e.login("one@example.com"), e.login("one@example.com")
		e.grantFrom(held)
		if err := e.s.Revoke(ctx, sessionPrincipal(one), held.SessionID); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(held.SessionID) {
			t.Error("revoking a session: no notice")
		}
		// Password reset: every session ends.
		two := e.login("two@example.com")
		e.grantFrom(two)
		if err := e.s.RequestPasswordReset(ctx, "two@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := e.s.ConfirmPasswordReset(ctx, e.lastToken("two@example.com", "reset-password"), "a reset passphrase for two"); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(two.SessionID) {
			t.Error("password reset: no notice")
		}
		// Account deletion.
		three := e.login("three@example.com")
		e.grantFrom(three)
		if err := e.s.DeleteAccount(ctx, sessionPrincipal(three)); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(three.SessionID) {
			t.Error("account deletion: no notice")
		}
		// Revoke-all.
		again := e.login("one@example.com")
		e.grantFrom(again)
		e.clock.Advance(time.Second)
		if _, err := e.s.RevokeAll(ctx); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(again.SessionID) {
			t.Error("revoke-all: no notice")
		}
	})
}

// TestDeleteAccountTellsClientsWhileTimePasses: account deletion ends the
// grants workspace by workspace before the sessions; with a clock that
// moves between its transactions, the clients holding grants from the
// ended sessions are still told (both stores).
func TestDeleteAccountTellsClientsWhileTimePasses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		if _, err := e.s.CreateAccount(ctx, "del@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		tr := e.login("del@example.com")
		e.grantFrom(tr)
		e.core.Now = func() time.Time { e.clock.Advance(time.Millisecond); return e.clock.Now() }
		if err := e.s.DeleteAccount(ctx, sessionPrincipal(tr)); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(tr.SessionID) {
			t.Fatal("account deletion: no back-channel logout notice")
		}
	})
}

// TestLogoutReuseAndFactorRemovalEnqueueBackchannelLogout: a logout,
// refresh-token reuse past the grace window, and removing the factor a
// session signed in with each write a back-channel logout notice for the
// client holding a grant from that session (both stores).
func TestLogoutReuseAndFactorRemovalEnqueueBackchannelLogout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		kek, _ := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
		m, err := auth.NewMFA(e.core, e.s, auth.MFAConfig{KEK: kek, Hasher: e.hasher})
		if err != nil {
			t.Fatal(err)
		}
		e.signup("lo@example.com")

		out := e.login("lo@example.com")
		e.grantFrom(out)
		if err := e.s.Logout(ctx, out.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(out.SessionID) {
			t.Error("logout: no notice")
		}

		re := e.login("lo@example.com")
		e.grantFrom(re)
		if _, err := e.s.Refresh(ctx, re.RefreshToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if _, err := e.s.Refresh(ctx, re.RefreshToken); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("reuse: %v", err)
		}
		if !e.noticeFor(re.SessionID) {
			t.Error("refresh reuse: no notice")
		}

		tr := e.login("lo@example.com")
		p := sessionPrincipal(tr)
		enr, err := m.EnrolTOTP(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(enr.Secret, e.clock.Now())
		if err := m.ConfirmTOTP(ctx, p, enr.ID, code); err != nil {
			t.Fatal(err)
		}
		_, err = e.s.PasswordLogin(ctx, "lo@example.com", goodPassword)
		var mr *auth.MFARequiredError
		if !errors.As(err, &mr) {
			t.Fatalf("sign-in: %v", err)
		}
		e.clock.Advance(30 * time.Second)
		next, _ := totp.GenerateCode(enr.Secret, e.clock.Now())
		two, err := m.VerifyMFA(ctx, mr.Token, auth.SecondFactor{Code: next})
		if err != nil {
			t.Fatal(err)
		}
		e.grantFrom(two)
		if err := m.RemoveFactor(ctx, sessionPrincipal(two), enr.ID); err != nil {
			t.Fatal(err)
		}
		if !e.noticeFor(two.SessionID) {
			t.Error("factor removal: no notice")
		}
	})
}
