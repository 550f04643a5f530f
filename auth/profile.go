package auth

import (
	"context"

	"github.com/gatehouse-auth/gatehouse"
)

// Profile answers who the caller is.
type Profile struct{ *Core }

// Me returns the caller's account, read from storage so that its status is
// current rather than what a token said when it was issued. A PAT needs the
// profile:read scope.
func (s *Profile) Me(ctx context.Context, p *gatehouse.Principal) (*gatehouse.User, error) {
	if p != nil && p.Kind == gatehouse.KindClient && p.UserID == "" {
		// A client acting for itself (client credentials) is no person.
		return nil, gatehouse.Errorf(gatehouse.EForbidden, "this token acts for no person; profile:read needs a token of the authorization-code grant")
	}
	if _, err := requireUser(p); err != nil {
		return nil, err
	}
	if err := requireScope(p, gatehouse.ScopeProfileRead); err != nil {
		return nil, err
	}
	if p.Kind == gatehouse.KindClient {
		// A client's token acting for a person reaches them only while the
		// client exists and the person is a member of its workspace, as
		// membership says for every other read (and introspection).
		err := s.InTx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID, UserID: p.UserID}, func(t *Tx) error {
			_, err := membership(ctx, t, p, p.WorkspaceID)
			return err
		})
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "the token's client or the person's membership of its workspace has ended")
		}
		if err != nil {
			return nil, err
		}
	}
	var u *gatehouse.User
	err := s.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		var err error
		u, err = t.UserByID(ctx, p.UserID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return gatehouse.Errorf(gatehouse.EUnauthorized, "the account no longer exists")
		}
		return err
	})
	return u, err
}
