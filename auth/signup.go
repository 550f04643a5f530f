package auth

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// Signups creates people's accounts with a password.
type Signups struct {
	*Core
	cfg  signupConfig
	self *SelfService // mail and tokens of the verification flow
}

// signupConfig is what of SessionConfig sign-up uses.
type signupConfig struct {
	Hasher *password.Hasher
	Policy password.Policy
}

// Signup creates an active account with a password (docs/reference.md §3), with
// GATEHOUSE_EMAIL_VERIFICATION=off: its address is not proven (see
// VerifyMagicLink for what the first proof does). The password is refused
// before any hashing when it is over 1,024 bytes, and with the reason when it
// breaks the policy; a taken email is a conflict.
func (s *Signups) Signup(ctx context.Context, email, pw string) (*gatehouse.User, error) {
	return s.create(ctx, email, pw, false)
}

// CreateAccount is Signup for the operator (`gatehouse users create`): the
// account is taken as verified, the operator vouching for the address.
func (s *Signups) CreateAccount(ctx context.Context, email, pw string) (*gatehouse.User, error) {
	return s.create(ctx, email, pw, true)
}

func (s *Signups) create(ctx context.Context, email, pw string, verified bool) (*gatehouse.User, error) {
	if err := limit(ctx, ratelimit.SignupEmail, EmailKey(email)); err != nil { // the guard (guard.go)
		return nil, err
	}
	if err := password.CheckLength(pw); err != nil {
		return nil, err
	}
	email, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Policy.Check(pw, email); err != nil {
		return nil, err
	}
	errTaken := gatehouse.Errorf(gatehouse.EConflict, "an account with this email already exists")
	// A cheap look first, so a taken email costs no hashing.
	err = s.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		_, err := t.UserByEmail(ctx, email)
		if err == nil {
			return errTaken
		}
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	hash, err := s.cfg.Hasher.Hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &gatehouse.User{ID: gatehouse.NewID(now), Email: email, PasswordHash: hash, Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
	if verified {
		u.EmailVerifiedAt = now
	}
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		if err := t.CreateUser(ctx, u); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return errTaken
			}
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSignup, Actor: u.ID, Target: "user:" + u.ID})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
