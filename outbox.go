package gatehouse

import (
	"context"
	"time"
)

// OutboxItem is a message that a transaction decided to send and a worker
// delivers after it commits (the transactional outbox): written in the same
// transaction as the change it reports, so a crash loses none, and kept
// until delivered or given up. Kind names what it is (e.g.
// "backchannel_logout"); Payload is its JSON.
type OutboxItem struct {
	ID        string
	Kind      string
	Payload   []byte
	Attempts  int
	NextAt    time.Time // not before then
	CreatedAt time.Time
	LastError string
}

// BackchannelTarget is a client to tell, by back-channel logout, that a
// session it holds a grant for has ended.
type BackchannelTarget struct {
	WorkspaceID string
	ClientID    string
	UserID      string
	SessionID   string
	URI         string // the client's backchannel_logout_uri
}

// OIDCTx is the part of a transaction that serves OpenID Connect logout.
type OIDCTx interface {
	// EnqueueOutbox inserts it.
	EnqueueOutbox(ctx context.Context, it *OutboxItem) error
	// ClaimOutbox returns up to limit items due at now (NextAt <= now),
	// oldest first, and moves each one's NextAt to leaseUntil, so that no
	// other worker takes it while this one delivers it.
	ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*OutboxItem, error)
	// DeleteOutbox removes a delivered (or abandoned) item.
	DeleteOutbox(ctx context.Context, id string) error
	// RetryOutbox records a failed attempt: attempts, the next time, the
	// error (short, no secret).
	RetryOutbox(ctx context.Context, id string, attempts int, nextAt time.Time, lastError string) error
	// EndedSessionTargets returns, distinct per (client, session), the
	// clients with a back-channel logout URI that hold a grant (live, or
	// revoked at endedAt) approved from a session revoked at exactly
	// endedAt, optionally only sessions of userID or the session
	// sessionID. Called in the transaction that revoked them.
	EndedSessionTargets(ctx context.Context, endedAt time.Time, userID, sessionID string) ([]BackchannelTarget, error)
	// RevokeClientGrants revokes the unrevoked grants of userID to clientID
	// in workspaceID (RP-initiated logout) and returns how many.
	RevokeClientGrants(ctx context.Context, workspaceID, clientID, userID string, now time.Time) (int64, error)
}
