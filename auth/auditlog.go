package auth

import (
	"context"

	"github.com/gatehouse-auth/gatehouse"
)

// AuditLog reads the audit trail: a workspace's to its owners and admins, and
// every event (outside any workspace too) to instance admins.
type AuditLog struct{ *Core }

// DefaultAuditPage is the page size when the caller asks for none.
const DefaultAuditPage = 50

// AuditPage is one page of events, newest first. NextCursor is empty on the
// last page.
type AuditPage struct {
	Events     []*gatehouse.AuditEvent
	NextCursor string
}

func page(ctx context.Context, t *Tx, f gatehouse.AuditFilter) (*AuditPage, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultAuditPage
	}
	if f.Limit > gatehouse.MaxAuditPage {
		f.Limit = gatehouse.MaxAuditPage
	}
	if f.Before != "" && !gatehouse.ValidID(f.Before) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "cursor is not valid")
	}
	want := f.Limit
	f.Limit++ // one more tells whether there is a next page
	evs, err := t.AuditEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	p := &AuditPage{Events: evs}
	if len(evs) > want {
		p.Events = evs[:want]
		p.NextCursor = evs[want-1].ID
	}
	return p, nil
}

// Workspace returns events of workspace id matching f to an owner or admin.
func (s *AuditLog) Workspace(ctx context.Context, p *gatehouse.Principal, id string, f gatehouse.AuditFilter) (*AuditPage, error) {
	if err := requireCaller(p); err != nil {
		return nil, err
	}
	var out *AuditPage
	err := s.InTx(ctx, gatehouse.Scope{WorkspaceID: id, UserID: p.UserID}, func(t *Tx) error {
		me, err := membership(ctx, t, p, id)
		if err != nil {
			return err
		}
		if err := requireScope(p, gatehouse.ScopeAuditRead); err != nil {
			return err
		}
		// me is nil for an OAuth client acting for itself: its audit:read
		// scope, given by an owner or admin, is the whole grant.
		if me != nil && !me.Role.CanManageMembers() {
			return gatehouse.Errorf(gatehouse.EForbidden, "only owners and admins read the audit trail")
		}
		f.WorkspaceID = id
		out, err = page(ctx, t, f)
		return err
	})
	return out, err
}

// Instance returns events of every workspace and of none to an instance admin.
func (s *AuditLog) Instance(ctx context.Context, p *gatehouse.Principal, f gatehouse.AuditFilter) (*AuditPage, error) {
	if _, err := requireUser(p); err != nil {
		return nil, err
	}
	var out *AuditPage
	err := s.InTx(ctx, gatehouse.Scope{AllAudit: true}, func(t *Tx) error {
		if err := RequireAdmin(ctx, t, p); err != nil {
			return err
		}
		f.WorkspaceID = ""
		var err error
		out, err = page(ctx, t, f)
		return err
	})
	return out, err
}

// RequireAdmin checks, against the stored account rather than the token, that
// p is an active instance admin using a person's session (a PAT carries no
// instance-admin power).
func RequireAdmin(ctx context.Context, t *Tx, p *gatehouse.Principal) error {
	if p.Kind != gatehouse.KindSession {
		return gatehouse.Errorf(gatehouse.EForbidden, "instance administration needs a signed-in session")
	}
	u, err := t.UserByID(ctx, p.UserID)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return gatehouse.Errorf(gatehouse.EUnauthorized, "authentication required")
		}
		return err
	}
	if !u.Admin || u.Status != gatehouse.StatusActive {
		return gatehouse.Errorf(gatehouse.EForbidden, "instance admins only")
	}
	return nil
}
