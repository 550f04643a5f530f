package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const userColumns = `id, email, password_hash, status, admin, created_at, updated_at, email_verified_at`

// CreateUser inserts u; gatehouse.ErrConflict when the email is taken. The
// email must already be normalized (gatehouse.NormalizeEmail), so that the
// unique key means what it says.
func (t *Tx) CreateUser(ctx context.Context, u *gatehouse.User) error {
	if e, err := gatehouse.NormalizeEmail(u.Email); err != nil || e != u.Email {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "email is not a normalized address")
	}
	if !u.Status.Valid() {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "invalid account status")
	}
	_, err := t.tx.ExecContext(ctx,
		`insert into users (`+userColumns+`) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Email, u.PasswordHash, string(u.Status), u.Admin, Micros(u.CreatedAt), Micros(u.UpdatedAt), NullMicros(u.EmailVerifiedAt))
	return t.err(err, "create user")
}

// UserByID returns gatehouse.ErrNotFound when there is no such user.
func (t *Tx) UserByID(ctx context.Context, id string) (*gatehouse.User, error) {
	return t.scanUser(t.tx.QueryRowContext(ctx, `select `+userColumns+` from users where id = $1`, id))
}

// UserByEmail looks up a normalized email; gatehouse.ErrNotFound when none.
func (t *Tx) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	return t.scanUser(t.tx.QueryRowContext(ctx, `select `+userColumns+` from users where email = $1`, email))
}

func (t *Tx) scanUser(row interface{ Scan(...any) error }) (*gatehouse.User, error) {
	var u gatehouse.User
	var status string
	var created, updated int64
	var verified sql.NullInt64
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &status, &u.Admin, &created, &updated, &verified); err != nil {
		return nil, t.err(err, "read user")
	}
	u.Status = gatehouse.UserStatus(status)
	u.CreatedAt, u.UpdatedAt = FromMicros(created), FromMicros(updated)
	u.EmailVerifiedAt = FromNullMicros(verified)
	return &u, nil
}

// UpdateUserStatus sets a user's status; gatehouse.ErrNotFound when there is
// no such user.
func (t *Tx) UpdateUserStatus(ctx context.Context, id string, status gatehouse.UserStatus, now time.Time) error {
	if !status.Valid() {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "invalid account status")
	}
	res, err := t.tx.ExecContext(ctx, `update users set status = $2, updated_at = $3 where id = $1`,
		id, string(status), Micros(now))
	return t.affected(res, err, "update user status")
}

// SetUserAdmin sets or clears a user's instance-admin flag.
func (t *Tx) SetUserAdmin(ctx context.Context, id string, admin bool, now time.Time) error {
	res, err := t.tx.ExecContext(ctx, `update users set admin = $2, updated_at = $3 where id = $1`,
		id, admin, Micros(now))
	return t.affected(res, err, "set user admin")
}

// UpdatePasswordHash replaces a user's password hash (a PHC string).
func (t *Tx) UpdatePasswordHash(ctx context.Context, id, hash string, now time.Time) error {
	res, err := t.tx.ExecContext(ctx, `update users set password_hash = $2, updated_at = $3 where id = $1`,
		id, hash, Micros(now))
	return t.affected(res, err, "update password hash")
}
