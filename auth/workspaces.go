package auth

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// Workspaces creates workspaces and manages their members. Every method takes
// the caller; a caller who is not a member of a workspace gets not_found for
// anything under it, so workspace ids cannot be probed.
type Workspaces struct{ *Core }

// ValidName returns name trimmed, or invalid_request when it is empty, too long
// or carries control characters.
func ValidName(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > gatehouse.MaxNameLen || !utf8.ValidString(name) {
		return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "%s must be 1 to %d bytes of text", what, gatehouse.MaxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "%s must not contain control characters", what)
		}
	}
	return name, nil
}

// requireUser returns p when it is a person (session or PAT), else unauthorized.
func requireUser(p *gatehouse.Principal) (*gatehouse.Principal, error) {
	if p == nil || p.UserID == "" {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "authentication required")
	}
	return p, nil
}

// requireSession returns nil when p is a person's signed-in session. Managing
// credentials (PATs, sessions) needs one: a PAT cannot mint PATs or change
// credentials. what says what is being managed, for the error.
func requireSession(p *gatehouse.Principal, what string) error {
	if _, err := requireUser(p); err != nil {
		return err
	}
	if p.Kind != gatehouse.KindSession {
		return gatehouse.Errorf(gatehouse.EForbidden, "%s with a signed-in session, not with a token", what)
	}
	return nil
}

// requireCaller returns nil when p is a person (session or PAT) or an OAuth
// client's token bound to a workspace (which may read that workspace with
// its scopes, docs/scopes.md), else unauthorized.
func requireCaller(p *gatehouse.Principal) error {
	if p != nil && p.Kind == gatehouse.KindClient && p.WorkspaceID != "" && p.ClientID != "" {
		return nil
	}
	_, err := requireUser(p)
	return err
}

// canSee reports whether p's credential reaches workspace id: a PAT or client
// is bound to its own workspace.
func canSee(p *gatehouse.Principal, id string) bool {
	return p.WorkspaceID == "" || p.WorkspaceID == id
}

func requireScope(p *gatehouse.Principal, scope string) error {
	if !p.HasScope(scope) {
		return gatehouse.Errorf(gatehouse.EForbidden, "this token lacks the %s scope", scope)
	}
	return nil
}

// Create makes a workspace with the caller as its owner. Only a person's
// session can create one: a PAT is bound to the workspace it was made for.
func (s *Workspaces) Create(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Workspace, error) {
	if err := requireSession(p, "workspaces are created"); err != nil {
		return nil, err
	}
	if err := limit(ctx, ratelimit.WorkspaceCreateUser, p.UserID); err != nil { // the guard (guard.go)
		return nil, err
	}
	name, err := ValidName("name", name)
	if err != nil {
		return nil, err
	}
	now := s.now()
	w := &gatehouse.Workspace{ID: gatehouse.NewID(now), Name: name, CreatedAt: now}
	err = s.WriteTx(ctx, p, gatehouse.Scope{WorkspaceID: w.ID, UserID: p.UserID}, func(t *Tx) error {
		if err := t.CreateWorkspace(ctx, w); err != nil {
			return err
		}
		if err := t.AddMember(ctx, &gatehouse.Member{WorkspaceID: w.ID, UserID: p.UserID, Role: gatehouse.RoleOwner, CreatedAt: now}); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventWorkspaceCreated, Actor: p.UserID, Target: "workspace:" + w.ID, WorkspaceID: w.ID})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// List returns the caller's workspaces (for a PAT or a client, only its own).
func (s *Workspaces) List(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.Workspace, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	if err := requireScope(p, gatehouse.ScopeWorkspacesRead); err != nil {
		return nil, err
	}
	var out []*gatehouse.Workspace
	if p.Kind == gatehouse.KindClient {
		// A client's token, acting for itself or for a person: its own
		// workspace, while the client exists (and, for a person, while they
		// are a member), as membership says.
		err := s.InTx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID, UserID: p.UserID}, func(t *Tx) error {
			if _, err := membership(ctx, t, p, p.WorkspaceID); err != nil {
				return err
			}
			w, err := t.WorkspaceByID(ctx, p.WorkspaceID)
			out = append(out, w)
			return err
		})
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return []*gatehouse.Workspace{}, nil
		}
		return out, err
	}
	err := s.InTx(ctx, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		ws, err := t.WorkspacesForUser(ctx, p.UserID)
		for _, w := range ws {
			if canSee(p, w.ID) {
				out = append(out, w)
			}
		}
		return err
	})
	return out, err
}

// membership returns the caller's membership of id, or not_found when the
// caller is not a member or the credential cannot reach it. An OAuth
// client's token reaches only its client's workspace, and only while the
// client exists; one acting for itself (no person) has no membership: nil,
// nil. One acting for a person (the authorization-code grant) needs that
// person's membership too, so it never reaches more than the person may.
func membership(ctx context.Context, t *Tx, p *gatehouse.Principal, id string) (*gatehouse.Member, error) {
	if !gatehouse.ValidID(id) || !canSee(p, id) {
		return nil, gatehouse.ErrNotFound
	}
	if p.Kind == gatehouse.KindClient {
		if p.WorkspaceID == "" || !ValidClientID(p.ClientID) {
			return nil, gatehouse.ErrNotFound
		}
		if _, err := t.Client(ctx, id, p.ClientID); err != nil {
			return nil, err
		}
		if p.UserID == "" {
			return nil, nil
		}
	}
	me, err := t.Member(ctx, id, p.UserID)
	if err != nil {
		return nil, err
	}
	if err := requireMFAPolicy(ctx, t, p, id); err != nil { // mfa_policy.go
		return nil, err
	}
	return me, nil
}

// Get returns workspace id to a member.
func (s *Workspaces) Get(ctx context.Context, p *gatehouse.Principal, id string) (*gatehouse.Workspace, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	var w *gatehouse.Workspace
	err := s.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesRead, false, func(t *Tx, _ *gatehouse.Member) error {
		var err error
		w, err = t.WorkspaceByID(ctx, id)
		return err
	})
	return w, err
}

// Members lists a workspace's members to any of its members: the first
// page (up to gatehouse.MaxMembersPage).
func (s *Workspaces) Members(ctx context.Context, p *gatehouse.Principal, id string) ([]*gatehouse.Member, error) {
	pg, err := s.MembersPage(ctx, p, id, "", gatehouse.MaxMembersPage)
	if err != nil {
		return nil, err
	}
	return pg.Members, nil
}

// MembersPage is one page of a workspace's members, oldest first.
// NextCursor is set when the page is full, empty when it is the last.
type MembersPage struct {
	Members    []*gatehouse.Member
	NextCursor string
}

// MembersPage lists up to limit members of workspace id (limit 0:
// gatehouse.DefaultMembersPage; at most gatehouse.MaxMembersPage) after the
// cursor (a user id from a previous page's NextCursor; empty: from the
// first) to any of its members.
func (s *Workspaces) MembersPage(ctx context.Context, p *gatehouse.Principal, id, cursor string, limit int) (*MembersPage, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = gatehouse.DefaultMembersPage
	}
	limit = min(limit, gatehouse.MaxMembersPage)
	var out *MembersPage
	err := s.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesRead, false, func(t *Tx, _ *gatehouse.Member) error {
		if cursor != "" && !gatehouse.ValidID(cursor) {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "cursor is not valid")
		}
		ms, err := t.MembersPage(ctx, id, cursor, limit)
		if err != nil {
			return err
		}
		out = &MembersPage{Members: ms}
		if len(ms) == limit {
			// A full page: there may be more (the next page may also be
			// empty, which ends the listing).
			out.NextCursor = ms[limit-1].UserID
		}
		return nil
	})
	return out, err
}

// inWorkspace runs fn in a transaction scoped to workspace id after checking
// that the caller is a member, that the credential has scope, and, when
// manage is set, that the caller's role may manage members. A managing
// transaction is a write (WriteTx: the credential must be live) that first
// locks the workspace's row, so that changes to its members, owners above
// all, take turns: two owners demoting each other at once cannot both see
// the other still an owner (PostgreSQL; SQLite runs one writer at a time).
func (s *Workspaces) inWorkspace(ctx context.Context, p *gatehouse.Principal, id, scope string, manage bool, fn func(*Tx, *gatehouse.Member) error) error {
	return s.txFor(p, manage)(ctx, gatehouse.Scope{WorkspaceID: id, UserID: p.UserID}, func(t *Tx) error {
		if manage && gatehouse.ValidID(id) && canSee(p, id) {
			// Before the caller's own membership is read, so that it is read
			// after any change that committed while this one waited.
			if err := t.LockWorkspace(ctx, id); err != nil {
				return err
			}
		}
		me, err := membership(ctx, t, p, id)
		if err != nil {
			return err
		}
		if err := requireScope(p, scope); err != nil {
			return err
		}
		if manage && (me == nil || !me.Role.CanManageMembers()) {
			return gatehouse.Errorf(gatehouse.EForbidden, "only owners and admins manage members")
		}
		return fn(t, me)
	})
}

var errBadRole = gatehouse.Errorf(gatehouse.EInvalidRequest, "role must be owner, admin or member")

// checkGrant enforces who may give or take which role: admins manage members
// and admins, only owners touch owners.
func checkGrant(me *gatehouse.Member, role gatehouse.Role) error {
	if role == gatehouse.RoleOwner && me.Role != gatehouse.RoleOwner {
		return gatehouse.Errorf(gatehouse.EForbidden, "only owners grant or change the owner role")
	}
	return nil
}

// AddMember adds the user with email to workspace id with role.
func (s *Workspaces) AddMember(ctx context.Context, p *gatehouse.Principal, id, email string, role gatehouse.Role) (*gatehouse.Member, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	if err := limit(ctx, ratelimit.MemberAddUser, p.UserID); err != nil { // the guard (guard.go)
		return nil, err
	}
	var m *gatehouse.Member
	err := s.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesWrite, true, func(t *Tx, me *gatehouse.Member) error {
		// Validated once the caller is known to be a member: a non-member
		// gets 404 whatever the body (docs/reference.md §8).
		if !role.Valid() {
			return errBadRole
		}
		email, err := gatehouse.NormalizeEmail(email)
		if err != nil {
			return err
		}
		if err := checkGrant(me, role); err != nil {
			return err
		}
		u, err := t.UserByEmail(ctx, email)
		if err == nil && s.EmailVerification && u.EmailVerifiedAt.IsZero() {
			err = gatehouse.ErrNotFound // never attach an unverified account (docs/reference.md section 16)
		}
		if err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
				return gatehouse.Errorf(gatehouse.ENotFound, "no account has that email; the person must sign up first")
			}
			return err
		}
		m = &gatehouse.Member{WorkspaceID: id, UserID: u.ID, Email: u.Email, Role: role, CreatedAt: s.now()}
		if err := t.AddMember(ctx, m); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMemberAdded, Actor: p.UserID, Target: "user:" + u.ID, WorkspaceID: id, Details: map[string]string{"role": string(role)}})
	})
	return m, err
}

// UpdateMember changes a member's role. The last owner cannot be demoted.
func (s *Workspaces) UpdateMember(ctx context.Context, p *gatehouse.Principal, id, userID string, role gatehouse.Role) (*gatehouse.Member, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	var m *gatehouse.Member
	err := s.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesWrite, true, func(t *Tx, me *gatehouse.Member) error {
		if !role.Valid() {
			return errBadRole // after the membership check, as in AddMember
		}
		target, err := s.target(ctx, t, id, userID)
		if err != nil {
			return err
		}
		if err := checkGrant(me, role); err != nil {
			return err
		}
		if err := checkGrant(me, target.Role); err != nil {
			return err
		}
		if target.Role == gatehouse.RoleOwner && role != gatehouse.RoleOwner {
			if err := keepAnOwner(ctx, t, id); err != nil {
				return err
			}
		}
		if err := t.UpdateMemberRole(ctx, id, userID, role); err != nil {
			return err
		}
		target.Role = role
		m = target
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMemberUpdated, Actor: p.UserID, Target: "user:" + userID, WorkspaceID: id, Details: map[string]string{"role": string(role)}})
	})
	return m, err
}

// RemoveMember removes a member. The last owner cannot be removed.
func (s *Workspaces) RemoveMember(ctx context.Context, p *gatehouse.Principal, id, userID string) error {
	if err := requireCaller(p); err != nil {
		return err
	}
	return s.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesWrite, true, func(t *Tx, me *gatehouse.Member) error {
		target, err := s.target(ctx, t, id, userID)
		if err != nil {
			return err
		}
		if err := checkGrant(me, target.Role); err != nil {
			return err
		}
		if target.Role == gatehouse.RoleOwner {
			if err := keepAnOwner(ctx, t, id); err != nil {
				return err
			}
		}
		if err := t.RemoveMember(ctx, id, userID); err != nil {
			return err // their PATs in the workspace go with the membership (foreign key)
		}
		// Their OAuth grants in the workspace end with it: refresh gets
		// invalid_grant from now on.
		grants, err := t.RevokeUserOAuthGrants(ctx, id, userID, s.now())
		if err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMemberRemoved, Actor: p.UserID, Target: "user:" + userID, WorkspaceID: id,
			Details: map[string]string{"oauth_grants_revoked": strconv.FormatInt(grants, 10)}})
	})
}

func (s *Workspaces) target(ctx context.Context, t *Tx, id, userID string) (*gatehouse.Member, error) {
	if !gatehouse.ValidID(userID) {
		return nil, gatehouse.ErrNotFound
	}
	return t.Member(ctx, id, userID)
}

// keepAnOwner refuses a change that would leave workspace id without an
// owner. It counts under the workspace's row lock (inWorkspace).
func keepAnOwner(ctx context.Context, t *Tx, id string) error {
	owners, err := t.CountOwners(ctx, id)
	if err != nil {
		return err
	}
	if owners <= 1 {
		return gatehouse.Errorf(gatehouse.EConflict, "a workspace keeps at least one owner")
	}
	return nil
}
