package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testKeys: signing keys are instance-wide rows with times, a revocation
// that erases the private key, and a version that every change bumps.
func testKeys(t *testing.T, open Opener) {
	s := open(t)
	k := &gatehouse.SigningKey{KID: "kid-1", Alg: "EdDSA", PublicJWK: []byte(`{"kty":"OKP"}`), PrivateKey: []byte("sealed"),
		CreatedAt: base, ActivatesAt: base.Add(time.Hour)}

	t.Run("create, read, version", func(t *testing.T) {
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			v0, err := tx.LockSigningKeys(ctx)
			if err != nil {
				return err
			}
			if err := tx.CreateSigningKey(ctx, k); err != nil {
				return err
			}
			if err := tx.BumpSigningKeysVersion(ctx); err != nil {
				return err
			}
			v1, err := tx.SigningKeysVersion(ctx)
			if err != nil {
				return err
			}
			if v1 != v0+1 {
				t.Fatalf("version %d after %d", v1, v0)
			}
			return nil
		})
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateSigningKey(ctx, k) }), gatehouse.ErrConflict)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			rows, err := tx.SigningKeys(ctx)
			if err != nil {
				return err
			}
			if len(rows) != 1 || rows[0].KID != "kid-1" || !rows[0].ActivatesAt.Equal(k.ActivatesAt) ||
				!rows[0].RetiresAt.IsZero() || !bytes.Equal(rows[0].PrivateKey, []byte("sealed")) || string(rows[0].PublicJWK) != `{"kty":"OKP"}` {
				t.Fatalf("rows %+v", rows)
			}
			return nil
		})
	})

	t.Run("times and status", func(t *testing.T) {
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			return tx.UpdateSigningKeyTimes(ctx, "kid-1", base, base.Add(2*time.Hour))
		})
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error {
			return tx.UpdateSigningKeyTimes(ctx, "nope", base, time.Time{})
		}), gatehouse.ErrNotFound)
		var got *gatehouse.SigningKey
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			rows, err := tx.SigningKeys(ctx)
			got = rows[0]
			return err
		})
		keep := 20 * time.Minute
		for _, c := range []struct {
			at   time.Duration
			want gatehouse.KeyStatus
		}{{-time.Minute, gatehouse.KeyNext}, {time.Hour, gatehouse.KeyActive}, {2*time.Hour + time.Minute, gatehouse.KeyRetired}, {3 * time.Hour, gatehouse.KeyRemoved}} {
			if st := got.Status(base.Add(c.at), keep); st != c.want {
				t.Fatalf("status at +%v: %s, want %s", c.at, st, c.want)
			}
		}
	})

	t.Run("revoke erases the private key", func(t *testing.T) {
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.RevokeSigningKey(ctx, "kid-1", base) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.RevokeSigningKey(ctx, "kid-1", base) }), gatehouse.ErrNotFound)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			rows, err := tx.SigningKeys(ctx)
			if err != nil {
				return err
			}
			if len(rows[0].PrivateKey) != 0 || !rows[0].RevokedAt.Equal(base) || rows[0].Status(base, 0) != gatehouse.KeyRevoked {
				t.Fatalf("revoked row %+v", rows[0])
			}
			return tx.DeleteSigningKey(ctx, "kid-1")
		})
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.DeleteSigningKey(ctx, "kid-1") }), gatehouse.ErrNotFound)
	})
}
