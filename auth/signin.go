package auth

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// Logins checks first factors (a password, a magic link; later a passkey or
// an upstream provider). Each produces a gatehouse.SignIn; a finished one
// becomes a session through SessionKeeper.start, the one place that records
// the factors used (amr) and auth_time.
type Logins struct {
	*Core
	cfg      loginConfig
	sessions *SessionKeeper
}

// loginConfig is what of SessionConfig the first factors use.
type loginConfig struct {
	Hasher       *password.Hasher
	Mailer       gatehouse.Mailer
	PublicURL    string // without a trailing slash
	MagicLinkTTL time.Duration
}

// errBadLogin is the one answer to an unknown email and a wrong password
// (OWASP Authentication Cheat Sheet, "Authentication and Error Messages").
var errBadLogin = gatehouse.Errorf(gatehouse.EInvalidGrant, "invalid email or password")

// maxAuditEmail bounds what of a submitted email reaches the audit trail
// (masked there in any case).
const maxAuditEmail = 320

// statusError is the refusal for an account that is not active: 403 with the
// status's code (docs/reference.md §3), given only once the credential was right.
func statusError(st gatehouse.UserStatus) error {
	if st == gatehouse.StatusDisabled {
		return gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled")
	}
	return gatehouse.Errorf(gatehouse.EAccountLocked, "this account is locked")
}

// loginFailed records login.failed in a transaction of its own. email is
// what was submitted (masked and cut by package audit); userID when known.
func (s *Logins) loginFailed(ctx context.Context, method gatehouse.SessionMethod, userID, email, reason string) {
	ev := &gatehouse.AuditEvent{Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure, Actor: userID,
		Details: map[string]string{"method": string(method), "reason": reason}}
	if userID != "" {
		ev.Target = "user:" + userID
	}
	if email != "" {
		if len(email) > maxAuditEmail {
			email = email[:maxAuditEmail]
		}
		ev.Details["email"] = gatehouse.MaskEmail(email)
	}
	if err := s.Record(ctx, ev); err != nil {
		s.Log.ErrorContext(ctx, "recording login.failed failed", "error", err.Error())
	}
}

// PasswordLogin signs a person in with email and password (docs/reference.md §3). An
// unknown (or malformed) email and a wrong password get the same
// invalid_grant after the same work: one argon2id verification, against a
// dummy hash of the same parameters when there is no account. A locked or
// disabled account is told so only after a right password. When the stored
// hash's parameters are below the current ones, it is replaced.
func (s *Logins) PasswordLogin(ctx context.Context, email, pw string) (_ *TokenResponse, err error) {
	// The guard (guard.go): token.account and the failed-auth ceilings, or
	// the browser's device cookie; a wrong password counts.
	pass, err := enter(ctx, Attempt{Policy: ratelimit.TokenAccount, Identity: EmailKey(email), Account: EmailAccount(email), Device: true})
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	if err := password.CheckLength(pw); err != nil {
		return nil, err
	}
	if err := gatehouse.LookAlikeEmail(email); err != nil {
		return nil, err // 400 wherever an address is given (docs/reference.md §17)
	}
	// A malformed email is looked up too, as "" (which no account can
	// have), so that it costs what an unknown one does.
	norm, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		norm = ""
	}
	var u *gatehouse.User
	err = s.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		var err error
		u, err = t.UserByEmail(ctx, norm)
		if errors.Is(err, gatehouse.ErrNotFound) {
			u, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if u == nil {
		if err := s.cfg.Hasher.VerifyDummy(ctx, pw); err != nil {
			return nil, err
		}
		s.loginFailed(ctx, gatehouse.MethodPassword, "", email, "unknown_account")
		return nil, errBadLogin
	}
	ok, rehash, err := s.cfg.Hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil && !errors.Is(err, password.ErrMalformed) {
		return nil, err
	}
	if err != nil {
		s.Log.ErrorContext(ctx, "stored password hash is malformed", "user_id", u.ID)
	}
	if !ok {
		s.loginFailed(ctx, gatehouse.MethodPassword, u.ID, email, "wrong_password")
		return nil, errBadLogin
	}
	if u.Status != gatehouse.StatusActive {
		s.loginFailed(ctx, gatehouse.MethodPassword, u.ID, email, "account_"+string(u.Status))
		return nil, statusError(u.Status)
	}
	if s.EmailVerification && u.EmailVerifiedAt.IsZero() {
		// Told only after a right password (docs/reference.md section 16).
		s.loginFailed(ctx, gatehouse.MethodPassword, u.ID, email, "email_unverified")
		return nil, errUnverified
	}
	var newHash string
	if rehash {
		if newHash, err = s.cfg.Hasher.Hash(ctx, pw); err != nil {
			newHash = "" // the login stands; the rehash waits for the next one
		}
	}
	now := s.now()
	var sess *gatehouse.Session
	var refresh string
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		// Read again inside the transaction: a status change that
		// committed since must not leave a fresh session behind.
		cur, err := t.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur.Status != gatehouse.StatusActive {
			return statusError(cur.Status)
		}
		if newHash != "" && cur.PasswordHash == u.PasswordHash {
			if err := t.UpdatePasswordHash(ctx, u.ID, newHash, now); err != nil {
				return err
			}
		}
		sess, refresh, err = s.sessions.startOrChallenge(ctx, t, gatehouse.NewSignIn(cur, gatehouse.PasswordFactor{}, now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.sessions.respond(ctx, sess, refresh)
}

// RequestMagicLink mails a single-use sign-in link to email if it belongs to
// an active account, and does nothing visible otherwise: the caller answers
// 202 whatever happened (docs/reference.md §3), and the mail goes out from a queue so
// the answer's timing does not tell either. The link's token is stored only
// as its SHA-256. Asking again leaves earlier links and every failure count
// as they are.
func (s *Logins) RequestMagicLink(ctx context.Context, email string) error {
	// The guard (guard.go): past magic_link.email the request is answered as
	// any other and nothing is sent; it is never refused, so that a flood of
	// requests for an address never locks its owner out of this door.
	if ok, err := allow(ctx, ratelimit.MagicLinkEmail, EmailKey(email)); !ok {
		return err
	}
	if err := gatehouse.LookAlikeEmail(email); err != nil {
		return err // 400 wherever an address is given (docs/reference.md §17)
	}
	norm, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil // no address, no account: the same answer
	}
	now := s.now()
	var mail *gatehouse.MagicLinkMail
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		u, err := t.UserByEmail(ctx, norm)
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		ev := &gatehouse.AuditEvent{Type: gatehouse.EventMagicLinkRequested, Details: map[string]string{"email": gatehouse.MaskEmail(norm)}}
		tok, err := newSecretToken()
		if err != nil {
			return err
		}
		ml := &gatehouse.MagicLink{Hash: hashToken(tok), CreatedAt: now, ExpiresAt: now.Add(s.cfg.MagicLinkTTL)}
		if u == nil || u.Status != gatehouse.StatusActive {
			// A decoy: the same INSERT as for an active account, of a row
			// no one can consume (no user, used from the start), so that
			// the answer costs the same store work either way.
			ml.UsedAt = now
			if err := t.CreateMagicLink(ctx, ml); err != nil {
				return err
			}
			ev.Details["sent"] = "false"
			if u != nil {
				ev.Target = "user:" + u.ID
			}
			return t.Audit(ev)
		}
		ml.UserID = u.ID
		if err := t.CreateMagicLink(ctx, ml); err != nil {
			return err
		}
		ev.Target, ev.Details["sent"] = "user:"+u.ID, "true"
		mail = &gatehouse.MagicLinkMail{To: u.Email, Link: s.cfg.PublicURL + "/magic-link?token=" + url.QueryEscape(tok), ExpiresIn: s.cfg.MagicLinkTTL}
		return t.Audit(ev)
	})
	if err != nil {
		return err
	}
	if mail != nil {
		if err := s.cfg.Mailer.SendMagicLink(ctx, *mail); err != nil {
			// Logged with the address masked; the caller still answers 202.
			s.Log.ErrorContext(ctx, "magic link not sent", "to", gatehouse.MaskEmail(mail.To), "error", err.Error())
		}
	}
	return nil
}

// errUnverified refuses a right password of an account whose address was
// never verified, with GATEHOUSE_EMAIL_VERIFICATION=required.
var errUnverified = gatehouse.Errorf(gatehouse.EEmailUnverified, "confirm your email address first: open the link we mailed you, or sign in with a magic link")

// errBadLink answers an unknown, used or expired magic-link token.
var errBadLink = gatehouse.Errorf(gatehouse.EInvalidGrant, "the sign-in link is invalid, expired or already used")

// VerifyMagicLink consumes a magic-link token and starts a session, in one
// transaction: of two uses, one gets a session and the other invalid_grant.
func (s *Logins) VerifyMagicLink(ctx context.Context, token string) (_ *TokenResponse, err error) {
	pass, err := enter(ctx, Attempt{}) // the guard: a link names no account, so the IP's ceiling
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	if !validSecretToken(token) {
		return nil, errBadLink
	}
	now := s.now()
	var sess *gatehouse.Session
	var refresh string
	proved := "" // the account whose first mailbox proof this was
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		proved = ""
		ml, err := t.ConsumeMagicLink(ctx, hashToken(token), now)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		u, err := t.UserByID(ctx, ml.UserID)
		if err != nil {
			return err
		}
		if u.Status != gatehouse.StatusActive {
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure, Actor: u.ID, Target: "user:" + u.ID,
				Details: map[string]string{"method": string(gatehouse.MethodMagicLink), "reason": "account_" + string(u.Status)}}); err != nil {
				return err
			}
			return CommitThen(statusError(u.Status))
		}
		// A magic link proves the address (selfservice.go).
		if u.EmailVerifiedAt.IsZero() {
			proved = u.ID
		}
		if err := firstMailboxProof(ctx, t, u, "magic_link", now); err != nil {
			return err
		}
		sess, refresh, err = s.sessions.startOrChallenge(ctx, t, gatehouse.NewSignIn(u, gatehouse.MagicLinkFactor{}, now))
		var ct commitThen
		if errors.As(err, &ct) { // a second factor is needed (docs/mfa.md): the link is spent all the same
			if aerr := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMagicLinkConsumed, Actor: u.ID, Target: "user:" + u.ID}); aerr != nil {
				return aerr
			}
			return err
		}
		if err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMagicLinkConsumed, Actor: u.ID, Target: "session:" + sess.ID})
	})
	if proved != "" && (err == nil || gatehouse.ErrorCode(err) == gatehouse.EMFARequired) {
		// The account's tokens, which this transaction's scope could not show.
		if perr := s.dropPATs(ctx, proved); perr != nil {
			return nil, perr
		}
	}
	if err != nil {
		return nil, err
	}
	return s.sessions.respond(ctx, sess, refresh)
}
