package auth

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse"
)

// The operator's commands (`gatehouse users list`, `workspaces create|list`,
// `clients list|delete`): no caller, recorded as "system", for an operator
// who holds the server's settings (docs/reference.md section 16).

// ListUsersAsSystem is SearchUsers for the CLI.
func (s *SelfService) ListUsersAsSystem(ctx context.Context, q gatehouse.UserPage) (users []*gatehouse.User, next string, err error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 200
	}
	return s.searchUsers(ctx, q, func(*Tx) error { return nil })
}

// CreateAsSystem creates a workspace for an operator; ownerEmail, when set,
// names the account that becomes its owner (it must exist; with
// verification required, be verified).
func (s *Workspaces) CreateAsSystem(ctx context.Context, name, ownerEmail string) (*gatehouse.Workspace, error) {
	name, err := ValidName("name", name)
	if err != nil {
		return nil, err
	}
	var owner string
	if ownerEmail != "" {
		if owner, err = gatehouse.NormalizeEmail(ownerEmail); err != nil {
			return nil, err
		}
	}
	now := s.now()
	w := &gatehouse.Workspace{ID: gatehouse.NewID(now), Name: name, CreatedAt: now}
	err = s.InTx(ctx, gatehouse.Scope{WorkspaceID: w.ID}, func(t *Tx) error {
		if err := t.CreateWorkspace(ctx, w); err != nil {
			return err
		}
		if owner != "" {
			u, err := t.UserByEmail(ctx, owner)
			if err == nil && s.EmailVerification && u.EmailVerifiedAt.IsZero() {
				err = gatehouse.ErrNotFound
			}
			if errors.Is(err, gatehouse.ErrNotFound) {
				return gatehouse.Errorf(gatehouse.ENotFound, "no verified account has that email")
			}
			if err != nil {
				return err
			}
			if err := t.AddMember(ctx, &gatehouse.Member{WorkspaceID: w.ID, UserID: u.ID, Role: gatehouse.RoleOwner, CreatedAt: now}); err != nil {
				return err
			}
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventWorkspaceCreated, Actor: "system", Target: "workspace:" + w.ID, WorkspaceID: w.ID})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// ListAll lists every workspace for an operator.
func (s *Workspaces) ListAll(ctx context.Context) ([]*gatehouse.Workspace, error) {
	var out []*gatehouse.Workspace
	err := s.InTx(ctx, gatehouse.Scope{AllAudit: true}, func(t *Tx) error {
		var err error
		out, err = t.AllWorkspaces(ctx, 1000)
		return err
	})
	return out, err
}

// ListAsSystem lists workspace id's clients for an operator.
func (s *Clients) ListAsSystem(ctx context.Context, id string) ([]*gatehouse.Client, error) {
	if !gatehouse.ValidID(id) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "no workspace has that id")
	}
	var out []*gatehouse.Client
	err := s.InTx(ctx, gatehouse.Scope{WorkspaceID: id}, func(t *Tx) error {
		if _, err := t.WorkspaceByID(ctx, id); err != nil {
			if errors.Is(err, gatehouse.ErrNotFound) {
				return gatehouse.Errorf(gatehouse.ENotFound, "no workspace has that id")
			}
			return err
		}
		var err error
		out, err = t.Clients(ctx, id)
		return err
	})
	return out, err
}

// DeleteAsSystem deletes the client clientID, in whichever workspace, for an
// operator.
func (s *Clients) DeleteAsSystem(ctx context.Context, clientID string) error {
	errNo := gatehouse.Errorf(gatehouse.ENotFound, "no client has that id")
	if !ValidClientID(clientID) {
		return errNo
	}
	var wsID string
	err := s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		c, err := t.ClientByClientID(ctx, clientID)
		if err != nil {
			return err
		}
		wsID = c.WorkspaceID
		return nil
	})
	if errors.Is(err, gatehouse.ErrNotFound) {
		return errNo
	}
	if err != nil {
		return err
	}
	return s.InTx(ctx, gatehouse.Scope{WorkspaceID: wsID}, func(t *Tx) error {
		if err := t.DeleteClient(ctx, wsID, clientID); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthClientDeleted, Actor: "system", Target: "client:" + clientID, WorkspaceID: wsID})
	})
}
