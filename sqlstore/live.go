package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// SessionWritable is one statement: the session and its user, joined.
func (t *Tx) SessionWritable(ctx context.Context, sessionID, userID string, now, idleSince time.Time) (bool, error) {
	if !gatehouse.ValidID(sessionID) || !gatehouse.ValidID(userID) {
		return false, nil
	}
	var ok int
	err := t.tx.QueryRowContext(ctx, `select count(*) from sessions s join users u on u.id = s.user_id
		where s.id = $1 and s.user_id = $2 and s.revoked_at is null and s.expires_at > $3 and s.last_used_at > $4
		  and u.status = 'active'`, sessionID, userID, Micros(now), Micros(idleSince)).Scan(&ok)
	return ok > 0, t.err(err, "check session")
}

// PATWritable is one statement: the token and its owner, joined.
func (t *Tx) PATWritable(ctx context.Context, patID, userID string, now time.Time) (bool, error) {
	if !gatehouse.ValidID(patID) || !gatehouse.ValidID(userID) {
		return false, nil
	}
	var ok int
	err := t.tx.QueryRowContext(ctx, `select count(*) from pats p join users u on u.id = p.user_id
		where p.id = $1 and p.user_id = $2 and p.expires_at > $3 and u.status = 'active'`, patID, userID, Micros(now)).Scan(&ok)
	return ok > 0, t.err(err, "check pat")
}
