package gatehouse

import (
	"context"
	"time"
)

// AuthCode is an authorization code of the authorization-code grant (RFC
// 6749 section 4.1, RFC 7636), as stored: only the SHA-256 of the code, bound
// to the client, its workspace, the redirect URI, the PKCE S256 challenge,
// the scope, the person who approved and the portal session they approved
// from. It lives 60 seconds and is used once; GrantID names the OAuth grant
// its use started, so that a second use can revoke it (section 4.1.2).
type AuthCode struct {
	Hash          []byte // SHA-256 of the code
	WorkspaceID   string
	ClientID      string
	UserID        string
	SessionID     string // the portal session the person approved from
	RedirectURI   string
	Scope         string
	CodeChallenge string // base64url SHA-256 of the verifier (S256)
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero until used
	GrantID       string    // the grant its use started; empty before
	Nonce         string    // the OpenID Connect request's nonce, for the id_token
}

// OAuthGrant is what an authorization code starts: a person's grant to a
// client, carried by one family of rotating refresh tokens, like a Session
// (the same derivation of each token from the one before, package auth).
type OAuthGrant struct {
	ID          string
	WorkspaceID string
	ClientID    string
	UserID      string
	SessionID   string // the portal session it was approved from (for the record)
	Scope       string
	CreatedAt   time.Time
	LastUsedAt  time.Time
	RotatedAt   time.Time // zero before the first rotation
	ExpiresAt   time.Time
	RevokedAt   time.Time // zero while live
	Generation  int64
	RefreshHash []byte // SHA-256 of the current refresh token
}

// Live reports whether g can still be used at now, given the idle timeout
// (zero: none), as Session.Live.
func (g *OAuthGrant) Live(now time.Time, idle time.Duration) bool {
	return g.RevokedAt.IsZero() && now.Before(g.ExpiresAt) && (idle <= 0 || now.Before(g.LastUsedAt.Add(idle)))
}

// AuthCodeTx is the part of a transaction that reads and writes
// authorization codes and OAuth grants. Both are workspace-scoped (the
// client's workspace, known before either is looked up).
type AuthCodeTx interface {
	CreateAuthCode(ctx context.Context, c *AuthCode) error
	// ConsumeAuthCode marks workspaceID's code with this hash used at now,
	// naming grantID as what it started, in one statement, if it is unused
	// and unexpired, and returns it; ErrNotFound otherwise. Of concurrent
	// consumptions, exactly one succeeds.
	ConsumeAuthCode(ctx context.Context, workspaceID string, hash []byte, grantID string, now time.Time) (*AuthCode, error)
	// AuthCodeByHash returns workspaceID's code with this hash, used or not.
	AuthCodeByHash(ctx context.Context, workspaceID string, hash []byte) (*AuthCode, error)

	CreateOAuthGrant(ctx context.Context, g *OAuthGrant) error
	// OAuthGrantByID returns workspaceID's grant id; ErrNotFound otherwise.
	OAuthGrantByID(ctx context.Context, workspaceID, id string) (*OAuthGrant, error)
	// RotateOAuthGrant applies r to workspaceID's grant r.SessionID of
	// clientID in one statement, only while the grant is live (not revoked,
	// before ExpiresAt, last used after r.IdleSince) and its user active, and returns the grant as it is afterwards; ErrNotFound when
	// nothing matched.
	RotateOAuthGrant(ctx context.Context, workspaceID, clientID string, r Rotation) (*OAuthGrant, error)
	// RevokeOAuthGrant revokes a grant that is not yet revoked; ErrNotFound
	// when there is none.
	RevokeOAuthGrant(ctx context.Context, workspaceID, id string, now time.Time) error
	// PurgeOAuth deletes, in every workspace, authorization codes that
	// expired before cutoff (every code expires a minute after it is made,
	// used or not) and grants that ended (expired or revoked) before cutoff.
	PurgeOAuth(ctx context.Context, cutoff time.Time) error
}
