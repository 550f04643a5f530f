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
