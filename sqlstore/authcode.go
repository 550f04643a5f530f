package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const codeColumns = `code_hash, workspace_id, client_id, user_id, session_id, redirect_uri, scope, code_challenge, created_at, expires_at, used_at, grant_id, nonce`

// CreateAuthCode inserts c; the transaction's scope must name its workspace.
func (t *Tx) CreateAuthCode(ctx context.Context, c *gatehouse.AuthCode) error {
	_, err := t.tx.ExecContext(ctx, `insert into oauth_codes (`+codeColumns+`)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.Hash, c.WorkspaceID, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Scope, c.CodeChallenge,
		Micros(c.CreatedAt), Micros(c.ExpiresAt), NullMicros(c.UsedAt), NullString(c.GrantID), c.Nonce)
	return t.err(err, "create authorization code")
}

// ConsumeAuthCode marks the code used in one statement: the row lock makes
// concurrent uses take turns, and each later one matches nothing.
func (t *Tx) ConsumeAuthCode(ctx context.Context, workspaceID string, hash []byte, grantID string, now time.Time) (*gatehouse.AuthCode, error) {
	if !gatehouse.ValidID(workspaceID) {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanCode(t.tx.QueryRowContext(ctx, `update oauth_codes set used_at = $3, grant_id = $4
		where code_hash = $1 and workspace_id = $2 and used_at is null and expires_at > $3
		returning `+codeColumns, hash, workspaceID, Micros(now), NullString(grantID)))
}

// AuthCodeByHash returns workspaceID's code with this hash.
func (t *Tx) AuthCodeByHash(ctx context.Context, workspaceID string, hash []byte) (*gatehouse.AuthCode, error) {
	if !gatehouse.ValidID(workspaceID) {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanCode(t.tx.QueryRowContext(ctx, `select `+codeColumns+` from oauth_codes where code_hash = $1 and workspace_id = $2`, hash, workspaceID))
}

func (t *Tx) scanCode(row interface{ Scan(...any) error }) (*gatehouse.AuthCode, error) {
	var c gatehouse.AuthCode
	var created, expires int64
	var used sql.NullInt64
	var grant sql.NullString
	if err := row.Scan(&c.Hash, &c.WorkspaceID, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, &c.Scope, &c.CodeChallenge,
		&created, &expires, &used, &grant, &c.Nonce); err != nil {
		return nil, t.err(err, "read authorization code")
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt, c.GrantID = FromMicros(created), FromMicros(expires), FromNullMicros(used), grant.String
	return &c, nil
}

const grantColumns = `id, workspace_id, client_id, user_id, session_id, scope, created_at, last_used_at, rotated_at, expires_at, revoked_at, generation, refresh_hash`

// CreateOAuthGrant inserts g; the transaction's scope must name its workspace.
func (t *Tx) CreateOAuthGrant(ctx context.Context, g *gatehouse.OAuthGrant) error {
	_, err := t.tx.ExecContext(ctx, `insert into oauth_grants (`+grantColumns+`)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		g.ID, g.WorkspaceID, g.ClientID, g.UserID, g.SessionID, g.Scope, Micros(g.CreatedAt), Micros(g.LastUsedAt),
		Micros(g.RotatedAt), Micros(g.ExpiresAt), NullMicros(g.RevokedAt), g.Generation, g.RefreshHash)
	return t.err(err, "create OAuth grant")
}

// OAuthGrantByID returns workspaceID's grant id.
func (t *Tx) OAuthGrantByID(ctx context.Context, workspaceID, id string) (*gatehouse.OAuthGrant, error) {
	if !gatehouse.ValidID(workspaceID) || !gatehouse.ValidID(id) {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanGrant(t.tx.QueryRowContext(ctx, `select `+grantColumns+` from oauth_grants where id = $1 and workspace_id = $2`, id, workspaceID))
}

// RotateOAuthGrant is a whole refresh in one statement, as RotateRefresh is
// for sessions.
func (t *Tx) RotateOAuthGrant(ctx context.Context, workspaceID, clientID string, r gatehouse.Rotation) (*gatehouse.OAuthGrant, error) {
	if !gatehouse.ValidID(workspaceID) || !gatehouse.ValidID(r.SessionID) {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanGrant(t.tx.QueryRowContext(ctx, `update oauth_grants
		set refresh_hash = $4, generation = $5, rotated_at = $6, last_used_at = $6
		where id = $1 and workspace_id = $2 and client_id = $3 and refresh_hash = $7
		  and revoked_at is null and expires_at > $6 and last_used_at > $8
		  and exists (select 1 from users u where u.id = oauth_grants.user_id and u.status = 'active')
		returning `+grantColumns,
		r.SessionID, workspaceID, clientID, r.NewHash, r.Generation, Micros(r.Now), r.OldHash, Micros(r.IdleSince)))
}

// RevokeOAuthGrant revokes workspaceID's grant id if it is not yet revoked.
func (t *Tx) RevokeOAuthGrant(ctx context.Context, workspaceID, id string, now time.Time) error {
	if !gatehouse.ValidID(workspaceID) || !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `update oauth_grants set revoked_at = $3 where id = $1 and workspace_id = $2 and revoked_at is null`,
		id, workspaceID, Micros(now))
	return t.affected(res, err, "revoke OAuth grant")
}

func (t *Tx) scanGrant(row interface{ Scan(...any) error }) (*gatehouse.OAuthGrant, error) {
	var g gatehouse.OAuthGrant
	var created, lastUsed, rotated, expires int64
	var revoked sql.NullInt64
	if err := row.Scan(&g.ID, &g.WorkspaceID, &g.ClientID, &g.UserID, &g.SessionID, &g.Scope, &created, &lastUsed, &rotated,
		&expires, &revoked, &g.Generation, &g.RefreshHash); err != nil {
		return nil, t.err(err, "read OAuth grant")
	}
	g.CreatedAt, g.LastUsedAt, g.ExpiresAt, g.RevokedAt = FromMicros(created), FromMicros(lastUsed), FromMicros(expires), FromNullMicros(revoked)
	if rotated != 0 {
		g.RotatedAt = FromMicros(rotated)
	}
	return &g, nil
}

// PurgeOAuth deletes codes and grants of every workspace that ended before
// cutoff. Under PostgreSQL both tables are workspace-scoped with forced
// row-level security; migration 0008 adds a delete-only policy that admits
// the rows that ended before the transaction-local setting app.purge_before,
// and nothing else.
func (t *Tx) PurgeOAuth(ctx context.Context, cutoff time.Time) error {
	c := Micros(cutoff)
	if err := t.setLookup(ctx, "app.purge_before", strconv.FormatInt(c, 10), "purge OAuth"); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `delete from oauth_codes where expires_at < $1`, c); err != nil {
		return t.err(err, "purge authorization codes")
	}
	_, err := t.tx.ExecContext(ctx, `delete from oauth_grants where expires_at < $1 or revoked_at < $1`, c)
	return t.err(err, "purge OAuth grants")
}
