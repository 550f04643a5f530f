package auth

import (
	"context"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// Accounts changes people's accounts: their status (SetStatus) and their
// instance-admin flag (SetAdmin, admin.go).
type Accounts struct{ *Core }

// SetStatus changes an account's status (PATCH /v1/admin/users/{id}; the CLI
// passes a nil caller, recorded as "system"). Leaving active revokes every
// session of the account in the same transaction, so its refresh tokens get
// invalid_grant from then on (and the clients holding grants from them are
// told, by back-channel logout), then its OAuth grants in every workspace
// (endGrants). It records account.status_changed with the actor and the
// reason.
func (s *Accounts) SetStatus(ctx context.Context, p *gatehouse.Principal, userID string, status gatehouse.UserStatus, reason string) (*gatehouse.User, error) {
	if p != nil {
		if _, err := requireUser(p); err != nil {
			return nil, err
		}
	}
	if !status.Valid() {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "status must be active, locked or disabled")
	}
	reason = strings.TrimSpace(reason)
	if reason != "" {
		var err error
		if reason, err = ValidName("reason", reason); err != nil {
			return nil, err
		}
	}
	if !gatehouse.ValidID(userID) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "not found")
	}
	now := s.now()
	var out *gatehouse.User
	err := s.writeAsOrSystem(ctx, p, gatehouse.Scope{}, func(t *Tx) error {
		actor := "system"
		if p != nil {
			if err := RequireAdmin(ctx, t, p); err != nil {
				return err
			}
			actor = p.UserID
		}
		u, err := t.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		from := u.Status
		out = u
		if from == status {
			return nil
		}
		if err := t.UpdateUserStatus(ctx, userID, status, now); err != nil {
			return err
		}
		u.Status, u.UpdatedAt = status, now
		var revoked int64
		if status != gatehouse.StatusActive {
			if revoked, err = t.RevokeUserSessions(ctx, userID, now); err != nil {
				return err
			}
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventAccountStatusChanged, Actor: actor, Target: "user:" + userID,
			Details: map[string]string{"from": string(from), "to": string(status), "reason": reason, "sessions_revoked": strconv.FormatInt(revoked, 10)}})
	})
	if err != nil {
		return nil, err
	}
	if status != gatehouse.StatusActive {
		if err := s.endGrants(ctx, actorOf(p), userID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func actorOf(p *gatehouse.Principal) string {
	if p == nil {
		return "system"
	}
	return p.UserID
}

// endGrants ends userID's OAuth grants in every workspace the account is a
// member of, each in its own transaction with that workspace's scope (as
// row-level security asks, and as account deletion does), so that an
// account that is no longer active keeps no client's refresh token, and a
// reactivated one gets none back. The clients that hold a back-channel
// logout URI were told with the sessions' end (a grant follows the session
// it was approved from). It runs after the status change committed and
// whenever the status is not active, so a retry finishes what a failure
// left.
func (s *Accounts) endGrants(ctx context.Context, actor, userID string) error {
	var wss []*gatehouse.Workspace
	err := s.Store.Read(ctx, gatehouse.Scope{UserID: userID}, func(t gatehouse.Tx) error {
		var err error
		wss, err = t.WorkspacesForUser(ctx, userID)
		return err
	})
	if err != nil {
		return err
	}
	for _, w := range wss {
		err := s.InTx(ctx, gatehouse.Scope{WorkspaceID: w.ID, UserID: userID}, func(t *Tx) error {
			n, err := t.RevokeUserOAuthGrants(ctx, w.ID, userID, s.now())
			if err != nil || n == 0 {
				return err
			}
			return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthGrantRevoked, Actor: actor, Target: "user:" + userID, WorkspaceID: w.ID,
				Details: map[string]string{"reason": "account_status", "count": strconv.FormatInt(n, 10)}})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SetStatusByEmail is SetStatus for the CLI, which names accounts by email.
func (s *Accounts) SetStatusByEmail(ctx context.Context, email string, status gatehouse.UserStatus, reason string) (*gatehouse.User, error) {
	norm, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var id string
	err = s.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		u, err := t.UserByEmail(ctx, norm)
		if err != nil {
			return err
		}
		id = u.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.SetStatus(ctx, nil, id, status, reason)
}
