package auth_test

import (
	"bytes"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/pquerna/otp/totp"
)

// TestVerifyEmailLinkAsksForTheSecondFactor: a verification link still
// unused after the account was verified and got a TOTP is a mailbox proof
// like a magic link: it answers mfa_required, never a session with amr
// "email" alone (both stores).
func TestVerifyEmailLinkAsksForTheSecondFactor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		kek, _ := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
		m, err := auth.NewMFA(e.core, e.s, auth.MFAConfig{KEK: kek, Hasher: e.hasher})
		if err != nil {
			t.Fatal(err)
		}
		// Two sign-ups of the same address: two links.
		for i := 0; i < 2; i++ {
			if err := e.s.RequestSignup(ctx, "two@example.com", goodPassword); err != nil {
				t.Fatal(err)
			}
		}
		re := regexp.MustCompile(`verify-email\?token=([A-Za-z0-9_-]{43})`)
		ms := e.mailsTo("two@example.com")
		if len(ms) != 2 {
			t.Fatalf("mails = %d, want 2", len(ms))
		}
		first := re.FindStringSubmatch(ms[0])[1]
		tr, err := e.s.VerifyEmail(ctx, re.FindStringSubmatch(ms[1])[1])
		if err != nil {
			t.Fatal(err)
		}
		p := sessionPrincipal(tr)
		enr, err := m.EnrolTOTP(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(enr.Secret, e.clock.Now())
		if err := m.ConfirmTOTP(ctx, p, enr.ID, code); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		out, err := e.s.VerifyEmail(ctx, first)
		var mr *auth.MFARequiredError
		if !errors.As(err, &mr) || gatehouse.ErrorCode(err) != gatehouse.EMFARequired {
			t.Fatalf("the other verification link, after a TOTP was added: %v %v, want mfa_required", out, err)
		}
	})
}

// TestFirstMailboxProofEndsEveryPreHijackedWayIn: with verification off,
// someone who signed up with another's address and added a passkey and a
// personal access token keeps neither once the owner proves the mailbox,
// by a password reset or by a magic link (both stores).
func TestFirstMailboxProofEndsEveryPreHijackedWayIn(t *testing.T) {
	for _, via := range []string{"reset", "magic_link"} {
		t.Run(via, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
				e := newEnv(t, db, nil)
				e.signup("victim@example.com") // the attacker's sign-up
				p := sessionPrincipal(e.login("victim@example.com"))
				ws, err := (&auth.Workspaces{Core: e.core}).Create(ctx, p, "w")
				if err != nil {
					t.Fatal(err)
				}
				pats := &auth.PATs{Core: e.core}
				pat, err := pats.Create(ctx, p, ws.ID, "ci", nil, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				// A passkey the attacker registered (as the ceremony stores it).
				u := e.user("victim@example.com")
				pk := &gatehouse.MFAFactor{ID: gatehouse.NewID(e.clock.Now()), UserID: u.ID, Type: gatehouse.FactorPasskey, Name: "attacker's key",
					Status: gatehouse.FactorActive, CredentialID: []byte("attacker-credential-id"), Credential: []byte("{}"), CreatedAt: e.clock.Now()}
				if err := db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateFactor(ctx, pk) }); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(time.Minute)
				// The owner proves the mailbox.
				var signIn func() (*auth.TokenResponse, error)
				if via == "reset" {
					if err := e.s.RequestPasswordReset(ctx, "victim@example.com"); err != nil {
						t.Fatal(err)
					}
					if err := e.s.ConfirmPasswordReset(ctx, e.lastToken("victim@example.com", "reset-password"), goodPassword+" owner"); err != nil {
						t.Fatal(err)
					}
					signIn = func() (*auth.TokenResponse, error) {
						return e.s.PasswordLogin(ctx, "victim@example.com", goodPassword+" owner")
					}
				} else {
					if err := e.s.RequestMagicLink(ctx, "victim@example.com"); err != nil {
						t.Fatal(err)
					}
					tok := e.lastToken("victim@example.com", "magic-link")
					signIn = func() (*auth.TokenResponse, error) { return e.s.VerifyMagicLink(ctx, tok) }
				}
				if _, err := signIn(); err != nil {
					t.Fatalf("the owner's sign-in after the proof: %v", err)
				}
				err = db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
					_, err := tx.FactorByCredentialID(ctx, pk.CredentialID)
					return err
				})
				if !errors.Is(err, gatehouse.ErrNotFound) {
					t.Fatalf("the attacker's passkey after the owner's proof: %v, want gone", err)
				}
				if _, err := pats.Authenticate(ctx, pat.Token.Reveal()); gatehouse.ErrorCode(err) != gatehouse.EUnauthorized {
					t.Fatalf("the attacker's PAT after the owner's proof: %v, want unauthorized", err)
				}
			})
		})
	}
}

// TestRequireMFAHoldsForPATCreation: in a workspace that requires two
// factors, a person's password-only session cannot mint a personal access
// token for it (which would then work without the second factor).
func TestRequireMFAHoldsForPATCreation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("owner@example.com")
		p := sessionPrincipal(e.login("owner@example.com"))
		wss := &auth.Workspaces{Core: e.core}
		ws, err := wss.Create(ctx, p, "w")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wss.SetRequireMFA(ctx, p, ws.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = (&auth.PATs{Core: e.core}).Create(ctx, p, ws.ID, "ci", nil, time.Time{})
		if gatehouse.ErrorCode(err) != gatehouse.EMFARequired {
			t.Fatalf("a PAT from a password-only session in a require_mfa workspace: %v, want mfa_required", err)
		}
	})
}

// TestResetLinkDiesWithTheAddressItWentTo: a reset link mailed to an
// account's old address no longer sets its password once the account has
// moved to a new address (the old mailbox may be why it moved).
func TestResetLinkDiesWithTheAddressItWentTo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		if _, err := e.s.CreateAccount(ctx, "old@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		tr := e.login("old@example.com")
		if err := e.s.RequestPasswordReset(ctx, "old@example.com"); err != nil {
			t.Fatal(err)
		}
		reset := e.lastToken("old@example.com", "reset-password")
		if err := e.s.RequestEmailChange(ctx, sessionPrincipal(tr), "new@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := e.s.ConfirmEmailChange(ctx, e.lastToken("new@example.com", "confirm-email")); err != nil {
			t.Fatal(err)
		}
		err := e.s.ConfirmPasswordReset(ctx, reset, goodPassword+" from the old mailbox")
		wantCode(t, err, gatehouse.EInvalidGrant)
		if _, err := e.s.PasswordLogin(ctx, "new@example.com", goodPassword); err != nil {
			t.Fatalf("the password changed through the old address's link: %v", err)
		}
	})
}
