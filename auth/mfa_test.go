package auth_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/pquerna/otp/totp"
)

// TestSensitiveChangesNeedRecentSignIn: adding a factor, making recovery
// codes and creating a PAT need auth_time within the maximum age
// (reauthentication_required after it); re-authenticating freshens the same
// session; a PAT gets 403 on enrolment.
func TestSensitiveChangesNeedRecentSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		kek, err := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		m, err := auth.NewMFA(e.core, e.s, auth.MFAConfig{KEK: kek, Hasher: e.hasher})
		if err != nil {
			t.Fatal(err)
		}
		u := e.signup("re@example.com")
		tr := e.login("re@example.com")
		p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: u.ID, SessionID: tr.SessionID}
		ws, err := (&auth.Workspaces{Core: e.core}).Create(ctx, p, "w")
		if err != nil {
			t.Fatal(err)
		}
		pats := &auth.PATs{Core: e.core}
		if _, err := m.EnrolTOTP(ctx, p); err != nil {
			t.Fatalf("fresh sign-in: %v", err)
		}
		e.clock.Advance(auth.DefaultReauthMaxAge + time.Second)
		if _, err := m.EnrolTOTP(ctx, p); gatehouse.ErrorCode(err) != gatehouse.EReauthenticationRequired {
			t.Fatalf("enrol after 10m: %v", err)
		}
		if _, err := m.RecoveryCodes(ctx, p); gatehouse.ErrorCode(err) != gatehouse.EReauthenticationRequired {
			t.Fatalf("recovery codes after 10m: %v", err)
		}
		if _, err := pats.Create(ctx, p, ws.ID, "ci", nil, time.Time{}); gatehouse.ErrorCode(err) != gatehouse.EReauthenticationRequired {
			t.Fatalf("PAT after 10m: %v", err)
		}
		if _, err := m.Reauthenticate(ctx, p, "wrong password here", auth.SecondFactor{}); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("reauthenticate with a wrong password: %v", err)
		}
		rt, err := m.Reauthenticate(ctx, p, goodPassword, auth.SecondFactor{})
		if err != nil || rt.SessionID != tr.SessionID || rt.RefreshToken != "" {
			t.Fatalf("reauthenticate: %v %+v", err, rt)
		}
		if got := e.session(tr.SessionID).AuthTime; !got.Equal(e.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("auth_time %v, want now", got)
		}
		if len(e.events(gatehouse.EventReauthenticated)) != 1 {
			t.Fatal("no reauthenticated event")
		}
		if _, err := m.RecoveryCodes(ctx, p); err != nil {
			t.Fatalf("recovery codes after reauthentication: %v", err)
		}
		if _, err := pats.Create(ctx, p, ws.ID, "ci", nil, time.Time{}); err != nil {
			t.Fatalf("PAT after reauthentication: %v", err)
		}
		pat := &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: u.ID, TokenID: "x", WorkspaceID: ws.ID}
		if _, err := m.EnrolTOTP(ctx, pat); gatehouse.ErrorCode(err) != gatehouse.EForbidden {
			t.Fatalf("a PAT enrols: %v", err)
		}
		if _, err := m.Factors(ctx, pat); gatehouse.ErrorCode(err) != gatehouse.EForbidden {
			t.Fatalf("a PAT lists factors: %v", err)
		}
	})
}

// TestMagicLinkIsAFirstFactor: a magic link on an account with an active
// TOTP answers mfa_required (the link spent, no session); the code then
// gives a session whose amr is email, otp, mfa and that records both
// factors' events (both stores).
func TestMagicLinkIsAFirstFactor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		kek, _ := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
		m, err := auth.NewMFA(e.core, e.s, auth.MFAConfig{KEK: kek, Hasher: e.hasher})
		if err != nil {
			t.Fatal(err)
		}
		u := e.signup("ml@example.com")
		tr := e.login("ml@example.com")
		p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: u.ID, SessionID: tr.SessionID}
		enr, err := m.EnrolTOTP(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(enr.Secret, e.clock.Now())
		if err := m.ConfirmTOTP(ctx, p, enr.ID, code); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RequestMagicLink(ctx, "ml@example.com"); err != nil {
			t.Fatal(err)
		}
		toks, _ := e.mailTokens()
		_, err = e.s.VerifyMagicLink(ctx, toks[len(toks)-1])
		var mr *auth.MFARequiredError
		if !errors.As(err, &mr) || gatehouse.ErrorCode(err) != gatehouse.EMFARequired || len(mr.Factors) != 1 || strings.Contains(err.Error(), mr.Token) {
			t.Fatalf("magic link: %v", err)
		}
		if _, err := e.s.VerifyMagicLink(ctx, toks[len(toks)-1]); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("the link again: %v", err)
		}
		e.clock.Advance(30 * time.Second)
		next, _ := totp.GenerateCode(enr.Secret, e.clock.Now())
		out, err := m.VerifyMFA(ctx, mr.Token, auth.SecondFactor{Code: next})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.session(out.SessionID).AMR; strings.Join(got, " ") != "email otp mfa" {
			t.Fatalf("amr %v", got)
		}
		if len(e.events(gatehouse.EventMFASucceeded)) != 1 || len(e.events(gatehouse.EventFactorAdded)) != 1 {
			t.Fatal("events")
		}
		// The token ended with its success.
		if _, err := m.VerifyMFA(ctx, mr.Token, auth.SecondFactor{Code: next}); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("spent mfa_token: %v", err)
		}
	})
}
