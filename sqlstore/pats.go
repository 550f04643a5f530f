package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const patColumns = `p.id, p.workspace_id, p.user_id, p.name, p.prefix, p.token_hash, p.scopes, p.created_at, p.expires_at, p.last_used_at`

// CreatePAT inserts p. Under PostgreSQL the transaction's scope must name the
// token's workspace and user.
func (t *Tx) CreatePAT(ctx context.Context, p *gatehouse.PAT) error {
	_, err := t.tx.ExecContext(ctx, `insert into pats (id, workspace_id, user_id, name, prefix, token_hash, scopes, created_at, expires_at, last_used_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		p.ID, p.WorkspaceID, p.UserID, p.Name, p.Prefix, p.Hash, strings.Join(p.Scopes, " "),
		Micros(p.CreatedAt), Micros(p.ExpiresAt), NullMicros(p.LastUsedAt))
	return t.err(err, "create pat")
}

// PATsForUser lists userID's tokens, newest first.
func (t *Tx) PATsForUser(ctx context.Context, userID string) ([]*gatehouse.PAT, error) {
	scan := func(row rowScanner) (*gatehouse.PAT, error) { return t.scanPAT(row) }
	return list(ctx, t, "list pats", scan, `select `+patColumns+` from pats p where p.user_id = $1 order by p.id desc`, userID)
}

// CountPATsForUser locks userID's row (FOR UPDATE under PostgreSQL) and
// counts their tokens: concurrent creations for one user take turns here, so
// a cap checked on the count is never exceeded. SQLite's write transactions
// run one at a time already.
func (t *Tx) CountPATsForUser(ctx context.Context, userID string) (int, error) {
	var id string
	if err := t.tx.QueryRowContext(ctx, `select id from users where id = $1`+t.d.ForUpdate, userID).Scan(&id); err != nil {
		return 0, t.err(err, "lock user")
	}
	var n int
	err := t.tx.QueryRowContext(ctx, `select count(*) from pats where user_id = $1`, userID).Scan(&n)
	return n, t.err(err, "count pats")
}

// PAT returns userID's token id.
func (t *Tx) PAT(ctx context.Context, userID, id string) (*gatehouse.PAT, error) {
	return t.scanPAT(t.tx.QueryRowContext(ctx, `select `+patColumns+` from pats p where p.id = $1 and p.user_id = $2`, id, userID))
}

// UpdatePAT writes p's name, scopes and expiry.
func (t *Tx) UpdatePAT(ctx context.Context, p *gatehouse.PAT) error {
	res, err := t.tx.ExecContext(ctx, `update pats set name = $3, scopes = $4, expires_at = $5 where id = $1 and user_id = $2`,
		p.ID, p.UserID, p.Name, strings.Join(p.Scopes, " "), Micros(p.ExpiresAt))
	return t.affected(res, err, "update pat")
}

// DeletePAT deletes userID's token id.
func (t *Tx) DeletePAT(ctx context.Context, userID, id string) error {
	res, err := t.tx.ExecContext(ctx, `delete from pats where id = $1 and user_id = $2`, id, userID)
	return t.affected(res, err, "delete pat")
}

// PATByHash finds a token by its lookup hash, with its owner's status. Under
// PostgreSQL the lookup sets app.pat_hash, which the pats policies read,
// in the same statement (gatehouse_pat_lookup, migration 0014): that one row
// becomes visible, and nothing else. It needs no transaction.
func (t *Tx) PATByHash(ctx context.Context, hash string) (*gatehouse.PAT, error) {
	row := t.tx.QueryRowContext(ctx, `select `+patColumns+`, u.status, u.admin
		from `+t.lookupFrom("gatehouse_pat_lookup", "pats")+` p join users u on u.id = p.user_id where p.token_hash = $1`, hash)
	var status string
	p, err := t.scanPAT(row, &status, new(bool))
	if err != nil {
		return nil, err
	}
	p.OwnerStatus = gatehouse.UserStatus(status)
	return p, nil
}

// TouchPAT sets last_used_at to now unless it is already after now - every.
// Under PostgreSQL it sets app.pat_hash first, which the update policy reads.
func (t *Tx) TouchPAT(ctx context.Context, hash string, now time.Time, every time.Duration) error {
	if err := t.setLookup(ctx, "app.pat_hash", hash, "touch pat"); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `update pats set last_used_at = $2 where token_hash = $1 and (last_used_at is null or last_used_at <= $3)`,
		hash, Micros(now), Micros(now.Add(-every)))
	return t.err(err, "touch pat")
}

func (t *Tx) scanPAT(row interface{ Scan(...any) error }, extra ...any) (*gatehouse.PAT, error) {
	var p gatehouse.PAT
	var scopes string
	var created, expires int64
	var used sql.NullInt64
	dest := append([]any{&p.ID, &p.WorkspaceID, &p.UserID, &p.Name, &p.Prefix, &p.Hash, &scopes, &created, &expires, &used}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, t.err(err, "read pat")
	}
	if len(extra) == 2 {
		p.OwnerAdmin = *extra[1].(*bool)
	}
	p.Scopes = strings.Fields(scopes)
	p.CreatedAt, p.ExpiresAt, p.LastUsedAt = FromMicros(created), FromMicros(expires), FromNullMicros(used)
	return &p, nil
}
