package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// One refresh engine for every family of rotating refresh tokens: a
// person's session (sessions.go) and an OAuth grant (authcode.go). Both use
// the same derivation (refreshtoken.go), grace window, reuse detection, idle
// timeout and audit events; what differs is the table the family lives in
// (familyRows) and the kind named in the events.

// FamilyConfig configures the refresh-token families of people's sessions
// and OAuth grants alike. Durations left zero take the defaults.
type FamilyConfig struct {
	// Key keys the derivation of each refresh token from the one before (at
	// least 32 bytes, derived from the master secret).
	Key []byte
	// TTL is a family's absolute lifetime (GATEHOUSE_REFRESH_TTL).
	TTL time.Duration
	// Idle ends a family not refreshed for this long (default 7 days;
	// negative: none).
	Idle time.Duration
	// Grace is the refresh grace window (GATEHOUSE_REFRESH_GRACE).
	Grace time.Duration
}

// Families is the refresh engine, shared by Sessions and OAuth.
type Families struct {
	*Core
	cfg FamilyConfig
}

// newFamilies returns the refresh engine.
func newFamilies(core *Core, cfg FamilyConfig) (*Families, error) {
	if len(cfg.Key) < 32 {
		return nil, errors.New("auth: the refresh key must be at least 32 bytes")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultSessionTTL
	}
	if cfg.Idle == 0 {
		cfg.Idle = DefaultIdleTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	return &Families{Core: core, cfg: cfg}, nil
}

// expiry is the absolute end of a family started at now.
func (f *Families) expiry(now time.Time) time.Time { return now.Add(f.cfg.TTL) }

// idleSince is the last use a family must have had after to be live at now;
// zero when there is no idle timeout.
func (f *Families) idleSince(now time.Time) time.Time {
	if f.cfg.Idle < 0 {
		return time.Time{}
	}
	return now.Add(-f.cfg.Idle)
}

func (f *Families) idle() time.Duration { return max(f.cfg.Idle, 0) }

// familyKind names what a family carries, in audit targets and details.
type familyKind string

const (
	kindSession familyKind = "session"
	kindGrant   familyKind = "oauth_grant"
)

// revokedEvent is the event of a family's end: session.revoked for a
// person's session, oauth_grant.revoked for a grant.
func (k familyKind) revokedEvent() gatehouse.EventType {
	if k == kindGrant {
		return gatehouse.EventOAuthGrantRevoked
	}
	return gatehouse.EventSessionRevoked
}

// family is what the engine needs of a session or a grant row.
type family struct {
	kind        familyKind
	ID          string
	UserID      string
	WorkspaceID string // a grant's; "" for a session
	ClientID    string // a grant's; "" for a session
	Generation  int64
	RefreshHash []byte
	RotatedAt   time.Time
	LastUsedAt  time.Time
	ExpiresAt   time.Time
	RevokedAt   time.Time

	session *gatehouse.Session    // the row, when kind is kindSession
	grant   *gatehouse.OAuthGrant // the row, when kind is kindGrant
}

func (f *family) target() string { return string(f.kind) + ":" + f.ID }

func (f *family) live(now time.Time, idle time.Duration) bool {
	return f.RevokedAt.IsZero() && now.Before(f.ExpiresAt) && (idle <= 0 || now.Before(f.LastUsedAt.Add(idle)))
}

// details returns the audit details every event of f carries (its kind and,
// for a grant, the client) with kv added.
func (f *family) details(kv ...string) map[string]string {
	d := map[string]string{"family": string(f.kind)}
	if f.ClientID != "" {
		d["client_id"] = f.ClientID
	}
	for i := 0; i+1 < len(kv); i += 2 {
		d[kv[i]] = kv[i+1]
	}
	return d
}

func sessionFamily(s *gatehouse.Session) *family {
	return &family{kind: kindSession, ID: s.ID, UserID: s.UserID, Generation: s.Generation, RefreshHash: s.RefreshHash,
		RotatedAt: s.RotatedAt, LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt, RevokedAt: s.RevokedAt, session: s}
}

func grantFamily(g *gatehouse.OAuthGrant) *family {
	return &family{kind: kindGrant, ID: g.ID, UserID: g.UserID, WorkspaceID: g.WorkspaceID, ClientID: g.ClientID,
		Generation: g.Generation, RefreshHash: g.RefreshHash, RotatedAt: g.RotatedAt, LastUsedAt: g.LastUsedAt,
		ExpiresAt: g.ExpiresAt, RevokedAt: g.RevokedAt, grant: g}
}

// familyRows reads and writes one kind of family in a transaction.
type familyRows interface {
	rotate(ctx context.Context, t *Tx, r gatehouse.Rotation) (*family, error)
	get(ctx context.Context, t *Tx, id string) (*family, error)
	revoke(ctx context.Context, t *Tx, id string, now time.Time) error
}

// sessionRows are people's sessions.
type sessionRows struct{}

func (sessionRows) rotate(ctx context.Context, t *Tx, r gatehouse.Rotation) (*family, error) {
	s, err := t.RotateRefresh(ctx, r)
	if err != nil {
		return nil, err
	}
	return sessionFamily(s), nil
}

func (sessionRows) get(ctx context.Context, t *Tx, id string) (*family, error) {
	s, err := t.SessionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return sessionFamily(s), nil
}

func (sessionRows) revoke(ctx context.Context, t *Tx, id string, now time.Time) error {
	return t.RevokeSession(ctx, id, now)
}

// grantRows are the OAuth grants of one client (in its workspace): a grant
// of another client is not found.
type grantRows struct{ c *gatehouse.Client }

func (g grantRows) rotate(ctx context.Context, t *Tx, r gatehouse.Rotation) (*family, error) {
	x, err := t.RotateOAuthGrant(ctx, g.c.WorkspaceID, g.c.ClientID, r)
	if err != nil {
		return nil, err
	}
	return grantFamily(x), nil
}

func (g grantRows) get(ctx context.Context, t *Tx, id string) (*family, error) {
	x, err := t.OAuthGrantByID(ctx, g.c.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if x.ClientID != g.c.ClientID {
		return nil, gatehouse.ErrNotFound
	}
	return grantFamily(x), nil
}

func (g grantRows) revoke(ctx context.Context, t *Tx, id string, now time.Time) error {
	return t.RevokeOAuthGrant(ctx, g.c.WorkspaceID, id, now)
}

// refresh rotates the refresh token rt (whose successor is next) in t. In
// the common case it is two statements: the UPDATE that swaps the family's
// current hash for its successor's (only if the family is live and its
// person active) and the refresh.rotated audit row. Otherwise it reads the
// family to tell the cases apart:
//   - rt is the parent of the current token, retired less than Grace ago:
//     the same successor again (recomputed), no change;
//   - rt is an ancestor (the parent after Grace, or older): reuse (RFC 9700
//     section 4.14.2). The family is revoked, refresh.reuse_detected and the
//     kind's revocation event recorded, invalid_grant;
//   - anything else (unknown, expired, revoked, idle, person not active):
//     invalid_grant.
//
// It returns the family as it is afterwards.
func (f *Families) refresh(ctx context.Context, t *Tx, rows familyRows, rt refreshToken, next string, now time.Time) (*family, error) {
	fam, err := rows.rotate(ctx, t, gatehouse.Rotation{
		SessionID: rt.sid, OldHash: hashToken(rt.text), NewHash: hashToken(next),
		Generation: rt.gen + 1, Now: now, IdleSince: f.idleSince(now),
	})
	if err == nil {
		return fam, t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRefreshRotated, Actor: fam.UserID, Target: fam.target(),
			WorkspaceID: fam.WorkspaceID, Details: fam.details("generation", strconv.FormatInt(fam.Generation, 10))})
	}
	if !errors.Is(err, gatehouse.ErrNotFound) {
		return nil, err
	}
	return f.refreshSlow(ctx, t, rows, rt, next, now)
}

// refreshSlow tells apart why a rotation matched nothing; see refresh.
func (f *Families) refreshSlow(ctx context.Context, t *Tx, rows familyRows, rt refreshToken, next string, now time.Time) (*family, error) {
	fam, err := rows.get(ctx, t, rt.sid)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, errBadRefresh
	}
	if err != nil {
		return nil, err
	}
	if rt.gen >= fam.Generation {
		return nil, errBadRefresh // the current token of a dead family, or made up
	}
	isParent := rt.gen == fam.Generation-1 && subtle.ConstantTimeCompare(hashToken(next), fam.RefreshHash) == 1
	if isParent && now.Before(fam.RotatedAt.Add(f.cfg.Grace)) && fam.live(now, f.idle()) {
		u, err := t.UserByID(ctx, fam.UserID)
		if err != nil {
			return nil, err
		}
		if u.Status != gatehouse.StatusActive {
			return nil, errBadRefresh
		}
		return fam, nil // the successor already issued, again
	}
	if !isParent && !descendsTo(f.cfg.Key, rt, fam.Generation, fam.RefreshHash) {
		return nil, errBadRefresh // not of this family
	}
	if !fam.RevokedAt.IsZero() {
		return nil, errBadRefresh // already ended; nothing more to do
	}
	if err := rows.revoke(ctx, t, fam.ID, now); err != nil {
		return nil, err
	}
	behind := strconv.FormatInt(fam.Generation-rt.gen, 10)
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRefreshReuseDetected, Outcome: gatehouse.OutcomeFailure,
		Actor: fam.UserID, Target: fam.target(), WorkspaceID: fam.WorkspaceID, Details: fam.details("generations_behind", behind)}); err != nil {
		return nil, err
	}
	if err := t.Audit(&gatehouse.AuditEvent{Type: fam.kind.revokedEvent(), Actor: "system", Target: fam.target(), WorkspaceID: fam.WorkspaceID,
		Details: fam.details("reason", "refresh_reuse", "user_id", fam.UserID)}); err != nil {
		return nil, err
	}
	return nil, CommitThen(errBadRefresh)
}

// end revokes the family rt belongs to when rt is its current token or an
// ancestor, and returns it; nil when there was nothing to end (unknown,
// another family's, already revoked, also by a concurrent call: ending is
// idempotent). The caller records the event.
func (f *Families) end(ctx context.Context, t *Tx, rows familyRows, rt refreshToken, now time.Time) (*family, error) {
	fam, err := rows.get(ctx, t, rt.sid)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fam.RevokedAt.IsZero() || !descendsTo(f.cfg.Key, rt, fam.Generation, fam.RefreshHash) {
		return nil, nil
	}
	err = rows.revoke(ctx, t, fam.ID, now)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, nil // a concurrent call ended it first
	}
	if err != nil {
		return nil, err
	}
	return fam, nil
}

// current reports whether tok (parsed as rt) is fam's current refresh
// token, or its parent within the grace window (a client that raced
// itself), and fam is live at now. It changes nothing.
func (f *Families) current(fam *family, rt refreshToken, now time.Time) bool {
	cur := rt.gen == fam.Generation && subtle.ConstantTimeCompare(hashToken(rt.text), fam.RefreshHash) == 1
	parent := rt.gen == fam.Generation-1 && now.Before(fam.RotatedAt.Add(f.cfg.Grace)) &&
		subtle.ConstantTimeCompare(hashToken(successor(f.cfg.Key, rt)), fam.RefreshHash) == 1
	return (cur || parent) && fam.live(now, f.idle())
}
