package gatehouse

import (
	"context"
	"time"
)

// KeyStatus is where a signing key is in its life (docs/keys.md):
// next → active → retired → removed, or revoked at any point.
type KeyStatus string

// The signing-key statuses. A key's status follows from its times and the
// clock; only revocation is recorded as such.
const (
	KeyNext    KeyStatus = "next"    // published in the JWKS, not signing yet
	KeyActive  KeyStatus = "active"  // signs new tokens
	KeyRetired KeyStatus = "retired" // no longer signs; published until its tokens have expired
	KeyRemoved KeyStatus = "removed" // no longer published; its row may be deleted
	KeyRevoked KeyStatus = "revoked" // withdrawn at once; its tokens fail
)

// SigningKey is one access-token signing key. Signing keys are instance-wide
// (no workspace, no row-level security).
type SigningKey struct {
	KID       string // RFC 7638 thumbprint of the public key
	Alg       string // RS256, ES256 or EdDSA
	PublicJWK []byte // the public key as a JWK (JSON)
	// PrivateKey is the PKCS #8 private key sealed by package kms under a
	// key-encryption key, with the kid as additional data. Empty once the
	// key is revoked.
	PrivateKey  []byte
	CreatedAt   time.Time
	ActivatesAt time.Time // it signs from then on
	RetiresAt   time.Time // zero: no successor scheduled yet; else it stops signing then
	RevokedAt   time.Time // zero: not revoked
}

// Status returns k's status at now. keep is how long a retired key stays
// published: the longest access-token lifetime plus the clock-skew leeway.
func (k *SigningKey) Status(now time.Time, keep time.Duration) KeyStatus {
	switch {
	case !k.RevokedAt.IsZero():
		return KeyRevoked
	case now.Before(k.ActivatesAt):
		return KeyNext
	case k.RetiresAt.IsZero() || now.Before(k.RetiresAt):
		return KeyActive
	case now.Before(k.RetiresAt.Add(keep)):
		return KeyRetired
	}
	return KeyRemoved
}

// KeyTx is the part of a transaction that reads and writes signing keys.
type KeyTx interface {
	// LockSigningKeys takes the instance-wide lock on the key set for the
	// rest of the transaction (a row lock in PostgreSQL, the write lock in
	// SQLite), so that two instances never rotate at once, and returns the
	// key-set version.
	LockSigningKeys(ctx context.Context) (version int64, err error)
	// SigningKeysVersion returns the key-set version without locking: a cheap
	// poll that tells a running server whether to reload.
	SigningKeysVersion(ctx context.Context) (int64, error)
	// BumpSigningKeysVersion increments the version; every change to the
	// key set does it in the same transaction.
	BumpSigningKeysVersion(ctx context.Context) error
	// SigningKeys returns every key row, oldest activation first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// UpdateSigningKeyTimes sets a key's activation and retirement times
	// (a zero retiresAt stores NULL); ErrNotFound when there is no such key.
	UpdateSigningKeyTimes(ctx context.Context, kid string, activatesAt, retiresAt time.Time) error
	// RevokeSigningKey marks a key revoked at t and erases its private key.
	RevokeSigningKey(ctx context.Context, kid string, t time.Time) error
	DeleteSigningKey(ctx context.Context, kid string) error
}
