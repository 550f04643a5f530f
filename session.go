package gatehouse

import (
	"context"
	"time"
)

// SessionMethod says how a session was started.
type SessionMethod string

// The ways a person signs in.
const (
	MethodPassword  SessionMethod = "password"
	MethodMagicLink SessionMethod = "magic_link"
)

// Factor is one proof of identity a person gave while signing in: a first
// factor (password, magic link; later a passkey or an upstream provider) or,
// later, a second one. Package auth checks it; a SignIn collects them.
type Factor interface {
	// AMR is the factor's authentication method reference (RFC 8176
	// section 2), as access tokens carry it in amr.
	AMR() string
	// Method is the SessionMethod a session started by this factor records
	// (the method field of the sessions list and of login.succeeded).
	Method() SessionMethod
}

// PasswordFactor is a password checked against the account's hash.
type PasswordFactor struct{}

// AMR is "pwd" (RFC 8176: password-based authentication).
func (PasswordFactor) AMR() string { return "pwd" }

// Method is MethodPassword.
func (PasswordFactor) Method() SessionMethod { return MethodPassword }

// MagicLinkFactor is a single-use link mailed to the account's address.
// RFC 8176 registers no value for proof of control of an email address
// ("otp" is kept for TOTP and recovery codes, "sms"/"tel" name other
// channels), so its amr is "email", the value many providers use for it
// (docs/sessions.md).
type MagicLinkFactor struct{}

// AMR is "email".
func (MagicLinkFactor) AMR() string { return "email" }

// Method is MethodMagicLink.
func (MagicLinkFactor) Method() SessionMethod { return MethodMagicLink }

// SignIn is a sign-in in progress: the person, the factors proven so far
// (first factor first) and when the last one was proven. A first factor
// produces one; when Pending names nothing it is finished and package auth
// turns it into a Session in one place, recording every factor (amr) and
// auth_time. Pending lists what is still required (for example a second
// factor); nothing is required today.
type SignIn struct {
	User     *User
	Factors  []Factor
	Pending  []string // factors still required; empty: finished
	AuthTime time.Time
}

// NewSignIn is the sign-in a first factor f produced for u at now.
func NewSignIn(u *User, f Factor, now time.Time) *SignIn {
	return &SignIn{User: u, Factors: []Factor{f}, AuthTime: now}
}

// Finished reports whether no factor is still required.
func (s *SignIn) Finished() bool { return len(s.Pending) == 0 }

// Method is the first factor's SessionMethod.
func (s *SignIn) Method() SessionMethod {
	if len(s.Factors) == 0 {
		return ""
	}
	return s.Factors[0].Method()
}

// AMR lists the distinct amr values of the factors, in the order they were
// proven, and "mfa" as well when two or more distinct ones were (RFC 8176
// section 2: "mfa" is multiple-factor authentication).
func (s *SignIn) AMR() []string {
	var out []string
	for _, f := range s.Factors {
		a := f.AMR()
		seen := false
		for _, x := range out {
			seen = seen || x == a
		}
		if !seen {
			out = append(out, a)
		}
	}
	multi := len(out) > 1
	for _, f := range s.Factors {
		if m, ok := f.(interface{ MultiFactor() bool }); ok && m.MultiFactor() {
			multi = true // a passkey with user verification (docs/mfa.md)
		}
	}
	if multi {
		out = append(out, "mfa")
	}
	return out
}

// FactorIDs lists the stored factors (TOTP, passkeys) the sign-in used, so
// that removing one ends the sessions it signed in.
func (s *SignIn) FactorIDs() []string {
	var out []string
	for _, f := range s.Factors {
		if x, ok := f.(interface{ FactorID() string }); ok && x.FactorID() != "" {
			out = append(out, x.FactorID())
		}
	}
	return out
}

// Session is a person's signed-in session: one login and the one family of
// refresh tokens descended from it (docs/reference.md §3). Only the SHA-256 of
// the family's current refresh token is stored; every later token is derived
// from the one before it (package auth), so a retired token is recognised by
// deriving forward from it to the current hash, without storing any history.
type Session struct {
	ID          string
	UserID      string
	Method      SessionMethod // the first factor's, kept for older callers; AMR says more
	AMR         []string      // every factor used (RFC 8176 values), as access tokens carry it
	AuthTime    time.Time     // when the person last proved a factor (auth_time, OpenID Connect Core 2)
	CreatedAt   time.Time
	LastUsedAt  time.Time // the last refresh (or the login)
	RotatedAt   time.Time // when the current refresh token replaced its parent; zero before the first rotation
	ExpiresAt   time.Time // absolute end, whatever the use
	RevokedAt   time.Time // zero while the session is live
	IP          string    // cut to /24 or /48, as audit events store it
	UserAgent   string    // cut short
	Generation  int64     // rotations so far: the current token's generation
	RefreshHash []byte    // SHA-256 of the current refresh token
}

// Live reports whether s can still be used at now, given the idle timeout
// (zero: none).
func (s *Session) Live(now time.Time, idle time.Duration) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) && (idle <= 0 || now.Before(s.LastUsedAt.Add(idle)))
}

// Rotation is one refresh: the session's current hash moves from OldHash to
// NewHash, only while the session is live at Now (not revoked, before
// ExpiresAt, last used after IdleSince) and its user is active.
type Rotation struct {
	SessionID  string
	OldHash    []byte
	NewHash    []byte
	Generation int64 // the new token's generation (the old one's plus one)
	Now        time.Time
	IdleSince  time.Time // the session must have been used after this; zero: no idle check
}

// MagicLink is a single-use sign-in link. Only the SHA-256 of its token is
// stored.
type MagicLink struct {
	Hash      []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
}

// SessionTx is the part of a transaction that reads and writes sessions and
// magic links. Sessions live outside any workspace.
type SessionTx interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByID returns ErrNotFound when there is no such session.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// RotateRefresh applies r in one statement and returns the session as it
	// is afterwards, or ErrNotFound when nothing matched (the hash is not
	// current, the session is not live, or its user is not active). Of any
	// number of concurrent rotations from one hash, exactly one succeeds.
	RotateRefresh(ctx context.Context, r Rotation) (*Session, error)
	// LiveSessions lists userID's sessions that are not revoked, end after
	// now and were used after idleSince, newest first.
	LiveSessions(ctx context.Context, userID string, now, idleSince time.Time) ([]*Session, error)
	// RevokeSession revokes a session that is not yet revoked; ErrNotFound
	// when there is none.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions revokes every unrevoked session of userID and
	// returns how many.
	RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int64, error)
	// RevokeAllSessions revokes every unrevoked session and returns how many.
	RevokeAllSessions(ctx context.Context, now time.Time) (int64, error)

	CreateMagicLink(ctx context.Context, m *MagicLink) error
	// ConsumeMagicLink marks the link with this hash used, in one statement,
	// if it is unused and unexpired at now, and returns it; ErrNotFound
	// otherwise. Of concurrent consumptions, exactly one succeeds.
	ConsumeMagicLink(ctx context.Context, hash []byte, now time.Time) (*MagicLink, error)
	// PurgeSessions deletes magic links that expired before cutoff and
	// sessions that ended (expired or revoked) before cutoff.
	PurgeSessions(ctx context.Context, cutoff time.Time) error
}
