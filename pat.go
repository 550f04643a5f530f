package gatehouse

import (
	"context"
	"time"
)

// PAT is a personal access token as stored: never the secret, only its
// SHA-256 lookup hash (package token). A PAT belongs to one user and is bound
// to one workspace, under row-level security.
type PAT struct {
	ID          string
	WorkspaceID string
	UserID      string
	Name        string
	Prefix      string // "gth_" and the first characters of the token, for listings
	Hash        string // hex SHA-256 of the whole token
	Scopes      []string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastUsedAt  time.Time // zero: never used; updated at most once a minute
	// OwnerStatus and OwnerAdmin are the owner's account status and admin
	// flag, filled by PATByHash.
	OwnerStatus UserStatus
	OwnerAdmin  bool
}

// PATTx is the part of a transaction that reads and writes personal access
// tokens. Create runs in a transaction scoped to the token's workspace and
// user; the per-user reads and writes in one scoped to the user.
type PATTx interface {
	CreatePAT(ctx context.Context, p *PAT) error
	// PATsForUser lists userID's tokens in every workspace, newest first.
	PATsForUser(ctx context.Context, userID string) ([]*PAT, error)
	// CountPATsForUser returns how many tokens userID holds, after locking
	// the user's row until the transaction ends (PostgreSQL: SELECT … FOR
	// UPDATE), so that concurrent creations count one after another and a
	// cap checked on the count holds.
	CountPATsForUser(ctx context.Context, userID string) (int, error)
	// PAT returns userID's token id; ErrNotFound when it is not theirs.
	PAT(ctx context.Context, userID, id string) (*PAT, error)
	// UpdatePAT writes p's name, scopes and expiry.
	UpdatePAT(ctx context.Context, p *PAT) error
	DeletePAT(ctx context.Context, userID, id string) error
	// PATByHash finds a token by its lookup hash, before its workspace is
	// known, with its owner's status (docs/scopes.md says how this works
	// under row-level security). ErrNotFound when there is none.
	PATByHash(ctx context.Context, hash string) (*PAT, error)
	// TouchPAT sets last_used_at to now unless it is already after
	// now - every: at most one write per token per interval, however many
	// requests race.
	TouchPAT(ctx context.Context, hash string, now time.Time, every time.Duration) error
}
