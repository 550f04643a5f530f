package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// CreateAccountToken inserts a mailed single-use token (its hash).
func (t *Tx) CreateAccountToken(ctx context.Context, a *gatehouse.AccountToken) error {
	_, err := t.tx.ExecContext(ctx, `insert into account_tokens (hash, purpose, user_id, email, password, created_at, expires_at, used_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.Hash, string(a.Purpose), NullString(a.UserID), a.Email, a.PasswordHash, Micros(a.CreatedAt), Micros(a.ExpiresAt), NullMicros(a.UsedAt))
	return t.err(err, "create account token")
}

// ConsumeAccountToken marks an unused, unexpired token of purpose used in one
// statement: of two concurrent uses, one gets the row.
func (t *Tx) ConsumeAccountToken(ctx context.Context, hash []byte, purpose gatehouse.TokenPurpose, now time.Time) (*gatehouse.AccountToken, error) {
	var a gatehouse.AccountToken
	var purp string
	var created, expires, used int64
	err := t.tx.QueryRowContext(ctx, `update account_tokens set used_at = $3
		where hash = $1 and purpose = $2 and used_at is null and expires_at > $3 and user_id is not null
		returning hash, purpose, user_id, email, password, created_at, expires_at, used_at`, hash, string(purpose), Micros(now)).
		Scan(&a.Hash, &purp, &a.UserID, &a.Email, &a.PasswordHash, &created, &expires, &used)
	if err != nil {
		return nil, t.err(err, "consume account token")
	}
	a.Purpose = gatehouse.TokenPurpose(purp)
	a.CreatedAt, a.ExpiresAt, a.UsedAt = FromMicros(created), FromMicros(expires), FromMicros(used)
	return &a, nil
}

// AccountTokenByHash returns the unused, unexpired token of purpose with
// this hash; a decoy (no user) is never returned.
func (t *Tx) AccountTokenByHash(ctx context.Context, hash []byte, purpose gatehouse.TokenPurpose, now time.Time) (*gatehouse.AccountToken, error) {
	var a gatehouse.AccountToken
	var purp string
	var created, expires int64
	err := t.tx.QueryRowContext(ctx, `select hash, purpose, user_id, email, password, created_at, expires_at from account_tokens
		where hash = $1 and purpose = $2 and used_at is null and expires_at > $3 and user_id is not null`, hash, string(purpose), Micros(now)).
		Scan(&a.Hash, &purp, &a.UserID, &a.Email, &a.PasswordHash, &created, &expires)
	if err != nil {
		return nil, t.err(err, "read account token")
	}
	a.Purpose = gatehouse.TokenPurpose(purp)
	a.CreatedAt, a.ExpiresAt = FromMicros(created), FromMicros(expires)
	return &a, nil
}

// RevokeOtherSessions revokes every unrevoked session of userID except keepID.
func (t *Tx) RevokeOtherSessions(ctx context.Context, userID, keepID string, now time.Time) (int64, error) {
	res, err := t.tx.ExecContext(ctx, `update sessions set revoked_at = $3 where user_id = $1 and id <> $2 and revoked_at is null`,
		userID, keepID, Micros(now))
	if err != nil {
		return 0, t.err(err, "revoke other sessions")
	}
	n, err := res.RowsAffected()
	return n, t.err(err, "revoke other sessions")
}

// SetEmailVerified records that userID proved its address at now.
func (t *Tx) SetEmailVerified(ctx context.Context, userID string, now time.Time) error {
	res, err := t.tx.ExecContext(ctx, `update users set email_verified_at = $2, updated_at = $2 where id = $1`, userID, Micros(now))
	return t.affected(res, err, "set email verified")
}

// UpdateUserEmail changes userID's address, verified at now;
// gatehouse.ErrConflict when another account has it.
func (t *Tx) UpdateUserEmail(ctx context.Context, userID, email string, now time.Time) error {
	if e, err := gatehouse.NormalizeEmail(email); err != nil || e != email {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "email is not a normalized address")
	}
	res, err := t.tx.ExecContext(ctx, `update users set email = $2, email_verified_at = $3, updated_at = $3 where id = $1`, userID, email, Micros(now))
	return t.affected(res, err, "update user email")
}

// DeleteUser deletes the account; sessions, magic links, account tokens,
// memberships and PATs go with it by foreign key (on delete cascade).
func (t *Tx) DeleteUser(ctx context.Context, userID string) error {
	res, err := t.tx.ExecContext(ctx, `delete from users where id = $1`, userID)
	return t.affected(res, err, "delete user")
}

// SearchUsers lists accounts by id after p.Cursor: those whose address holds
// p.Query (a LIKE with its wildcards escaped), or the one whose id it is.
func (t *Tx) SearchUsers(ctx context.Context, p gatehouse.UserPage) ([]*gatehouse.User, error) {
	limit := min(max(p.Limit, 1), 200)
	if p.Cursor != "" && !gatehouse.ValidID(p.Cursor) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "cursor is not valid")
	}
	q := strings.ToLower(strings.TrimSpace(p.Query))
	where, args := []string{}, []any{}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q != "" {
		if gatehouse.ValidID(q) {
			where = append(where, "id = "+arg(q))
		} else {
			esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
			where = append(where, "email like "+arg("%"+esc+"%")+` escape '\'`)
		}
	}
	if p.Cursor != "" {
		where = append(where, "id > "+arg(p.Cursor))
	}
	query := `select ` + userColumns + ` from users`
	if len(where) > 0 {
		query += ` where ` + strings.Join(where, " and ")
	}
	query += ` order by id limit ` + arg(limit)
	return list(ctx, t, "search users", t.scanUser, query, args...)
}

// AllWorkspaces lists every workspace, oldest first, at most limit (1 to
// 1000).
func (t *Tx) AllWorkspaces(ctx context.Context, limit int) ([]*gatehouse.Workspace, error) {
	limit = min(max(limit, 1), 1000)
	return list(ctx, t, "list all workspaces", t.scanWorkspace, `select id, name, created_at from workspaces order by created_at, id limit $1`, limit)
}

const invitationColumns = `id, workspace_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at`

// CreateInvitation inserts inv.
func (t *Tx) CreateInvitation(ctx context.Context, inv *gatehouse.Invitation) error {
	_, err := t.tx.ExecContext(ctx, `insert into invitations (`+invitationColumns+`) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		inv.ID, inv.WorkspaceID, inv.Email, string(inv.Role), inv.TokenHash, inv.InvitedBy,
		Micros(inv.CreatedAt), Micros(inv.ExpiresAt), NullMicros(inv.AcceptedAt), NullMicros(inv.RevokedAt))
	return t.err(err, "create invitation")
}

func (t *Tx) scanInvitation(row interface{ Scan(...any) error }) (*gatehouse.Invitation, error) {
	var inv gatehouse.Invitation
	var role string
	var created, expires int64
	var accepted, revoked sql.NullInt64
	if err := row.Scan(&inv.ID, &inv.WorkspaceID, &inv.Email, &role, &inv.TokenHash, &inv.InvitedBy, &created, &expires, &accepted, &revoked); err != nil {
		return nil, t.err(err, "read invitation")
	}
	inv.Role = gatehouse.Role(role)
	inv.CreatedAt, inv.ExpiresAt = FromMicros(created), FromMicros(expires)
	inv.AcceptedAt, inv.RevokedAt = FromNullMicros(accepted), FromNullMicros(revoked)
	return &inv, nil
}

// Invitations lists workspaceID's pending invitations, newest first (at most
// 200).
func (t *Tx) Invitations(ctx context.Context, workspaceID string, now time.Time) ([]*gatehouse.Invitation, error) {
	return list(ctx, t, "list invitations", t.scanInvitation, `select `+invitationColumns+` from invitations
		where workspace_id = $1 and accepted_at is null and revoked_at is null and expires_at > $2
		order by id desc limit 200`, workspaceID, Micros(now))
}

// InvitationByHash returns the pending invitation with this token hash,
// made visible under PostgreSQL by app.invitation_hash alone.
func (t *Tx) InvitationByHash(ctx context.Context, tokenHash string, now time.Time) (*gatehouse.Invitation, error) {
	if err := t.setLookup(ctx, "app.invitation_hash", tokenHash, "find invitation"); err != nil {
		return nil, err
	}
	return t.scanInvitation(t.tx.QueryRowContext(ctx, `select `+invitationColumns+` from invitations
		where token_hash = $1 and accepted_at is null and revoked_at is null and expires_at > $2`, tokenHash, Micros(now)))
}

// RevokeInvitation ends a pending invitation of workspaceID.
func (t *Tx) RevokeInvitation(ctx context.Context, workspaceID, id string, now time.Time) error {
	if !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `update invitations set revoked_at = $3
		where workspace_id = $1 and id = $2 and accepted_at is null and revoked_at is null and expires_at > $3`,
		workspaceID, id, Micros(now))
	return t.affected(res, err, "revoke invitation")
}

// AcceptInvitation marks the pending invitation whose token hash this is
// accepted. Under PostgreSQL it first sets app.invitation_hash, which the
// invitations policies read: that one row becomes visible, nothing else.
func (t *Tx) AcceptInvitation(ctx context.Context, tokenHash string, now time.Time) (*gatehouse.Invitation, error) {
	if err := t.setLookup(ctx, "app.invitation_hash", tokenHash, "accept invitation"); err != nil {
		return nil, err
	}
	return t.scanInvitation(t.tx.QueryRowContext(ctx, `update invitations set accepted_at = $2
		where token_hash = $1 and accepted_at is null and revoked_at is null and expires_at > $2
		returning `+invitationColumns, tokenHash, Micros(now)))
}
