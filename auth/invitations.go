package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// invitationHash is the stored form of an invitation token (hex SHA-256).
func invitationHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// Invite invites email to workspace id with role (POST
// /v1/workspaces/{id}/invitations; owners and admins, and only owners invite
// owners). No account is looked up: the answer and the work are the same
// whether or not the address has one. The mail links to
// {PUBLIC_URL}/invitation?token=…, for 7 days.
func (s *SelfService) Invite(ctx context.Context, p *gatehouse.Principal, id, email string, role gatehouse.Role) (*gatehouse.Invitation, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	if err := limit(ctx, ratelimit.AccountChangeUser, p.UserID); err != nil {
		return nil, err
	}
	ws := &Workspaces{Core: s.Core}
	now := s.now()
	var inv *gatehouse.Invitation
	var mail *gatehouse.AccountMail
	err := ws.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesWrite, true, func(t *Tx, me *gatehouse.Member) error {
		if !role.Valid() {
			return errBadRole
		}
		norm, err := gatehouse.NormalizeEmail(email)
		if err != nil {
			return err
		}
		if err := checkGrant(me, role); err != nil {
			return err
		}
		w, err := t.WorkspaceByID(ctx, id)
		if err != nil {
			return err
		}
		tok, err := newSecretToken()
		if err != nil {
			return err
		}
		inv = &gatehouse.Invitation{ID: gatehouse.NewID(now), WorkspaceID: id, Email: norm, Role: role, TokenHash: invitationHash(tok),
			InvitedBy: p.UserID, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
		if err := t.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		mail = &gatehouse.AccountMail{Kind: gatehouse.MailInvitation, To: norm, Link: s.link("invitation", tok), ExpiresIn: InvitationTTL,
			Workspace: w.Name, Role: string(role)}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventInvitationCreated, Actor: p.UserID, Target: "invitation:" + inv.ID, WorkspaceID: id,
			Details: map[string]string{"email": gatehouse.MaskEmail(norm), "role": string(role)}})
	})
	if err != nil {
		return nil, err
	}
	s.send(ctx, *mail)
	return inv, nil
}

// Invitations lists workspace id's pending invitations (owners and admins).
func (s *SelfService) Invitations(ctx context.Context, p *gatehouse.Principal, id string) ([]*gatehouse.Invitation, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	ws := &Workspaces{Core: s.Core}
	var out []*gatehouse.Invitation
	err := ws.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesRead, false, func(t *Tx, me *gatehouse.Member) error {
		if me == nil || !me.Role.CanManageMembers() {
			return gatehouse.Errorf(gatehouse.EForbidden, "only owners and admins see invitations")
		}
		var err error
		out, err = t.Invitations(ctx, id, s.now())
		return err
	})
	return out, err
}

// RevokeInvitation ends a pending invitation (owners and admins).
func (s *SelfService) RevokeInvitation(ctx context.Context, p *gatehouse.Principal, id, invID string) error {
	if err := requireCaller(p); err != nil {
		return err
	}
	ws := &Workspaces{Core: s.Core}
	return ws.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesWrite, true, func(t *Tx, me *gatehouse.Member) error {
		if err := t.RevokeInvitation(ctx, id, invID, s.now()); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventInvitationRevoked, Actor: p.UserID, Target: "invitation:" + invID, WorkspaceID: id})
	})
}

// errBadInvitation answers an unknown, used, revoked or expired invitation.
var errBadInvitation = gatehouse.Errorf(gatehouse.EInvalidGrant, "the invitation is invalid, expired, revoked or already used")

// AcceptInvitation makes the caller a member with the invited role (POST
// /v1/invitations/accept, a person's session). Only the account whose
// verified address is the invited one may: another account gets 403 and
// the invitation stays as it was, for its addressee. Already a member: 409.
func (s *SelfService) AcceptInvitation(ctx context.Context, p *gatehouse.Principal, token string) (_ *gatehouse.Member, err error) {
	if err := requireSession(p, "an invitation is accepted"); err != nil {
		return nil, err
	}
	pass, err := enter(ctx, Attempt{})
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	if !validSecretToken(token) {
		return nil, errBadInvitation
	}
	h := invitationHash(token)
	now := s.now()
	var wsID string
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		inv, err := t.InvitationByHash(ctx, h, now)
		if err != nil {
			return err
		}
		wsID = inv.WorkspaceID
		return nil
	})
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, errBadInvitation
	}
	if err != nil {
		return nil, err
	}
	var m *gatehouse.Member
	err = s.WriteTx(ctx, p, gatehouse.Scope{WorkspaceID: wsID, UserID: p.UserID}, func(t *Tx) error {
		u, err := t.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		inv, err := t.AcceptInvitation(ctx, h, now)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return errBadInvitation
		}
		if err != nil {
			return err
		}
		if u.Email != inv.Email || u.EmailVerifiedAt.IsZero() {
			return gatehouse.Errorf(gatehouse.EForbidden, "this invitation is for another address; sign in with the invited, verified address")
		}
		m = &gatehouse.Member{WorkspaceID: inv.WorkspaceID, UserID: u.ID, Email: u.Email, Role: inv.Role, CreatedAt: now}
		if err := t.AddMember(ctx, m); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return gatehouse.Errorf(gatehouse.EConflict, "you are already a member of this workspace")
			}
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventInvitationAccepted, Actor: u.ID, Target: "invitation:" + inv.ID, WorkspaceID: inv.WorkspaceID,
			Details: map[string]string{"role": string(inv.Role)}})
	})
	return m, err
}

// SearchUsers lists accounts for an instance admin (GET /v1/admin/users):
// by part of the address or by id, in id order after the cursor.
func (s *SelfService) SearchUsers(ctx context.Context, p *gatehouse.Principal, q gatehouse.UserPage) (users []*gatehouse.User, next string, err error) {
	if _, err := requireUser(p); err != nil {
		return nil, "", err
	}
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	return s.searchUsers(ctx, q, func(t *Tx) error { return RequireAdmin(ctx, t, p) })
}

// searchUsers is one page of q (its limit set) after allowed passes, in the
// same transaction, with the cursor of the next page when it is full.
func (s *SelfService) searchUsers(ctx context.Context, q gatehouse.UserPage, allowed func(*Tx) error) (users []*gatehouse.User, next string, err error) {
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		if err := allowed(t); err != nil {
			return err
		}
		var err error
		users, err = t.SearchUsers(ctx, q)
		return err
	})
	if err == nil && len(users) == q.Limit {
		next = users[len(users)-1].ID
	}
	return users, next, err
}
