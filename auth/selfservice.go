package auth

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// SelfService is what people do to their own accounts (docs/reference.md
// section 16): verify the address at sign-up, reset a forgotten password,
// change the password or the address, delete the account. Every mail goes out
// after the transaction that decided it commits, as magic links do.
type SelfService struct {
	*Core
	cfg      selfConfig
	sessions *SessionKeeper
}

// selfConfig is what of SessionConfig self-service uses.
type selfConfig struct {
	Hasher    *password.Hasher
	Policy    password.Policy
	Mailer    gatehouse.AccountMailer // nil: nothing is mailed (logged)
	PublicURL string                  // without a trailing slash
}

// The lifetimes of the mailed tokens (docs/reference.md section 16).
const (
	VerifyEmailTTL   = 24 * time.Hour
	PasswordResetTTL = 30 * time.Minute // OWASP Forgot Password Cheat Sheet: short-lived
	EmailChangeTTL   = 24 * time.Hour
	InvitationTTL    = 7 * 24 * time.Hour
)

// VerificationRequired reports whether GATEHOUSE_EMAIL_VERIFICATION is
// required (signup answers 202 and sends a link).
func (s *SelfService) VerificationRequired() bool { return s.Core.EmailVerification }

// send mails ms, after commit; a failure is logged with the address masked
// (the caller's answer does not change).
func (s *SelfService) send(ctx context.Context, ms ...gatehouse.AccountMail) {
	for _, m := range ms {
		if s.cfg.Mailer == nil {
			s.Log.ErrorContext(ctx, "account mail not sent: no mailer", "mail", m)
			continue
		}
		if err := s.cfg.Mailer.SendAccountMail(ctx, m); err != nil {
			s.Log.ErrorContext(ctx, "account mail not sent", "mail", m, "error", err.Error())
		}
	}
}

// link is {PUBLIC_URL}/page?token=tok.
func (s *SelfService) link(page, tok string) string {
	return s.cfg.PublicURL + "/" + page + "?token=" + url.QueryEscape(tok)
}

// newAccountToken makes a token for purpose, valid for ttl from now; the
// row holds only its hash. userID "" makes a decoy (used from the start).
func newAccountToken(purpose gatehouse.TokenPurpose, userID string, now time.Time, ttl time.Duration) (string, *gatehouse.AccountToken, error) {
	tok, err := newSecretToken()
	if err != nil {
		return "", nil, err
	}
	a := &gatehouse.AccountToken{Hash: hashToken(tok), Purpose: purpose, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if userID == "" {
		a.UsedAt = now
	}
	return tok, a, nil
}

// RequestSignup is signup with GATEHOUSE_EMAIL_VERIFICATION=required: the
// caller answers 202 {"status":"verification_sent"} whatever happens here,
// so a new address, one with a verified account and one with an unverified
// account cost the same work: the password is hashed in every case, and one
// account token is inserted in every case (a decoy for a verified account).
//   - a new address gets an unverified account and a verification link;
//   - an unverified account gets a new link, which carries this sign-up's
//     password hash (set when the link is opened: whoever holds the mailbox
//     gets the password of the sign-up whose link they opened);
//   - a verified account's owner is told that someone tried to sign up
//     (signup.existing_address), and nothing changes.
//
// Malformed input (an address that is not one, a password the policy
// refuses) gets 400 as before: that says nothing about any account.
func (s *SelfService) RequestSignup(ctx context.Context, email, pw string) error {
	if err := limit(ctx, ratelimit.SignupEmail, EmailKey(email)); err != nil { // the guard (guard.go)
		return err
	}
	if err := password.CheckLength(pw); err != nil {
		return err
	}
	email, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.cfg.Policy.Check(pw, email); err != nil {
		return err
	}
	hash, err := s.cfg.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	now := s.now()
	var mail *gatehouse.AccountMail
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		mail = nil
		u, err := t.UserByEmail(ctx, email)
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		if u != nil && !u.EmailVerifiedAt.IsZero() {
			_, decoy, err := newAccountToken(gatehouse.PurposeVerifyEmail, "", now, VerifyEmailTTL)
			if err != nil {
				return err
			}
			if err := t.CreateAccountToken(ctx, decoy); err != nil {
				return err
			}
			mail = &gatehouse.AccountMail{Kind: gatehouse.MailSignupExisting, To: u.Email, Link: s.cfg.PublicURL + "/"}
			return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSignupExistingAddress, Target: "user:" + u.ID})
		}
		if u == nil {
			u = &gatehouse.User{ID: gatehouse.NewID(now), Email: email, PasswordHash: hash, Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
			if err := t.CreateUser(ctx, u); err != nil {
				return err // a concurrent sign-up of the same address: 500 is not right, but conflict would tell
			}
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSignup, Actor: u.ID, Target: "user:" + u.ID,
				Details: map[string]string{"verification": "sent"}}); err != nil {
				return err
			}
		}
		tok, at, err := newAccountToken(gatehouse.PurposeVerifyEmail, u.ID, now, VerifyEmailTTL)
		if err != nil {
			return err
		}
		at.PasswordHash = hash
		if err := t.CreateAccountToken(ctx, at); err != nil {
			return err
		}
		mail = &gatehouse.AccountMail{Kind: gatehouse.MailVerifyEmail, To: u.Email, Link: s.link("verify-email", tok), ExpiresIn: VerifyEmailTTL}
		return nil
	})
	if errors.Is(err, gatehouse.ErrConflict) {
		return nil // the other sign-up of this address won; the same answer
	}
	if err != nil {
		return err
	}
	if mail != nil {
		s.send(ctx, *mail)
	}
	return nil
}

// errBadAccountToken answers an unknown, used, expired or foreign token.
var errBadAccountToken = gatehouse.Errorf(gatehouse.EInvalidGrant, "the link is invalid, expired or already used")

// VerifyEmail consumes a verification token (POST /v1/auth/verify-email) and
// signs the person in through the sign-in pipeline: the link proves control
// of the mailbox, as a magic link does, so the session's factor is the
// magic-link one (amr "email"). The account's password becomes the one of
// the sign-up that made the link. Single use: of two uses, one signs in and
// the other gets invalid_grant.
func (s *SelfService) VerifyEmail(ctx context.Context, token string) (_ *TokenResponse, err error) {
	pass, err := enter(ctx, Attempt{}) // the guard: a link names no account, so the IP's ceiling
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	if !validSecretToken(token) {
		return nil, errBadAccountToken
	}
	now := s.now()
	var sess *gatehouse.Session
	var refresh string
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		at, u, err := consumeAccountToken(ctx, t, token, gatehouse.PurposeVerifyEmail, now)
		if err != nil {
			return err
		}
		if at.PasswordHash != "" && u.EmailVerifiedAt.IsZero() {
			if err := t.UpdatePasswordHash(ctx, u.ID, at.PasswordHash, now); err != nil {
				return err
			}
		}
		if err := t.SetEmailVerified(ctx, u.ID, now); err != nil {
			return err
		}
		u.EmailVerifiedAt = now
		if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventEmailVerified, Actor: u.ID, Target: "user:" + u.ID,
			Details: map[string]string{"via": "verify_email"}}); err != nil {
			return err
		}
		// A mailbox proof is a first factor (docs/mfa.md): an account with a
		// second factor is asked for it, as after a magic link.
		sess, refresh, err = s.sessions.startOrChallenge(ctx, t, gatehouse.NewSignIn(u, gatehouse.MagicLinkFactor{}, now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.sessions.respond(ctx, sess, refresh)
}

// firstMailboxProof is what a mailbox proof (a magic link, a reset) does in
// t to an account that never proved its address: the address is verified
// and, so that no one who signed up with someone else's address beforehand
// keeps a way in (account pre-hijacking, Sudhodanan and Paverd, "Pre-hijacked
// accounts", 2022), its password is cleared, every session ends, and every
// other credential that signs in or calls the API alone goes too: passkeys,
// linked identities and personal access tokens (those visible to t: t's
// scope must name the user under PostgreSQL, else dropPATs does it after
// commit). An account that proved its address before is left as it is.
func firstMailboxProof(ctx context.Context, t *Tx, u *gatehouse.User, via string, now time.Time) error {
	if !u.EmailVerifiedAt.IsZero() {
		return nil
	}
	if err := t.UpdatePasswordHash(ctx, u.ID, "", now); err != nil {
		return err
	}
	n, err := t.RevokeUserSessions(ctx, u.ID, now)
	if err != nil {
		return err
	}
	all, err := t.UserFactors(ctx, u.ID)
	if err != nil {
		return err
	}
	var passkeys int
	for _, f := range all {
		if f.Type != gatehouse.FactorPasskey {
			continue
		}
		if err := t.DeleteFactor(ctx, u.ID, f.ID); err != nil {
			return err
		}
		passkeys++
	}
	ids, err := t.IdentitiesForUser(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, i := range ids {
		if err := t.DeleteIdentity(ctx, u.ID, i.ID); err != nil {
			return err
		}
	}
	pats, err := deletePATs(ctx, t, u.ID)
	if err != nil {
		return err
	}
	if err := t.SetEmailVerified(ctx, u.ID, now); err != nil {
		return err
	}
	u.PasswordHash, u.EmailVerifiedAt = "", now
	return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventEmailVerified, Actor: u.ID, Target: "user:" + u.ID,
		Details: map[string]string{"via": via, "password_cleared": "true", "sessions_revoked": strconv.FormatInt(n, 10),
			"passkeys_deleted": strconv.Itoa(passkeys), "identities_deleted": strconv.Itoa(len(ids)), "pats_deleted": strconv.Itoa(pats)}})
}

// deletePATs deletes userID's personal access tokens visible to t.
func deletePATs(ctx context.Context, t *Tx, userID string) (int, error) {
	pats, err := t.PATsForUser(ctx, userID)
	if err != nil {
		return 0, err
	}
	for _, p := range pats {
		if err := t.DeletePAT(ctx, userID, p.ID); err != nil {
			return 0, err
		}
	}
	return len(pats), nil
}

// dropPATs deletes userID's personal access tokens in a transaction scoped
// to the user (row-level security shows a user's tokens only so), after a
// first mailbox proof whose transaction could not name the user up front.
func (c *Core) dropPATs(ctx context.Context, userID string) error {
	return c.InTx(ctx, gatehouse.Scope{UserID: userID}, func(t *Tx) error {
		_, err := deletePATs(ctx, t, userID)
		return err
	})
}

// RequestPasswordReset mails a reset link to email if it belongs to an
// active account (POST /v1/auth/password-reset), and answers the same
// otherwise, after the same store work (a decoy row), as RequestMagicLink
// does (OWASP Forgot Password Cheat Sheet: "return a consistent message for
// both existent and non-existent accounts"). Past password_reset.email the
// request is answered as any other and nothing is sent.
func (s *SelfService) RequestPasswordReset(ctx context.Context, email string) error {
	if ok, err := allow(ctx, ratelimit.PasswordResetEmail, EmailKey(email)); !ok {
		return err
	}
	norm, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil // no address, no account: the same answer
	}
	now := s.now()
	var mail *gatehouse.AccountMail
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		mail = nil
		u, err := t.UserByEmail(ctx, norm)
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		ev := &gatehouse.AuditEvent{Type: gatehouse.EventPasswordResetRequested, Details: map[string]string{"email": gatehouse.MaskEmail(norm), "sent": "false"}}
		uid := ""
		if u != nil {
			ev.Target = "user:" + u.ID
			if u.Status == gatehouse.StatusActive {
				uid = u.ID
			}
		}
		tok, at, err := newAccountToken(gatehouse.PurposePasswordReset, uid, now, PasswordResetTTL)
		if err != nil {
			return err
		}
		if uid != "" {
			at.Email = u.Email // the link dies if the account moves to another address
		}
		if err := t.CreateAccountToken(ctx, at); err != nil {
			return err
		}
		if uid != "" {
			ev.Details["sent"] = "true"
			mail = &gatehouse.AccountMail{Kind: gatehouse.MailPasswordReset, To: u.Email, Link: s.link("reset-password", tok), ExpiresIn: PasswordResetTTL}
		}
		return t.Audit(ev)
	})
	if err != nil {
		return err
	}
	if mail != nil {
		s.send(ctx, *mail)
	}
	return nil
}

// ConfirmPasswordReset sets a new password with a reset token (POST
// /v1/auth/password-reset/confirm): the password rules of sign-up apply, the
// token is spent, every session of the account ends, the address counts as
// verified (the link proved it), and a notice is mailed. It signs no one in:
// the next sign-in goes through the sign-in pipeline, which asks for every
// factor the account has (a reset never skips a second factor).
func (s *SelfService) ConfirmPasswordReset(ctx context.Context, token, pw string) (err error) {
	pass, err := enter(ctx, Attempt{})
	if err != nil {
		return err
	}
	defer func() { pass.Done(ctx, err) }()
	if err := password.CheckLength(pw); err != nil {
		return err
	}
	if !validSecretToken(token) {
		return errBadAccountToken
	}
	now := s.now()
	// A look first, so that a bad token costs no hashing and a refused
	// password does not spend the token.
	var u *gatehouse.User
	err = s.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		at, err := t.AccountTokenByHash(ctx, hashToken(token), gatehouse.PurposePasswordReset, now)
		if err != nil {
			return err
		}
		u, err = t.UserByID(ctx, at.UserID)
		if err == nil && at.Email != "" && at.Email != u.Email {
			return gatehouse.ErrNotFound // mailed to an address the account has left
		}
		return err
	})
	if errors.Is(err, gatehouse.ErrNotFound) {
		return errBadAccountToken
	}
	if err != nil {
		return err
	}
	if err := s.cfg.Policy.Check(pw, u.Email); err != nil {
		return err
	}
	hash, err := s.cfg.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	var mail *gatehouse.AccountMail
	// Scoped to the user the look found, so that a first mailbox proof sees
	// (and deletes) the account's personal access tokens.
	err = s.InTx(ctx, gatehouse.Scope{UserID: u.ID}, func(t *Tx) error {
		at, cur, err := consumeAccountToken(ctx, t, token, gatehouse.PurposePasswordReset, now)
		if err != nil {
			return err
		}
		if at.UserID != u.ID || at.Email != "" && at.Email != cur.Email {
			return errBadAccountToken // another account's, or the address changed since the link was mailed
		}
		if err := firstMailboxProof(ctx, t, cur, "password_reset", now); err != nil {
			return err
		}
		if err := t.UpdatePasswordHash(ctx, cur.ID, hash, now); err != nil {
			return err
		}
		n, err := t.RevokeUserSessions(ctx, cur.ID, now)
		if err != nil {
			return err
		}
		mail = &gatehouse.AccountMail{Kind: gatehouse.MailPasswordChanged, To: cur.Email, Link: s.cfg.PublicURL + "/"}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventPasswordChanged, Actor: cur.ID, Target: "user:" + cur.ID,
			Details: map[string]string{"via": "password_reset", "sessions_revoked": strconv.FormatInt(n, 10)}})
	})
	if err != nil {
		return err
	}
	s.send(ctx, *mail)
	return nil
}

// consumeAccountToken spends the emailed token of purpose in t (one
// statement: of two uses, one wins) and returns it with its account, which
// must be active; an unknown, used, expired or other-purpose token is
// errBadAccountToken.
func consumeAccountToken(ctx context.Context, t *Tx, token string, purpose gatehouse.TokenPurpose, now time.Time) (*gatehouse.AccountToken, *gatehouse.User, error) {
	at, err := t.ConsumeAccountToken(ctx, hashToken(token), purpose, now)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, nil, errBadAccountToken
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := t.UserByID(ctx, at.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Status != gatehouse.StatusActive {
		return nil, nil, statusError(u.Status)
	}
	return at, u, nil
}
