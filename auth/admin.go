package auth

import (
	"context"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
)

// SetAdmin grants or takes an account's instance-admin flag (the CLI's
// `users set-admin`; there is no HTTP route for it, so a stolen session
// cannot make itself admin). It records account.admin_changed.
func (s *Accounts) SetAdmin(ctx context.Context, email string, admin bool) (*gatehouse.User, error) {
	norm, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err = s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		if u, err = t.UserByEmail(ctx, norm); err != nil {
			return err
		}
		if u.Admin == admin {
			return nil
		}
		now := s.now()
		if err := t.SetUserAdmin(ctx, u.ID, admin, now); err != nil {
			return err
		}
		u.Admin, u.UpdatedAt = admin, now
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventAccountAdminChanged, Actor: "system", Target: "user:" + u.ID,
			Details: map[string]string{"admin": strconv.FormatBool(admin)}})
	})
	return u, err
}
