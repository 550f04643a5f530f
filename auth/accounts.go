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
// invalid_grant from then on. It records account.status_changed with the
// actor and the reason.
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
	return out, nil
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
