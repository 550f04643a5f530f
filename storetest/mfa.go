package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testMFA: a TOTP step and a passkey counter move forward only, and of
// concurrent uses of one step exactly one wins; recovery codes and flows are
// single use; regenerating codes voids the old; a workspace's require_mfa
// is read and written in its scope.
func testMFA(t *testing.T, open Opener) {
	s := open(t)
	u := newUser(t, s, "mfa-store@example.com")
	totp := &gatehouse.MFAFactor{ID: gatehouse.NewID(base), UserID: u.ID, Type: gatehouse.FactorTOTP, Name: "app", Status: gatehouse.FactorPending,
		Secret: []byte("sealed"), CreatedAt: base}
	pk := &gatehouse.MFAFactor{ID: gatehouse.NewID(base.Add(time.Second)), UserID: u.ID, Type: gatehouse.FactorPasskey, Name: "key", Status: gatehouse.FactorActive,
		CredentialID: []byte("cred-1"), SignCount: 5, AAGUID: make([]byte, 16), Credential: []byte("{}"), CreatedAt: base}
	tx(t, s, unscoped, func(tx gatehouse.Tx) error {
		if err := tx.CreateFactor(ctx, totp); err != nil {
			return err
		}
		return tx.CreateFactor(ctx, pk)
	})

	t.Run("TOTP steps move forward once", func(t *testing.T) {
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UseTOTPStep(ctx, totp.ID, 10, false, base) }), gatehouse.ErrNotFound) // pending
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UseTOTPStep(ctx, totp.ID, 10, true, base) })
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UseTOTPStep(ctx, totp.ID, 11, false, base) }) == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d concurrent uses of one step won, want 1", wins.Load())
		}
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UseTOTPStep(ctx, totp.ID, 10, false, base) }), gatehouse.ErrNotFound)
	})

	t.Run("passkey counters move forward", func(t *testing.T) {
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UsePasskey(ctx, pk.ID, 5, base) }), gatehouse.ErrNotFound)
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UsePasskey(ctx, pk.ID, 4, base) }), gatehouse.ErrNotFound)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UsePasskey(ctx, pk.ID, 6, base) })
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			f, err := tx.FactorByCredentialID(ctx, []byte("cred-1"))
			if err != nil || f.ID != pk.ID || f.SignCount != 6 || f.LastUsedAt.IsZero() {
				t.Errorf("passkey %+v %v", f, err)
			}
			return nil
		})
	})

	t.Run("recovery codes", func(t *testing.T) {
		h1, h2 := hashOf("rc-1"), hashOf("rc-2")
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{h1, h2}, base) })
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UseRecoveryCode(ctx, u.ID, h1, base) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UseRecoveryCode(ctx, u.ID, h1, base) }), gatehouse.ErrNotFound)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hashOf("rc-3")}, base) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.UseRecoveryCode(ctx, u.ID, h2, base) }), gatehouse.ErrNotFound)
	})

	t.Run("flows are single use and expire", func(t *testing.T) {
		f := &gatehouse.MFAFlow{ID: "flow-1", Kind: "k", UserID: u.ID, Data: []byte("d"), ExpiresAt: base.Add(time.Minute)}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateMFAFlow(ctx, f) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.ConsumeMFAFlow(ctx, "flow-1", "other", base); return err }), gatehouse.ErrNotFound)
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeMFAFlow(ctx, "flow-1", "k", base.Add(time.Hour))
			return err
		}), gatehouse.ErrNotFound)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			got, err := tx.ConsumeMFAFlow(ctx, "flow-1", "k", base)
			if err == nil && (got.UserID != u.ID || string(got.Data) != "d") {
				t.Errorf("flow %+v", got)
			}
			return err
		})
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.MFAFlowByID(ctx, "flow-1", "k", base); return err }), gatehouse.ErrNotFound)
	})

	t.Run("workspace require_mfa", func(t *testing.T) {
		w := newWorkspace(t, s, "mfa-ws", u)
		tx(t, s, wsScope(w.ID), func(tx gatehouse.Tx) error {
			if v, err := tx.WorkspaceRequiresMFA(ctx, w.ID); err != nil || v {
				t.Errorf("default %v %v", v, err)
			}
			return tx.SetWorkspaceRequireMFA(ctx, w.ID, true)
		})
		tx(t, s, wsScope(w.ID), func(tx gatehouse.Tx) error {
			if v, err := tx.WorkspaceRequiresMFA(ctx, w.ID); err != nil || !v {
				t.Errorf("after set %v %v", v, err)
			}
			return nil
		})
	})
}
