package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const sessionColumns = `id, user_id, method, created_at, last_used_at, rotated_at, expires_at, revoked_at, ip, user_agent, generation, refresh_hash, amr, auth_time`

// CreateSession inserts s.
func (t *Tx) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	_, err := t.tx.ExecContext(ctx,
		`insert into sessions (`+sessionColumns+`) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		s.ID, s.UserID, string(s.Method), Micros(s.CreatedAt), Micros(s.LastUsedAt), Micros(s.RotatedAt),
		Micros(s.ExpiresAt), NullMicros(s.RevokedAt), s.IP, s.UserAgent, s.Generation, s.RefreshHash,
		strings.Join(s.AMR, " "), Micros(s.AuthTime))
	return t.err(err, "create session")
}

// SessionByID returns gatehouse.ErrNotFound when there is no such session.
func (t *Tx) SessionByID(ctx context.Context, id string) (*gatehouse.Session, error) {
	if !gatehouse.ValidID(id) {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanSession(t.tx.QueryRowContext(ctx, `select `+sessionColumns+` from sessions where id = $1`, id))
}

// RotateRefresh is the whole of a refresh in one statement: the row lock it
// takes makes concurrent rotations of one hash take turns, and each later
// one re-reads refresh_hash and matches nothing.
func (t *Tx) RotateRefresh(ctx context.Context, r gatehouse.Rotation) (*gatehouse.Session, error) {
	if !gatehouse.ValidID(r.SessionID) {
		return nil, gatehouse.ErrNotFound
	}
	now := Micros(r.Now)
	return t.scanSession(t.tx.QueryRowContext(ctx, `update sessions
		set refresh_hash = $3, generation = $4, rotated_at = $5, last_used_at = $5
		where id = $1 and refresh_hash = $2 and revoked_at is null
		  and expires_at > $5 and last_used_at > $6
		  and exists (select 1 from users u where u.id = sessions.user_id and u.status = 'active')
		returning `+sessionColumns,
		r.SessionID, r.OldHash, r.NewHash, r.Generation, now, Micros(r.IdleSince)))
}

// LiveSessions lists userID's live sessions, newest first.
func (t *Tx) LiveSessions(ctx context.Context, userID string, now, idleSince time.Time) ([]*gatehouse.Session, error) {
	if !gatehouse.ValidID(userID) {
		return nil, nil
	}
	return list(ctx, t, "list sessions", t.scanSession, `select `+sessionColumns+` from sessions
		where user_id = $1 and revoked_at is null and expires_at > $2 and last_used_at > $3
		order by created_at desc, id desc limit 1000`, userID, Micros(now), Micros(idleSince))
}

// RevokeSession revokes a session that is not yet revoked.
func (t *Tx) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `update sessions set revoked_at = $2 where id = $1 and revoked_at is null`, id, Micros(now))
	return t.affected(res, err, "revoke session")
}

// RevokeUserSessions revokes every unrevoked session of userID.
func (t *Tx) RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int64, error) {
	if !gatehouse.ValidID(userID) {
		return 0, nil
	}
	return t.count(t.tx.ExecContext(ctx, `update sessions set revoked_at = $2 where user_id = $1 and revoked_at is null`, userID, Micros(now)))
}

// RevokeAllSessions revokes every unrevoked session.
func (t *Tx) RevokeAllSessions(ctx context.Context, now time.Time) (int64, error) {
	return t.count(t.tx.ExecContext(ctx, `update sessions set revoked_at = $1 where revoked_at is null`, Micros(now)))
}

func (t *Tx) count(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, t.err(err, "revoke sessions")
	}
	return res.RowsAffected()
}

func (t *Tx) scanSession(row interface{ Scan(...any) error }) (*gatehouse.Session, error) {
	var s gatehouse.Session
	var method string
	var created, lastUsed, rotated, expires, authTime int64
	var revoked sql.NullInt64
	var amr string
	if err := row.Scan(&s.ID, &s.UserID, &method, &created, &lastUsed, &rotated, &expires, &revoked,
		&s.IP, &s.UserAgent, &s.Generation, &s.RefreshHash, &amr, &authTime); err != nil {
		return nil, t.err(err, "read session")
	}
	if amr != "" {
		s.AMR = strings.Fields(amr)
	}
	s.AuthTime = FromMicros(authTime)
	s.Method = gatehouse.SessionMethod(method)
	s.CreatedAt, s.LastUsedAt, s.RotatedAt, s.ExpiresAt = FromMicros(created), FromMicros(lastUsed), FromMicros(rotated), FromMicros(expires)
	s.RevokedAt = FromNullMicros(revoked)
	return &s, nil
}

// CreateMagicLink inserts m.
func (t *Tx) CreateMagicLink(ctx context.Context, m *gatehouse.MagicLink) error {
	_, err := t.tx.ExecContext(ctx, `insert into magic_links (hash, user_id, created_at, expires_at, used_at) values ($1, $2, $3, $4, $5)`,
		m.Hash, NullString(m.UserID), Micros(m.CreatedAt), Micros(m.ExpiresAt), NullMicros(m.UsedAt))
	return t.err(err, "create magic link")
}

// ConsumeMagicLink marks an unused, unexpired link used in one statement.
func (t *Tx) ConsumeMagicLink(ctx context.Context, hash []byte, now time.Time) (*gatehouse.MagicLink, error) {
	var m gatehouse.MagicLink
	var created, expires, used int64
	err := t.tx.QueryRowContext(ctx, `update magic_links set used_at = $2
		where hash = $1 and used_at is null and expires_at > $2
		returning hash, user_id, created_at, expires_at, used_at`, hash, Micros(now)).
		Scan(&m.Hash, &m.UserID, &created, &expires, &used)
	if err != nil {
		return nil, t.err(err, "consume magic link")
	}
	m.CreatedAt, m.ExpiresAt, m.UsedAt = FromMicros(created), FromMicros(expires), FromMicros(used)
	return &m, nil
}

// PurgeSessions deletes links and sessions that ended before cutoff.
func (t *Tx) PurgeSessions(ctx context.Context, cutoff time.Time) error {
	c := Micros(cutoff)
	if _, err := t.tx.ExecContext(ctx, `delete from magic_links where expires_at < $1`, c); err != nil {
		return t.err(err, "purge magic links")
	}
	if _, err := t.tx.ExecContext(ctx, `delete from federation_states where expires_at < $1`, c); err != nil {
		return t.err(err, "purge federation states")
	}
	if _, err := t.tx.ExecContext(ctx, `delete from account_tokens where expires_at < $1`, c); err != nil {
		return t.err(err, "purge account tokens")
	}
	if _, err := t.tx.ExecContext(ctx, `delete from mfa_flows where expires_at < $1`, c); err != nil {
		return t.err(err, "purge mfa flows")
	}
	_, err := t.tx.ExecContext(ctx, `delete from sessions where expires_at < $1 or revoked_at < $1`, c)
	return t.err(err, "purge sessions")
}
