package gatehouse

import (
	"context"
	"time"
)

// LiveTx is the part of a transaction that tells whether a person's
// credential may still change anything (package auth, requireLive): each
// method is one statement.
type LiveTx interface {
	// SessionWritable reports whether session sessionID belongs to userID,
	// is not revoked, ends after now, was last used after idleSince (zero:
	// no idle check), and its user is active.
	SessionWritable(ctx context.Context, sessionID, userID string, now, idleSince time.Time) (bool, error)
	// PATWritable reports whether token patID of userID still exists,
	// expires after now, and its owner is active. Under PostgreSQL the
	// scope must let the transaction see the token (its workspace or user).
	PATWritable(ctx context.Context, patID, userID string, now time.Time) (bool, error)
}
