package gatehouse

import (
	"context"
	"time"
)

// TokenPurpose names what a mailed single-use account token is for.
type TokenPurpose string

// The purposes of account tokens (docs/reference.md section 16).
const (
	PurposeVerifyEmail   TokenPurpose = "verify_email"
	PurposePasswordReset TokenPurpose = "password_reset"
	PurposeEmailChange   TokenPurpose = "email_change"
)

// AccountToken is a single-use token mailed to prove an address: only its
// SHA-256 is stored. A token without UserID is a decoy, used from the start.
type AccountToken struct {
	Hash    []byte
	Purpose TokenPurpose
	UserID  string
	Email   string // the new address of an email change, else ""
	// PasswordHash is the hash chosen at the sign-up a verification token
	// answers (set when it is verified); else "".
	PasswordHash string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       time.Time
}

// Invitation is an invitation to join a workspace with a role, mailed to an
// address; only the SHA-256 of its token is stored (TokenHash, hex).
type Invitation struct {
	ID          string
	WorkspaceID string
	Email       string
	Role        Role
	TokenHash   string
	InvitedBy   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	AcceptedAt  time.Time
	RevokedAt   time.Time
}

// UserPage is a page of the admin's user search.
type UserPage struct {
	Query  string // part of an address, or an id
	Cursor string // the last id of the previous page
	Limit  int
}

// AccountTx is the part of a transaction that serves account self-service:
// verification, reset, email change, deletion and invitations.
type AccountTx interface {
	// CreateAccountToken inserts a token.
	CreateAccountToken(ctx context.Context, a *AccountToken) error
	// ConsumeAccountToken marks an unused, unexpired token of purpose used
	// in one statement; ErrNotFound otherwise.
	ConsumeAccountToken(ctx context.Context, hash []byte, purpose TokenPurpose, now time.Time) (*AccountToken, error)
	// AccountTokenByHash returns the unused, unexpired token of purpose
	// with this hash (a decoy never); ErrNotFound otherwise.
	AccountTokenByHash(ctx context.Context, hash []byte, purpose TokenPurpose, now time.Time) (*AccountToken, error)
	// RevokeOtherSessions revokes every unrevoked session of userID but
	// keepID and returns how many.
	RevokeOtherSessions(ctx context.Context, userID, keepID string, now time.Time) (int64, error)
	// SetEmailVerified records that the account proved its address at now.
	SetEmailVerified(ctx context.Context, userID string, now time.Time) error
	// UpdateUserEmail changes the address (verified at now); ErrConflict
	// when another account has it.
	UpdateUserEmail(ctx context.Context, userID, email string, now time.Time) error
	// DeleteUser deletes the account and what hangs on it by foreign key.
	DeleteUser(ctx context.Context, userID string) error
	// SearchUsers lists accounts whose address holds q (or whose id is q),
	// by id, after the cursor.
	SearchUsers(ctx context.Context, p UserPage) ([]*User, error)

	// AllWorkspaces lists every workspace, oldest first, at most limit
	// (under PostgreSQL the scope must be AllAudit: an operator's).
	AllWorkspaces(ctx context.Context, limit int) ([]*Workspace, error)

	// CreateInvitation inserts inv in its workspace (the scope's).
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// Invitations lists the pending (not accepted, revoked or expired)
	// invitations of the scope's workspace, newest first.
	Invitations(ctx context.Context, workspaceID string, now time.Time) ([]*Invitation, error)
	// InvitationByHash returns the pending invitation with this token hash
	// (any workspace: under PostgreSQL through app.invitation_hash);
	// ErrNotFound otherwise.
	InvitationByHash(ctx context.Context, tokenHash string, now time.Time) (*Invitation, error)
	// RevokeInvitation ends a pending invitation; ErrNotFound otherwise.
	RevokeInvitation(ctx context.Context, workspaceID, id string, now time.Time) error
	// AcceptInvitation marks the pending invitation with this token hash
	// accepted in one statement and returns it; ErrNotFound otherwise.
	AcceptInvitation(ctx context.Context, tokenHash string, now time.Time) (*Invitation, error)
}

// Error codes of account self-service (docs/reference.md section 16).
const (
	// EEmailUnverified (403): the account has not proved its address; given
	// only after a correct password.
	EEmailUnverified Code = "email_unverified"
	// EReauthenticationRequired (403): the action needs a recent sign-in
	// (auth_time within GATEHOUSE_REAUTH_MAX_AGE).
	EReauthenticationRequired Code = "reauthentication_required"
)
