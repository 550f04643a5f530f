package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const factorColumns = `id, user_id, type, name, status, secret, last_step, credential_id, sign_count, aaguid, credential, created_at, last_used_at`

// CreateFactor inserts f.
func (t *Tx) CreateFactor(ctx context.Context, f *gatehouse.MFAFactor) error {
	_, err := t.tx.ExecContext(ctx, `insert into mfa_factors (`+factorColumns+`) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		f.ID, f.UserID, string(f.Type), f.Name, f.Status, f.Secret, f.LastStep, f.CredentialID, f.SignCount, f.AAGUID, f.Credential,
		Micros(f.CreatedAt), NullMicros(f.LastUsedAt))
	return t.err(err, "create factor")
}

// FactorByID returns gatehouse.ErrNotFound when there is none.
func (t *Tx) FactorByID(ctx context.Context, id string) (*gatehouse.MFAFactor, error) {
	if !gatehouse.ValidID(id) {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanFactor(t.tx.QueryRowContext(ctx, `select `+factorColumns+` from mfa_factors where id = $1`, id))
}

// FactorByCredentialID returns the passkey with this credential id.
func (t *Tx) FactorByCredentialID(ctx context.Context, credID []byte) (*gatehouse.MFAFactor, error) {
	if len(credID) == 0 || len(credID) > 1023 {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanFactor(t.tx.QueryRowContext(ctx, `select `+factorColumns+` from mfa_factors where credential_id = $1 and type = 'passkey'`, credID))
}

// UserFactors lists userID's factors, oldest first.
func (t *Tx) UserFactors(ctx context.Context, userID string) ([]*gatehouse.MFAFactor, error) {
	if !gatehouse.ValidID(userID) {
		return nil, nil
	}
	return list(ctx, t, "list factors", t.scanFactor, `select `+factorColumns+` from mfa_factors
		where user_id = $1 order by created_at, id limit 100`, userID)
}

// UseTOTPStep moves last_step forward in one statement.
func (t *Tx) UseTOTPStep(ctx context.Context, id string, step int64, activate bool, now time.Time) error {
	if !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	status := gatehouse.FactorActive
	if activate {
		status = gatehouse.FactorPending
	}
	res, err := t.tx.ExecContext(ctx, `update mfa_factors set last_step = $2, last_used_at = $3, status = 'active'
		where id = $1 and type = 'totp' and status = $4 and last_step < $2`, id, step, Micros(now), status)
	return t.affected(res, err, "use totp step")
}

// UsePasskey moves sign_count forward in one statement.
func (t *Tx) UsePasskey(ctx context.Context, id string, count int64, now time.Time) error {
	if !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `update mfa_factors set sign_count = $2, last_used_at = $3
		where id = $1 and type = 'passkey' and (sign_count < $2 or (sign_count = 0 and $2 = 0))`, id, count, Micros(now))
	return t.affected(res, err, "use passkey")
}

// DeleteFactor deletes userID's factor id.
func (t *Tx) DeleteFactor(ctx context.Context, userID, id string) error {
	if !gatehouse.ValidID(id) || !gatehouse.ValidID(userID) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `delete from mfa_factors where id = $1 and user_id = $2`, id, userID)
	return t.affected(res, err, "delete factor")
}

// ReplaceRecoveryCodes voids userID's codes and stores hashes.
func (t *Tx) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `delete from recovery_codes where user_id = $1`, userID); err != nil {
		return t.err(err, "void recovery codes")
	}
	for _, h := range hashes {
		if _, err := t.tx.ExecContext(ctx, `insert into recovery_codes (user_id, hash, created_at) values ($1, $2, $3)`, userID, h, Micros(now)); err != nil {
			return t.err(err, "store recovery code")
		}
	}
	return nil
}

// UseRecoveryCode marks an unused code used in one statement.
func (t *Tx) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	if !gatehouse.ValidID(userID) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `update recovery_codes set used_at = $3 where user_id = $1 and hash = $2 and used_at is null`, userID, hash, Micros(now))
	return t.affected(res, err, "use recovery code")
}

// UnusedRecoveryCodes counts userID's unused codes.
func (t *Tx) UnusedRecoveryCodes(ctx context.Context, userID string) (int, error) {
	if !gatehouse.ValidID(userID) {
		return 0, nil
	}
	var n int
	err := t.tx.QueryRowContext(ctx, `select count(*) from recovery_codes where user_id = $1 and used_at is null`, userID).Scan(&n)
	return n, t.err(err, "count recovery codes")
}

// CreateMFAFlow inserts f.
func (t *Tx) CreateMFAFlow(ctx context.Context, f *gatehouse.MFAFlow) error {
	_, err := t.tx.ExecContext(ctx, `insert into mfa_flows (id, kind, user_id, data, expires_at, used_at) values ($1, $2, $3, $4, $5, $6)`,
		f.ID, f.Kind, NullString(f.UserID), f.Data, Micros(f.ExpiresAt), NullMicros(f.UsedAt))
	return t.err(err, "create mfa flow")
}

const flowColumns = `id, kind, user_id, data, expires_at, used_at`

// MFAFlowByID returns an unused, unexpired flow.
func (t *Tx) MFAFlowByID(ctx context.Context, id, kind string, now time.Time) (*gatehouse.MFAFlow, error) {
	if id == "" || len(id) > 128 {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanFlow(t.tx.QueryRowContext(ctx, `select `+flowColumns+` from mfa_flows
		where id = $1 and kind = $2 and used_at is null and expires_at > $3`, id, kind, Micros(now)))
}

// ConsumeMFAFlow marks an unused, unexpired flow used in one statement.
func (t *Tx) ConsumeMFAFlow(ctx context.Context, id, kind string, now time.Time) (*gatehouse.MFAFlow, error) {
	if id == "" || len(id) > 128 {
		return nil, gatehouse.ErrNotFound
	}
	return t.scanFlow(t.tx.QueryRowContext(ctx, `update mfa_flows set used_at = $3
		where id = $1 and kind = $2 and used_at is null and expires_at > $3 returning `+flowColumns, id, kind, Micros(now)))
}

// LinkSessionFactors records the factors a session was signed in with.
func (t *Tx) LinkSessionFactors(ctx context.Context, sessionID string, factorIDs []string) error {
	for _, id := range factorIDs {
		if _, err := t.tx.ExecContext(ctx, `insert into session_factors (session_id, factor_id) values ($1, $2)`, sessionID, id); err != nil {
			return t.err(err, "link session factor")
		}
	}
	return nil
}

// FactorSessions lists the unrevoked sessions signed in with factorID.
func (t *Tx) FactorSessions(ctx context.Context, factorID string) ([]string, error) {
	if !gatehouse.ValidID(factorID) {
		return nil, nil
	}
	rows, err := t.tx.QueryContext(ctx, `select s.id from sessions s join session_factors f on f.session_id = s.id
		where f.factor_id = $1 and s.revoked_at is null`, factorID)
	if err != nil {
		return nil, t.err(err, "factor sessions")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, t.err(err, "factor sessions")
		}
		out = append(out, id)
	}
	return out, t.err(rows.Err(), "factor sessions")
}

// SetSessionAuthTime freshens a live session's auth_time and amr.
func (t *Tx) SetSessionAuthTime(ctx context.Context, sessionID string, authTime time.Time, amr []string) error {
	if !gatehouse.ValidID(sessionID) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `update sessions set auth_time = $2, amr = $3 where id = $1 and revoked_at is null and expires_at > $2`,
		sessionID, Micros(authTime), strings.Join(amr, " "))
	return t.affected(res, err, "reauthenticate session")
}

func (t *Tx) scanFactor(row rowScanner) (*gatehouse.MFAFactor, error) {
	var f gatehouse.MFAFactor
	var typ string
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&f.ID, &f.UserID, &typ, &f.Name, &f.Status, &f.Secret, &f.LastStep, &f.CredentialID, &f.SignCount,
		&f.AAGUID, &f.Credential, &created, &used); err != nil {
		return nil, t.err(err, "read factor")
	}
	f.Type = gatehouse.FactorType(typ)
	f.CreatedAt, f.LastUsedAt = FromMicros(created), FromNullMicros(used)
	return &f, nil
}

func (t *Tx) scanFlow(row rowScanner) (*gatehouse.MFAFlow, error) {
	var f gatehouse.MFAFlow
	var user sql.NullString
	var expires int64
	var used sql.NullInt64
	if err := row.Scan(&f.ID, &f.Kind, &user, &f.Data, &expires, &used); err != nil {
		return nil, t.err(err, "read mfa flow")
	}
	f.UserID = user.String
	f.ExpiresAt, f.UsedAt = FromMicros(expires), FromNullMicros(used)
	return &f, nil
}

// WorkspaceRequiresMFA reports whether workspace id requires two factors
// (false when it is not visible in the transaction's scope).
func (t *Tx) WorkspaceRequiresMFA(ctx context.Context, id string) (bool, error) {
	if !gatehouse.ValidID(id) {
		return false, nil
	}
	var v bool
	err := t.tx.QueryRowContext(ctx, `select require_mfa from workspaces where id = $1`, id).Scan(&v)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return v, t.err(err, "workspace require_mfa")
}

// SetWorkspaceRequireMFA sets it; ErrNotFound when the workspace is not
// visible.
func (t *Tx) SetWorkspaceRequireMFA(ctx context.Context, id string, v bool) error {
	if !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	res, err := t.tx.ExecContext(ctx, `update workspaces set require_mfa = $2 where id = $1`, id, v)
	return t.affected(res, err, "set workspace require_mfa")
}
