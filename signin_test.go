package gatehouse

import (
	"slices"
	"testing"
	"time"
)

type otpFactor struct{}

func (otpFactor) AMR() string           { return "otp" }
func (otpFactor) Method() SessionMethod { return "totp" }

func TestSignInAMR(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := NewSignIn(&User{ID: "u"}, PasswordFactor{}, now)
	if !s.Finished() || s.Method() != MethodPassword || !slices.Equal(s.AMR(), []string{"pwd"}) || !s.AuthTime.Equal(now) {
		t.Fatalf("password sign-in: %+v %v", s, s.AMR())
	}
	if got := NewSignIn(nil, MagicLinkFactor{}, now).AMR(); !slices.Equal(got, []string{"email"}) {
		t.Fatalf("magic link amr %v", got)
	}
	// A sign-in that needs more is not finished; two distinct factors add mfa.
	s.Pending = []string{"otp"}
	if s.Finished() {
		t.Fatal("a pending sign-in is finished")
	}
	s.Factors = append(s.Factors, PasswordFactor{}, otpFactor{})
	if got := s.AMR(); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) || s.Method() != MethodPassword {
		t.Fatalf("amr %v, method %s", got, s.Method())
	}
}
