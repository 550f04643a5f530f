package sqlstore

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The outbox and the back-channel logout look-up
// (postgres/migrations/0012_oidc.sql).

const outboxColumns = `id, kind, payload, attempts, next_at, created_at, last_error`

// EnqueueOutbox inserts it.
func (t *Tx) EnqueueOutbox(ctx context.Context, it *gatehouse.OutboxItem) error {
	_, err := t.tx.ExecContext(ctx, `insert into outbox (`+outboxColumns+`) values ($1, $2, $3, $4, $5, $6, $7)`,
		it.ID, it.Kind, string(it.Payload), it.Attempts, Micros(it.NextAt), Micros(it.CreatedAt), it.LastError)
	return t.err(err, "enqueue outbox")
}

// ClaimOutbox takes up to limit due items, locking them (PostgreSQL: FOR
// UPDATE SKIP LOCKED, so concurrent workers take different rows; SQLite
// has one writer) and leasing them until leaseUntil.
func (t *Tx) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*gatehouse.OutboxItem, error) {
	lock := ""
	if t.d.ForUpdate != "" {
		lock = t.d.ForUpdate + " skip locked"
	}
	items, err := list(ctx, t, "claim outbox", t.scanOutbox,
		`select `+outboxColumns+` from outbox where next_at <= $1 order by next_at, id limit `+strconv.Itoa(limit)+lock, Micros(now))
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if _, err := t.tx.ExecContext(ctx, `update outbox set next_at = $2 where id = $1`, it.ID, Micros(leaseUntil)); err != nil {
			return nil, t.err(err, "claim outbox")
		}
	}
	return items, nil
}

// DeleteOutbox removes an item.
func (t *Tx) DeleteOutbox(ctx context.Context, id string) error {
	_, err := t.tx.ExecContext(ctx, `delete from outbox where id = $1`, id)
	return t.err(err, "delete outbox")
}

// RetryOutbox records a failed attempt.
func (t *Tx) RetryOutbox(ctx context.Context, id string, attempts int, nextAt time.Time, lastError string) error {
	_, err := t.tx.ExecContext(ctx, `update outbox set attempts = $2, next_at = $3, last_error = $4 where id = $1`,
		id, attempts, Micros(nextAt), lastError)
	return t.err(err, "retry outbox")
}

func (t *Tx) scanOutbox(row interface{ Scan(...any) error }) (*gatehouse.OutboxItem, error) {
	var it gatehouse.OutboxItem
	var payload string
	var next, created int64
	if err := row.Scan(&it.ID, &it.Kind, &payload, &it.Attempts, &next, &created, &it.LastError); err != nil {
		return nil, t.err(err, "read outbox")
	}
	it.Payload, it.NextAt, it.CreatedAt = []byte(payload), FromMicros(next), FromMicros(created)
	return &it, nil
}

// EndedSessionTargets reads, under PostgreSQL through the app.ended_at
// policies of migration 0012, the clients to tell that sessions revoked at
// endedAt have ended.
func (t *Tx) EndedSessionTargets(ctx context.Context, endedAt time.Time, userID, sessionID string) ([]gatehouse.BackchannelTarget, error) {
	at := Micros(endedAt)
	if err := t.setLookup(ctx, "app.ended_at", strconv.FormatInt(at, 10), "find back-channel logout targets"); err != nil {
		return nil, err
	}
	q := `select distinct g.workspace_id, g.client_id, s.user_id, s.id, c.backchannel_logout_uri
		from sessions s
		join oauth_grants g on g.session_id = s.id
		join oauth_clients c on c.client_id = g.client_id and c.workspace_id = g.workspace_id
		where s.revoked_at = $1 and c.backchannel_logout_uri <> '' and (g.revoked_at is null or g.revoked_at = $1)`
	args := []any{at}
	if userID != "" {
		if !gatehouse.ValidID(userID) {
			return nil, nil
		}
		args = append(args, userID)
		q += ` and s.user_id = $` + strconv.Itoa(len(args))
	}
	if sessionID != "" {
		if !gatehouse.ValidID(sessionID) {
			return nil, nil
		}
		args = append(args, sessionID)
		q += ` and s.id = $` + strconv.Itoa(len(args))
	}
	rows, err := t.tx.QueryContext(ctx, q+` limit 10000`, args...)
	if err != nil {
		return nil, t.err(err, "find back-channel logout targets")
	}
	defer rows.Close()
	var out []gatehouse.BackchannelTarget
	for rows.Next() {
		var b gatehouse.BackchannelTarget
		if err := rows.Scan(&b.WorkspaceID, &b.ClientID, &b.UserID, &b.SessionID, &b.URI); err != nil {
			return nil, t.err(err, "find back-channel logout targets")
		}
		out = append(out, b)
	}
	return out, t.err(rows.Err(), "find back-channel logout targets")
}

// RevokeClientGrants revokes userID's unrevoked grants to clientID in
// workspaceID; the transaction's scope must name the workspace.
func (t *Tx) RevokeClientGrants(ctx context.Context, workspaceID, clientID, userID string, now time.Time) (int64, error) {
	if !gatehouse.ValidID(workspaceID) || !gatehouse.ValidID(userID) {
		return 0, nil
	}
	res, err := t.tx.ExecContext(ctx, `update oauth_grants set revoked_at = $4
		where workspace_id = $1 and client_id = $2 and user_id = $3 and revoked_at is null`, workspaceID, clientID, userID, Micros(now))
	if err != nil {
		return 0, t.err(err, "revoke client grants")
	}
	n, err := res.RowsAffected()
	return n, t.err(err, "revoke client grants")
}
