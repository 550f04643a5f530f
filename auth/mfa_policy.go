package auth

import (
	"context"
	"slices"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
)

var errWorkspaceMFA = gatehouse.Errorf(gatehouse.EMFARequired,
	"this workspace requires two factors: sign in with a second factor or a passkey")

// requireMFAPolicy refuses (403 mfa_required) a person's session token on a
// workspace that requires two factors when the session's amr, as stored,
// lacks "mfa" (docs/mfa.md). PATs (made only after a recent sign-in) and
// OAuth clients' tokens are not people's sessions and keep working.
func requireMFAPolicy(ctx context.Context, t *Tx, p *gatehouse.Principal, id string) error {
	if p.Kind != gatehouse.KindSession {
		return nil
	}
	req, err := t.WorkspaceRequiresMFA(ctx, id)
	if err != nil || !req {
		return err
	}
	s, err := t.SessionByID(ctx, p.SessionID)
	if err != nil || s.UserID != p.UserID || !slices.Contains(s.AMR, "mfa") {
		return errWorkspaceMFA
	}
	return nil
}

// SetRequireMFA sets whether workspace id requires two factors of people's
// tokens; owners only. A change is recorded (workspace.require_mfa_changed).
// Once it is on, the owner's own session needs two factors as everyone's
// does, also to turn it off.
func (s *Workspaces) SetRequireMFA(ctx context.Context, p *gatehouse.Principal, id string, v bool) (*gatehouse.Workspace, error) {
	if err := requireSession(p, "workspace policy is set"); err != nil {
		return nil, err
	}
	var w *gatehouse.Workspace
	err := s.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesWrite, true, func(t *Tx, me *gatehouse.Member) error {
		if me == nil || me.Role != gatehouse.RoleOwner {
			return gatehouse.Errorf(gatehouse.EForbidden, "only owners set the workspace's policy")
		}
		cur, err := t.WorkspaceRequiresMFA(ctx, id)
		if err != nil {
			return err
		}
		if cur != v {
			if err := t.SetWorkspaceRequireMFA(ctx, id, v); err != nil {
				return err
			}
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventWorkspaceRequireMFA, Actor: p.UserID, Target: "workspace:" + id, WorkspaceID: id,
				Details: map[string]string{"require_mfa": strconv.FormatBool(v)}}); err != nil {
				return err
			}
		}
		w, err = t.WorkspaceByID(ctx, id)
		return err
	})
	return w, err
}

// RequiresMFA reports workspace id's policy to a member.
func (s *Workspaces) RequiresMFA(ctx context.Context, p *gatehouse.Principal, id string) (bool, error) {
	var v bool
	err := s.inWorkspace(ctx, p, id, gatehouse.ScopeWorkspacesRead, false, func(t *Tx, _ *gatehouse.Member) error {
		var err error
		v, err = t.WorkspaceRequiresMFA(ctx, id)
		return err
	})
	return v, err
}
