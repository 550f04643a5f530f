package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const signingKeyColumns = `kid, alg, public_jwk, private_key, created_at, activates_at, retires_at, revoked_at`

// LockSigningKeys locks the key-set row for the rest of the transaction
// (FOR UPDATE in PostgreSQL; SQLite's write transactions already hold the
// database's one write lock from BEGIN) and returns the version.
func (t *Tx) LockSigningKeys(ctx context.Context) (int64, error) {
	var v int64
	err := t.tx.QueryRowContext(ctx, `select version from signing_key_state where id = 1`+t.d.ForUpdate).Scan(&v)
	return v, t.err(err, "lock signing keys")
}

// SigningKeysVersion returns the key-set version without locking.
func (t *Tx) SigningKeysVersion(ctx context.Context) (int64, error) {
	var v int64
	err := t.tx.QueryRowContext(ctx, `select version from signing_key_state where id = 1`).Scan(&v)
	return v, t.err(err, "read signing keys version")
}

// BumpSigningKeysVersion increments the key-set version.
func (t *Tx) BumpSigningKeysVersion(ctx context.Context) error {
	res, err := t.tx.ExecContext(ctx, `update signing_key_state set version = version + 1 where id = 1`)
	return t.affected(res, err, "bump signing keys version")
}

// SigningKeys returns every key, oldest activation first.
func (t *Tx) SigningKeys(ctx context.Context) ([]*gatehouse.SigningKey, error) {
	rows, err := t.tx.QueryContext(ctx, `select `+signingKeyColumns+` from signing_keys order by activates_at, created_at, kid`)
	if err != nil {
		return nil, t.err(err, "list signing keys")
	}
	defer rows.Close()
	var out []*gatehouse.SigningKey
	for rows.Next() {
		var k gatehouse.SigningKey
		var pub string
		var created, activates int64
		var retires, revoked sql.NullInt64
		if err := rows.Scan(&k.KID, &k.Alg, &pub, &k.PrivateKey, &created, &activates, &retires, &revoked); err != nil {
			return nil, t.err(err, "read signing key")
		}
		k.PublicJWK = []byte(pub)
		k.CreatedAt, k.ActivatesAt = FromMicros(created), FromMicros(activates)
		k.RetiresAt, k.RevokedAt = FromNullMicros(retires), FromNullMicros(revoked)
		out = append(out, &k)
	}
	return out, t.err(rows.Err(), "list signing keys")
}

// CreateSigningKey inserts k; gatehouse.ErrConflict when the kid exists.
func (t *Tx) CreateSigningKey(ctx context.Context, k *gatehouse.SigningKey) error {
	_, err := t.tx.ExecContext(ctx, `insert into signing_keys (`+signingKeyColumns+`) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.KID, k.Alg, string(k.PublicJWK), k.PrivateKey, Micros(k.CreatedAt), Micros(k.ActivatesAt),
		NullMicros(k.RetiresAt), NullMicros(k.RevokedAt))
	return t.err(err, "create signing key")
}

// UpdateSigningKeyTimes sets a key's activation and retirement times.
func (t *Tx) UpdateSigningKeyTimes(ctx context.Context, kid string, activatesAt, retiresAt time.Time) error {
	res, err := t.tx.ExecContext(ctx, `update signing_keys set activates_at = $2, retires_at = $3 where kid = $1`,
		kid, Micros(activatesAt), NullMicros(retiresAt))
	return t.affected(res, err, "update signing key")
}

// RevokeSigningKey marks a key revoked and erases its private key.
func (t *Tx) RevokeSigningKey(ctx context.Context, kid string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `update signing_keys set revoked_at = $2, private_key = $3 where kid = $1 and revoked_at is null`,
		kid, Micros(at), []byte{})
	return t.affected(res, err, "revoke signing key")
}

// DeleteSigningKey deletes a key row.
func (t *Tx) DeleteSigningKey(ctx context.Context, kid string) error {
	res, err := t.tx.ExecContext(ctx, `delete from signing_keys where kid = $1`, kid)
	return t.affected(res, err, "delete signing key")
}
