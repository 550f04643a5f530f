package gatehouse

import (
	"context"
	"time"
)

// Role is a member's role in a workspace.
type Role string

// The workspace roles. Owners and admins manage members.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// CanManageMembers reports whether r may add, change and remove members.
func (r Role) CanManageMembers() bool { return r == RoleOwner || r == RoleAdmin }

// MaxNameLen bounds a workspace, token or client name.
const MaxNameLen = 200

// MaxWorkspacesListed bounds WorkspacesForUser: anyone may create workspaces
// and add any account to them, so a person's memberships are not bounded by
// anything that person controls.
const MaxWorkspacesListed = 1000

// MaxMembersPage bounds one page of a workspace's member list (MembersPage);
// DefaultMembersPage is the page size when none is asked for.
const (
	MaxMembersPage     = 500
	DefaultMembersPage = 100
)

// Workspace is a tenant: its members, tokens, clients and audit events are kept
// apart from every other workspace's, down to PostgreSQL row-level security.
type Workspace struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Member is a user's membership in a workspace.
type Member struct {
	WorkspaceID string
	UserID      string
	Email       string // the user's, filled on reads
	Role        Role
	CreatedAt   time.Time
}

// WorkspaceTx is the part of a transaction that reads and writes workspaces and
// memberships. Under PostgreSQL these rows are visible only inside the
// transaction's Scope.
type WorkspaceTx interface {
	CreateWorkspace(ctx context.Context, w *Workspace) error
	WorkspaceByID(ctx context.Context, id string) (*Workspace, error)
	// WorkspacesForUser lists the workspaces userID is a member of, oldest
	// first, at most MaxWorkspacesListed.
	WorkspacesForUser(ctx context.Context, userID string) ([]*Workspace, error)
	// AddMember inserts m; ErrConflict when the user is already a member.
	AddMember(ctx context.Context, m *Member) error
	// Member returns ErrNotFound when userID is not a member of workspaceID.
	Member(ctx context.Context, workspaceID, userID string) (*Member, error)
	// Members lists a workspace's members, oldest first, at most
	// MaxMembersPage (MembersPage with no cursor).
	Members(ctx context.Context, workspaceID string) ([]*Member, error)
	// MembersPage lists at most limit (1 to MaxMembersPage) members of
	// workspaceID, oldest first, after the member afterUserID (empty: from
	// the first). A cursor that is no longer a member gives an empty page.
	MembersPage(ctx context.Context, workspaceID, afterUserID string, limit int) ([]*Member, error)
	// CountOwners returns how many owners workspaceID has.
	CountOwners(ctx context.Context, workspaceID string) (int, error)
	// LockWorkspace takes workspaceID's row lock until the transaction ends
	// (PostgreSQL: SELECT … FOR UPDATE; SQLite: its one writer already
	// serializes), so that changes to its owners take turns; ErrNotFound
	// when there is no such workspace in the scope.
	LockWorkspace(ctx context.Context, workspaceID string) error
	// RevokeUserOAuthGrants revokes every unrevoked OAuth grant of userID in
	// workspaceID at now and returns how many (a member removed).
	RevokeUserOAuthGrants(ctx context.Context, workspaceID, userID string, now time.Time) (int64, error)
	UpdateMemberRole(ctx context.Context, workspaceID, userID string, role Role) error
	RemoveMember(ctx context.Context, workspaceID, userID string) error
}
