package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// CreateWorkspace inserts w. Under PostgreSQL the transaction's scope must
// name the new workspace (Scope.WorkspaceID = w.ID): row-level security lets a
// transaction write only rows of its own workspace.
func (t *Tx) CreateWorkspace(ctx context.Context, w *gatehouse.Workspace) error {
	_, err := t.tx.ExecContext(ctx, `insert into workspaces (id, name, created_at) values ($1, $2, $3)`,
		w.ID, w.Name, Micros(w.CreatedAt))
	return t.err(err, "create workspace")
}

// WorkspaceByID returns gatehouse.ErrNotFound when there is no such workspace
// or the scope does not let the transaction see it.
func (t *Tx) WorkspaceByID(ctx context.Context, id string) (*gatehouse.Workspace, error) {
	return t.scanWorkspace(t.tx.QueryRowContext(ctx, `select id, name, created_at from workspaces where id = $1`, id))
}

func (t *Tx) scanWorkspace(row rowScanner) (*gatehouse.Workspace, error) {
	var w gatehouse.Workspace
	var created int64
	if err := row.Scan(&w.ID, &w.Name, &created); err != nil {
		return nil, t.err(err, "read workspace")
	}
	w.CreatedAt = FromMicros(created)
	return &w, nil
}

// WorkspacesForUser lists the workspaces userID is a member of, oldest first,
// at most gatehouse.MaxWorkspacesListed. Under PostgreSQL the scope's UserID
// must be userID.
func (t *Tx) WorkspacesForUser(ctx context.Context, userID string) ([]*gatehouse.Workspace, error) {
	return list(ctx, t, "list workspaces", t.scanWorkspace, `select w.id, w.name, w.created_at
		from memberships m join workspaces w on w.id = m.workspace_id
		where m.user_id = $1 order by w.created_at, w.id limit $2`, userID, gatehouse.MaxWorkspacesListed)
}

// AddMember inserts m; gatehouse.ErrConflict when the user is already a
// member, gatehouse.ErrNotFound when the user or workspace does not exist.
func (t *Tx) AddMember(ctx context.Context, m *gatehouse.Member) error {
	if !m.Role.Valid() {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "invalid role")
	}
	_, err := t.tx.ExecContext(ctx,
		`insert into memberships (workspace_id, user_id, role, created_at) values ($1, $2, $3, $4)`,
		m.WorkspaceID, m.UserID, string(m.Role), Micros(m.CreatedAt))
	return t.err(err, "add member")
}

const memberSelect = `select m.workspace_id, m.user_id, u.email, m.role, m.created_at
	from memberships m join users u on u.id = m.user_id `

// Member returns gatehouse.ErrNotFound when userID is not a member of
// workspaceID.
func (t *Tx) Member(ctx context.Context, workspaceID, userID string) (*gatehouse.Member, error) {
	return t.scanMember(t.tx.QueryRowContext(ctx,
		memberSelect+`where m.workspace_id = $1 and m.user_id = $2`, workspaceID, userID))
}

// Members lists a workspace's members, oldest first, at most
// gatehouse.MaxMembersPage.
func (t *Tx) Members(ctx context.Context, workspaceID string) ([]*gatehouse.Member, error) {
	return t.MembersPage(ctx, workspaceID, "", gatehouse.MaxMembersPage)
}

// MembersPage lists at most limit members, oldest first (by created_at,
// then user_id), after the member afterUserID: keyset paging on the same
// order, so a page costs its own length whatever the cursor.
func (t *Tx) MembersPage(ctx context.Context, workspaceID, afterUserID string, limit int) ([]*gatehouse.Member, error) {
	limit = min(max(limit, 1), gatehouse.MaxMembersPage)
	if afterUserID == "" {
		return list(ctx, t, "list members", t.scanMember,
			memberSelect+`where m.workspace_id = $1 order by m.created_at, m.user_id limit $2`, workspaceID, limit)
	}
	if !gatehouse.ValidID(afterUserID) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "cursor is not valid")
	}
	return list(ctx, t, "list members", t.scanMember,
		memberSelect+`join memberships c on c.workspace_id = m.workspace_id and c.user_id = $2
		where m.workspace_id = $1 and (m.created_at > c.created_at or m.created_at = c.created_at and m.user_id > c.user_id)
		order by m.created_at, m.user_id limit $3`, workspaceID, afterUserID, limit)
}

// CountOwners returns how many owners workspaceID has.
func (t *Tx) CountOwners(ctx context.Context, workspaceID string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `select count(*) from memberships where workspace_id = $1 and role = 'owner'`, workspaceID).Scan(&n)
	return n, t.err(err, "count owners")
}

// LockWorkspace takes the workspace's row lock (FOR UPDATE under
// PostgreSQL; SQLite's write transactions already run one at a time).
func (t *Tx) LockWorkspace(ctx context.Context, workspaceID string) error {
	var id string
	err := t.tx.QueryRowContext(ctx, `select id from workspaces where id = $1`+t.d.ForUpdate, workspaceID).Scan(&id)
	return t.err(err, "lock workspace")
}

// RevokeUserOAuthGrants revokes userID's unrevoked OAuth grants in
// workspaceID.
func (t *Tx) RevokeUserOAuthGrants(ctx context.Context, workspaceID, userID string, now time.Time) (int64, error) {
	res, err := t.tx.ExecContext(ctx, `update oauth_grants set revoked_at = $3 where workspace_id = $1 and user_id = $2 and revoked_at is null`,
		workspaceID, userID, Micros(now))
	if err != nil {
		return 0, t.err(err, "revoke OAuth grants")
	}
	n, err := res.RowsAffected()
	return n, t.err(err, "revoke OAuth grants")
}

func (t *Tx) scanMember(row interface{ Scan(...any) error }) (*gatehouse.Member, error) {
	var m gatehouse.Member
	var role string
	var created int64
	if err := row.Scan(&m.WorkspaceID, &m.UserID, &m.Email, &role, &created); err != nil {
		return nil, t.err(err, "read member")
	}
	m.Role = gatehouse.Role(role)
	m.CreatedAt = FromMicros(created)
	return &m, nil
}

// UpdateMemberRole changes a member's role; gatehouse.ErrNotFound when userID
// is not a member.
func (t *Tx) UpdateMemberRole(ctx context.Context, workspaceID, userID string, role gatehouse.Role) error {
	if !role.Valid() {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "invalid role")
	}
	res, err := t.tx.ExecContext(ctx, `update memberships set role = $3 where workspace_id = $1 and user_id = $2`,
		workspaceID, userID, string(role))
	return t.affected(res, err, "update member role")
}

// RemoveMember deletes a membership; gatehouse.ErrNotFound when there is none.
func (t *Tx) RemoveMember(ctx context.Context, workspaceID, userID string) error {
	res, err := t.tx.ExecContext(ctx, `delete from memberships where workspace_id = $1 and user_id = $2`,
		workspaceID, userID)
	return t.affected(res, err, "remove member")
}
