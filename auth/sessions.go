package auth

import (
	"context"
	"crypto/hmac"
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
// sub, sid, auth_time and amr, RFC 9068); the credentials area's Keys does,
// through IssueSessionAccessToken. expiresIn is the token's lifetime
// (expires_in).
type SessionTokenIssuer interface {
	IssueSessionAccessToken(ctx context.Context, s *gatehouse.Session) (token string, expiresIn time.Duration, err error)
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

	// Account self-service (selfservice.go, docs/reference.md section 16).
	// EmailVerification is GATEHOUSE_EMAIL_VERIFICATION=required (the
	// zero value is off, as tests built on SessionConfig expect; cmd's
	// default is required).
	EmailVerification bool
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

// Sessions is everything about people's sessions, bundled for wiring: each
// part holds one idea, in a file of its own.
//   - Signups (signup.go): creating an account with a password;
//   - Logins (signin.go): first factors (password, magic link), each
//     producing a gatehouse.SignIn;
//   - SessionKeeper (sessions.go): the one place a finished sign-in becomes
//     a session; refresh, logout, the sessions list and revocation;
//   - Families (family.go): the refresh engine, shared with OAuth grants;
//   - CSRF (csrf.go): the session's CSRF token;
//   - Accounts (accounts.go, admin.go): account status and the admin flag;
//   - Purger (purge.go): deleting what ended.
type Sessions struct {
	*Core
	Families *Families
	*CSRF
	*Signups
	*Logins
	*SessionKeeper
	*Accounts
	*Purger
	*SelfService
}

// NewSessions returns the sessions services.
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
	if cfg.MagicLinkTTL <= 0 {
		cfg.MagicLinkTTL = DefaultMagicLinkTTL
	}
	if core.IdleTimeout == 0 {
		core.IdleTimeout = cfg.IdleTimeout // what writes check (WriteTx)
	}
	fams, err := newFamilies(core, FamilyConfig{Key: cfg.RefreshKey, TTL: cfg.SessionTTL, Idle: cfg.IdleTimeout, Grace: cfg.Grace})
	if err != nil {
		return nil, err
	}
	csrf, err := newCSRF(cfg.CSRFKey)
	if err != nil {
		return nil, err
	}
	keeper := &SessionKeeper{Core: core, families: fams, tokens: cfg.Tokens, csrf: csrf}
	core.EmailVerification = cfg.EmailVerification
	am, _ := cfg.Mailer.(gatehouse.AccountMailer)
	self := &SelfService{Core: core, sessions: keeper, cfg: selfConfig{Hasher: cfg.Hasher, Policy: cfg.Policy, Mailer: am,
		PublicURL: strings.TrimRight(cfg.PublicURL, "/")}}
	return &Sessions{
		Core: core, Families: fams, CSRF: csrf,
		Signups: &Signups{Core: core, cfg: signupConfig{Hasher: cfg.Hasher, Policy: cfg.Policy}, self: self},
		Logins: &Logins{Core: core, sessions: keeper, cfg: loginConfig{Hasher: cfg.Hasher, Mailer: cfg.Mailer,
			PublicURL: strings.TrimRight(cfg.PublicURL, "/"), MagicLinkTTL: cfg.MagicLinkTTL}},
		SessionKeeper: keeper,
		Accounts:      &Accounts{Core: core},
		Purger:        &Purger{Core: core},
		SelfService:   self,
	}, nil
}

// TokenResponse is what a sign-in or refresh gives the client (docs/reference.md §3).
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

// SessionKeeper keeps people's sessions: it turns a finished sign-in into a
// session (start, the one place that does), refreshes and ends them, and
// lists and revokes them for their person.
type SessionKeeper struct {
	*Core
	families *Families
	tokens   SessionTokenIssuer
	csrf     *CSRF
	mfa      *MFA // second factors (mfa.go); nil: none are asked for
}

// RefreshTokenSessionID returns the session a well-formed refresh token
// names, without any storage, so that the CSRF check can run before the
// refresh or logout changes anything. ok is false for a malformed token.
func RefreshTokenSessionID(token string) (sid string, ok bool) {
	t, ok := parseRefreshToken(token)
	return t.sid, ok
}

var errSignInPending = gatehouse.Errorf(gatehouse.EInvalidGrant, "the sign-in needs another factor")

// start turns a finished sign-in into a session, in t: it records every
// factor used (amr, RFC 8176) and auth_time, then login.succeeded and
// token.issued, and returns the session and its first refresh token. A
// sign-in that still needs a factor is refused: it is not a session yet.
func (k *SessionKeeper) start(ctx context.Context, t *Tx, in *gatehouse.SignIn) (*gatehouse.Session, string, error) {
	if in == nil || in.User == nil || len(in.Factors) == 0 || !in.Finished() {
		return nil, "", errSignInPending
	}
	now := k.now()
	ri := gatehouse.RequestInfoFromContext(ctx)
	method := in.Method()
	sess := &gatehouse.Session{
		ID:         gatehouse.NewID(now),
		UserID:     in.User.ID,
		Method:     method,
		AMR:        in.AMR(),
		AuthTime:   in.AuthTime.UTC().Truncate(time.Microsecond),
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  k.families.expiry(now),
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
	if err := t.LinkSessionFactors(ctx, sess.ID, in.FactorIDs()); err != nil {
		return nil, "", err
	}
	amr := strings.Join(sess.AMR, " ")
	details := map[string]string{"method": string(method), "amr": amr}
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventLoginSucceeded, Actor: sess.UserID, Target: "session:" + sess.ID, Details: details}); err != nil {
		return nil, "", err
	}
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventTokenIssued, Actor: sess.UserID, Target: "session:" + sess.ID,
		Details: map[string]string{"grant": string(method), "token_type": "refresh+access"}}); err != nil {
		return nil, "", err
	}
	return sess, tok, nil
}

// respond signs the access token of a committed session (with its amr and
// auth_time).
func (k *SessionKeeper) respond(ctx context.Context, sess *gatehouse.Session, refresh string) (*TokenResponse, error) {
	at, ttl, err := k.tokens.IssueSessionAccessToken(ctx, sess)
	if err != nil {
		return nil, err
	}
	return &TokenResponse{UserID: sess.UserID, SessionID: sess.ID, AccessToken: at, ExpiresIn: ttl, RefreshToken: refresh,
		CSRFToken: k.csrf.CSRFToken(sess.ID)}, nil
}

// Refresh rotates a person's refresh token (docs/sessions.md) with the
// shared refresh engine (Families.refresh): on the common path one
// transaction of two statements. The new access token keeps the session's
// amr and auth_time.
func (k *SessionKeeper) Refresh(ctx context.Context, token string) (*TokenResponse, error) {
	if err := limit(ctx, ratelimit.RefreshToken, token); err != nil { // the guard (guard.go), before the look-up
		return nil, err
	}
	rt, ok := parseRefreshToken(token)
	if !ok {
		return nil, errBadRefresh
	}
	next := successor(k.families.cfg.Key, rt)
	now := k.now()
	var sess *gatehouse.Session
	err := k.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		fam, err := k.families.refresh(ctx, t, sessionRows{}, rt, next, now)
		if err != nil {
			return err
		}
		sess = fam.session
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k.respond(ctx, sess, next)
}

// Logout revokes the session a refresh token belongs to (the current token,
// or one of its ancestors) and records logout. An unknown or malformed token
// changes nothing and is not an error: logging out twice, one after the
// other or at the same time, is not a failure.
func (k *SessionKeeper) Logout(ctx context.Context, token string) error {
	// The guard (guard.go): refresh.token, as for a refresh, before the
	// look-up and the forward derivation.
	if err := limit(ctx, ratelimit.RefreshToken, token); err != nil {
		return err
	}
	rt, ok := parseRefreshToken(token)
	if !ok {
		return nil
	}
	now := k.now()
	return k.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		fam, err := k.families.end(ctx, t, sessionRows{}, rt, now)
		if err != nil || fam == nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventLogout, Actor: fam.UserID, Target: fam.target()})
	})
}

// SessionInfo is one entry of a person's session list.
type SessionInfo struct {
	ID         string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	Method     gatehouse.SessionMethod
	AMR        []string
	AuthTime   time.Time
	IP         string
	UserAgent  string
	Current    bool
}

// List returns the caller's live sessions, newest first; Current marks the
// one the caller is using.
func (s *SessionKeeper) List(ctx context.Context, p *gatehouse.Principal) ([]SessionInfo, error) {
	if err := requireSession(p, "sessions are managed"); err != nil {
		return nil, err
	}
	now := s.now()
	var out []SessionInfo
	err := s.InTx(ctx, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		list, err := t.LiveSessions(ctx, p.UserID, now, s.families.idleSince(now))
		if err != nil {
			return err
		}
		out = make([]SessionInfo, 0, len(list))
		for _, x := range list {
			out = append(out, SessionInfo{ID: x.ID, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt, ExpiresAt: x.ExpiresAt,
				Method: x.Method, AMR: x.AMR, AuthTime: x.AuthTime, IP: x.IP, UserAgent: x.UserAgent, Current: x.ID == p.SessionID})
		}
		return nil
	})
	return out, err
}

// Revoke ends one of the caller's sessions; not_found for anyone else's.
func (s *SessionKeeper) Revoke(ctx context.Context, p *gatehouse.Principal, id string) error {
	if err := requireSession(p, "sessions are managed"); err != nil {
		return err
	}
	if !gatehouse.ValidID(id) {
		return errNoSession
	}
	now := s.now()
	return s.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		sess, err := t.SessionByID(ctx, id)
		if errors.Is(err, gatehouse.ErrNotFound) || err == nil && (sess.UserID != p.UserID || !sess.Live(now, s.families.idle())) {
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
func (s *SessionKeeper) RevokeAll(ctx context.Context) (int64, error) {
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
