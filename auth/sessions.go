package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/audit"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// SessionTokenIssuer signs the access token of a person's session (a JWT with
// sub and sid, RFC 9068); the credentials area's Keys does, through
// IssueSessionToken. expiresIn is the token's lifetime (expires_in).
type SessionTokenIssuer interface {
	IssueSessionToken(ctx context.Context, userID, sessionID string) (token string, expiresIn time.Duration, err error)
}

// SessionConfig configures Sessions. Durations left zero take the defaults.
type SessionConfig struct {
	Hasher *password.Hasher   // required
	Policy password.Policy    // password rules at signup
	Mailer gatehouse.Mailer   // required for magic links
	Tokens SessionTokenIssuer // required
	// PublicURL is GATEHOUSE_PUBLIC_URL; magic links point at
	// {PublicURL}/magic-link?token=….
	PublicURL string
	// RefreshKey keys the derivation of each refresh token from the one
	// before; CSRFKey keys the session's CSRF token. Both at least 32 bytes,
	// derived from the master secret (so a new secret ends every session).
	RefreshKey []byte
	CSRFKey    []byte
	// SessionTTL is the absolute session and refresh-token lifetime
	// (GATEHOUSE_REFRESH_TTL, default 720h).
	SessionTTL time.Duration
	// IdleTimeout ends a session not refreshed for this long (default 7 days;
	// negative: none).
	IdleTimeout time.Duration
	// Grace is the refresh grace window (GATEHOUSE_REFRESH_GRACE, default 10s).
	Grace time.Duration
	// MagicLinkTTL is a magic link's lifetime (default 10 minutes; OWASP
	// ASVS 6.5.5 asks for at most 10).
	MagicLinkTTL time.Duration
}

// Labels of the keys Sessions derives from the master secret (HKDF, package
// secret). Changing the secret changes both keys: every refresh token's
// successor and every CSRF token stop matching, so every session ends.
const (
	RefreshKeyLabel = "gatehouse refresh successor v1"
	CSRFKeyLabel    = "gatehouse csrf v1"
)

// SessionKeys derives RefreshKey and CSRFKey (32 bytes each) with derive,
// e.g. secret.Secret.Derive.
func SessionKeys(derive func(label string, n int) []byte) (refreshKey, csrfKey []byte) {
	return derive(RefreshKeyLabel, 32), derive(CSRFKeyLabel, 32)
}

// The defaults of SessionConfig.
const (
	DefaultSessionTTL   = 720 * time.Hour
	DefaultIdleTimeout  = 7 * 24 * time.Hour
	DefaultGrace        = 10 * time.Second
	DefaultMagicLinkTTL = 10 * time.Minute
)

// Sessions signs people up and in (password and magic link), rotates their
// refresh tokens with reuse detection, lists and revokes their sessions, and
// changes account status (CONTRACT section 3).
type Sessions struct {
	*Core
	cfg SessionConfig
}

// NewSessions returns the sessions service.
func NewSessions(core *Core, cfg SessionConfig) (*Sessions, error) {
	switch {
	case cfg.Hasher == nil || cfg.Tokens == nil || cfg.Mailer == nil:
		return nil, errors.New("auth: sessions need a Hasher, a Mailer and a SessionTokenIssuer")
	case len(cfg.RefreshKey) < 32 || len(cfg.CSRFKey) < 32:
		return nil, errors.New("auth: sessions need refresh and CSRF keys of at least 32 bytes")
	case hmac.Equal(cfg.RefreshKey, cfg.CSRFKey):
		return nil, errors.New("auth: the refresh and CSRF keys must differ")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.MagicLinkTTL <= 0 {
		cfg.MagicLinkTTL = DefaultMagicLinkTTL
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Sessions{Core: core, cfg: cfg}, nil
}

// TokenResponse is what a sign-in or refresh gives the client (CONTRACT 3).
// The HTTP layer puts RefreshToken in the body (body mode) or in the
// HttpOnly cookie (cookie mode, with CSRFToken in the body and the CSRF
// cookie). String and LogValue redact the secrets.
type TokenResponse struct {
	UserID       string
	SessionID    string
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	CSRFToken    string
}

// String describes r without its tokens.
func (r *TokenResponse) String() string {
	return "token response for session " + r.SessionID + " (tokens redacted)"
}

// LogValue describes r without its tokens.
func (r *TokenResponse) LogValue() slog.Value {
	return slog.GroupValue(slog.String("session_id", r.SessionID), slog.String("user_id", r.UserID))
}

var (
	errBadRefresh = gatehouse.Errorf(gatehouse.EInvalidGrant, "the refresh token is invalid, expired or revoked")
	errNoSession  = gatehouse.Errorf(gatehouse.ENotFound, "not found")
)

func (s *Sessions) idleSince(now time.Time) time.Time {
	if s.cfg.IdleTimeout < 0 {
		return time.Time{}
	}
	return now.Add(-s.cfg.IdleTimeout)
}

func (s *Sessions) idle() time.Duration { return max(s.cfg.IdleTimeout, 0) }

// CSRFToken returns session sid's CSRF token: HMAC-SHA256 over the session id
// under the CSRF key (OWASP CSRF Prevention Cheat Sheet, "Signed Double-Submit
// Cookie"). It needs no storage and stops validating when the master secret
// changes.
func (s *Sessions) CSRFToken(sid string) string {
	if sid == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.cfg.CSRFKey)
	m.Write([]byte("gatehouse csrf v1\x00"))
	m.Write([]byte(sid))
	return b64url.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether csrf is session sid's CSRF token, in constant time.
func (s *Sessions) CheckCSRF(sid, csrf string) bool {
	want := s.CSRFToken(sid)
	return want != "" && subtle.ConstantTimeCompare([]byte(csrf), []byte(want)) == 1
}

// RefreshTokenSessionID returns the session a well-formed refresh token
// names, without any storage, so that the CSRF check can run before the
// refresh or logout changes anything. ok is false for a malformed token.
func RefreshTokenSessionID(token string) (sid string, ok bool) {
	t, ok := parseRefreshToken(token)
	return t.sid, ok
}

// startSession creates a session for u in t and records login.succeeded and
// token.issued; it returns the first refresh token.
func (s *Sessions) startSession(ctx context.Context, t *Tx, u *gatehouse.User, method gatehouse.SessionMethod, now time.Time) (*gatehouse.Session, string, error) {
	ri := gatehouse.RequestInfoFromContext(ctx)
	sess := &gatehouse.Session{
		ID:         gatehouse.NewID(now),
		UserID:     u.ID,
		Method:     method,
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(s.cfg.SessionTTL),
		IP:         audit.CutIP(ri.IP),
		UserAgent:  audit.Clean(ri.UserAgent, audit.MaxUserAgent),
	}
	tok, err := newRefreshToken(sess.ID)
	if err != nil {
		return nil, "", err
	}
	sess.RefreshHash = hashToken(tok)
	if err := t.CreateSession(ctx, sess); err != nil {
		return nil, "", err
	}
	details := map[string]string{"method": string(method)}
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventLoginSucceeded, Actor: u.ID, Target: "session:" + sess.ID, Details: details}); err != nil {
		return nil, "", err
	}
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventTokenIssued, Actor: u.ID, Target: "session:" + sess.ID,
		Details: map[string]string{"grant": string(method), "token_type": "refresh+access"}}); err != nil {
		return nil, "", err
	}
	return sess, tok, nil
}

// respond signs the access token of a committed session.
func (s *Sessions) respond(ctx context.Context, userID, sid, refresh string) (*TokenResponse, error) {
	at, ttl, err := s.cfg.Tokens.IssueSessionToken(ctx, userID, sid)
	if err != nil {
		return nil, err
	}
	return &TokenResponse{UserID: userID, SessionID: sid, AccessToken: at, ExpiresIn: ttl, RefreshToken: refresh, CSRFToken: s.CSRFToken(sid)}, nil
}

// Refresh rotates a refresh token (CONTRACT 3). In the common case it is one
// transaction of two statements: the UPDATE that swaps the session's current
// hash for its successor's (only if the session is live and its user
// active), and the refresh.rotated audit row. Otherwise, in the same
// transaction, it reads the session to tell the cases apart:
//   - the token is the parent of the current one, retired less than Grace
//     ago: the same successor again (recomputed), no change;
//   - the token is an ancestor (the parent after Grace, or older): reuse. The
//     session is revoked, refresh.reuse_detected recorded, invalid_grant;
//   - anything else (unknown, expired, revoked, idle, account not active):
//     invalid_grant.
func (s *Sessions) Refresh(ctx context.Context, token string) (*TokenResponse, error) {
	if err := limit(ctx, ratelimit.RefreshToken, token); err != nil { // the guard (guard.go), before the look-up
		return nil, err
	}
	rt, ok := parseRefreshToken(token)
	if !ok {
		return nil, errBadRefresh
	}
	next := successor(s.cfg.RefreshKey, rt)
	now := s.now()
	var userID string
	err := s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		sess, err := t.RotateRefresh(ctx, gatehouse.Rotation{
			SessionID: rt.sid, OldHash: hashToken(token), NewHash: hashToken(next),
			Generation: rt.gen + 1, Now: now, IdleSince: s.idleSince(now),
		})
		if err == nil {
			userID = sess.UserID
			return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRefreshRotated, Actor: sess.UserID, Target: "session:" + sess.ID,
				Details: map[string]string{"generation": strconv.FormatInt(sess.Generation, 10)}})
		}
		if !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		return s.refreshSlow(ctx, t, rt, next, now, &userID)
	})
	if err != nil {
		return nil, err
	}
	return s.respond(ctx, userID, rt.sid, next)
}

// refreshSlow tells apart why a rotation matched nothing; see Refresh.
func (s *Sessions) refreshSlow(ctx context.Context, t *Tx, rt refreshToken, next string, now time.Time, userID *string) error {
	sess, err := t.SessionByID(ctx, rt.sid)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return errBadRefresh
	}
	if err != nil {
		return err
	}
	if rt.gen >= sess.Generation {
		return errBadRefresh // the current token of a dead session, or made up
	}
	isParent := rt.gen == sess.Generation-1 && subtle.ConstantTimeCompare(hashToken(next), sess.RefreshHash) == 1
	if isParent && now.Before(sess.RotatedAt.Add(s.cfg.Grace)) && sess.Live(now, s.idle()) {
		u, err := t.UserByID(ctx, sess.UserID)
		if err != nil {
			return err
		}
		if u.Status != gatehouse.StatusActive {
			return errBadRefresh
		}
		*userID = sess.UserID
		return nil // the successor already issued, again
	}
	if !isParent && !descendsTo(s.cfg.RefreshKey, rt, sess.Generation, sess.RefreshHash) {
		return errBadRefresh // not of this family
	}
	if !sess.RevokedAt.IsZero() {
		return errBadRefresh // already ended; nothing more to do
	}
	if err := t.RevokeSession(ctx, sess.ID, now); err != nil {
		return err
	}
	behind := strconv.FormatInt(sess.Generation-rt.gen, 10)
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRefreshReuseDetected, Outcome: gatehouse.OutcomeFailure,
		Actor: sess.UserID, Target: "session:" + sess.ID, Details: map[string]string{"generations_behind": behind}}); err != nil {
		return err
	}
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSessionRevoked, Actor: "system", Target: "session:" + sess.ID,
		Details: map[string]string{"reason": "refresh_reuse", "user_id": sess.UserID}}); err != nil {
		return err
	}
	return CommitThen(errBadRefresh)
}

// Logout revokes the session a refresh token belongs to (the current token,
// or one of its ancestors) and records logout. An unknown or malformed token
// changes nothing and is not an error: logging out twice is not a failure.
func (s *Sessions) Logout(ctx context.Context, token string) error {
	// The guard (guard.go): refresh.token, as for a refresh, before the
	// look-up and the forward derivation.
	if err := limit(ctx, ratelimit.RefreshToken, token); err != nil {
		return err
	}
	rt, ok := parseRefreshToken(token)
	if !ok {
		return nil
	}
	now := s.now()
	return s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		sess, err := t.SessionByID(ctx, rt.sid)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !sess.RevokedAt.IsZero() || !descendsTo(s.cfg.RefreshKey, rt, sess.Generation, sess.RefreshHash) {
			return nil
		}
		if err := t.RevokeSession(ctx, sess.ID, now); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventLogout, Actor: sess.UserID, Target: "session:" + sess.ID})
	})
}

// SessionInfo is one entry of a person's session list.
type SessionInfo struct {
	ID         string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	Method     gatehouse.SessionMethod
	IP         string
	UserAgent  string
	Current    bool
}

// List returns the caller's live sessions, newest first; Current marks the
// one the caller is using.
func (s *Sessions) List(ctx context.Context, p *gatehouse.Principal) ([]SessionInfo, error) {
	if err := requireSession(p, "sessions are managed"); err != nil {
		return nil, err
	}
	now := s.now()
	var out []SessionInfo
	err := s.InTx(ctx, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		list, err := t.LiveSessions(ctx, p.UserID, now, s.idleSince(now))
		if err != nil {
			return err
		}
		out = make([]SessionInfo, 0, len(list))
		for _, x := range list {
			out = append(out, SessionInfo{ID: x.ID, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt, ExpiresAt: x.ExpiresAt,
				Method: x.Method, IP: x.IP, UserAgent: x.UserAgent, Current: x.ID == p.SessionID})
		}
		return nil
	})
	return out, err
}

// Revoke ends one of the caller's sessions; not_found for anyone else's.
func (s *Sessions) Revoke(ctx context.Context, p *gatehouse.Principal, id string) error {
	if err := requireSession(p, "sessions are managed"); err != nil {
		return err
	}
	if !gatehouse.ValidID(id) {
		return errNoSession
	}
	now := s.now()
	return s.InTx(ctx, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		sess, err := t.SessionByID(ctx, id)
		if errors.Is(err, gatehouse.ErrNotFound) || err == nil && (sess.UserID != p.UserID || !sess.Live(now, s.idle())) {
			return errNoSession
		}
		if err != nil {
			return err
		}
		if err := t.RevokeSession(ctx, id, now); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSessionRevoked, Actor: p.UserID, Target: "session:" + id,
			Details: map[string]string{"reason": "user"}})
	})
}

// RevokeAll ends every session (`gatehouse sessions revoke-all`) and returns
// how many were live.
func (s *Sessions) RevokeAll(ctx context.Context) (int64, error) {
	var n int64
	now := s.now()
	err := s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		var err error
		if n, err = t.RevokeAllSessions(ctx, now); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSessionRevoked, Actor: "system", Target: "sessions:all",
			Details: map[string]string{"reason": "revoke_all", "count": strconv.FormatInt(n, 10)}})
	})
	return n, err
}

// Purge deletes magic links and sessions that ended more than a day ago.
func (s *Sessions) Purge(ctx context.Context) error {
	cutoff := s.now().Add(-24 * time.Hour)
	return s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error { return t.PurgeSessions(ctx, cutoff) })
}

// RunPurge calls Purge every interval until ctx ends; a failure is logged
// and retried at the next tick. Several instances may run it: each purge is
// one idempotent DELETE per table.
func (s *Sessions) RunPurge(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Purge(ctx); err != nil && ctx.Err() == nil {
				s.Log.ErrorContext(ctx, "purging ended sessions failed", "error", err.Error())
			}
		}
	}
}
