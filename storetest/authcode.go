package storetest

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testAuthCodes: authorization codes are used once, only unexpired, only in
// their workspace's scope; OAuth grants rotate from their current hash only,
// for their own client, while live.
func testAuthCodes(t *testing.T, open Opener) {
	s := open(t)
	alice := newUser(t, s, "code-alice@example.com")
	a, b := newWorkspace(t, s, "codes-a", alice), newWorkspace(t, s, "codes-b", alice)
	const client = "7d0f5c2e-3b1a-4c6d-9e8f-0a1b2c3d4e60"
	code := &gatehouse.AuthCode{Hash: hashOf("code-1"), WorkspaceID: a.ID, ClientID: client, UserID: alice.ID, SessionID: gatehouse.NewID(base),
		RedirectURI: "https://app.example.com/cb", Scope: "profile:read", CodeChallenge: strings.Repeat("A", 43),
		CreatedAt: base, ExpiresAt: base.Add(time.Minute), Nonce: "n-0S6_WzA2Mj"}
	grantID := gatehouse.NewID(base)

	t.Run("create and consume once", func(t *testing.T) {
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.CreateAuthCode(ctx, code) })
		wantIs(t, txErr(s, wsScope(b.ID), func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeAuthCode(ctx, b.ID, code.Hash, grantID, base)
			return err
		}), gatehouse.ErrNotFound)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error {
					got, err := tx.ConsumeAuthCode(ctx, a.ID, code.Hash, grantID, base.Add(time.Second))
					if err == nil && (got.RedirectURI != code.RedirectURI || got.CodeChallenge != code.CodeChallenge || got.UserID != alice.ID || got.Nonce != code.Nonce) {
						t.Errorf("consumed %+v", got)
					}
					return err
				}) == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d consumptions succeeded, want 1", wins.Load())
		}
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			got, err := tx.AuthCodeByHash(ctx, a.ID, code.Hash)
			if err == nil && (got.UsedAt.IsZero() || got.GrantID != grantID) {
				t.Errorf("used code %+v", got)
			}
			return err
		})
	})

	t.Run("expired codes are not consumed", func(t *testing.T) {
		old := *code
		old.Hash = hashOf("code-2")
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.CreateAuthCode(ctx, &old) })
		wantIs(t, txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeAuthCode(ctx, a.ID, old.Hash, grantID, base.Add(time.Minute))
			return err
		}), gatehouse.ErrNotFound)
	})

	t.Run("grants rotate from the current hash", func(t *testing.T) {
		g := &gatehouse.OAuthGrant{ID: grantID, WorkspaceID: a.ID, ClientID: client, UserID: alice.ID, SessionID: code.SessionID, Scope: "profile:read",
			CreatedAt: base, LastUsedAt: base, ExpiresAt: base.Add(time.Hour), RefreshHash: hashOf("r0")}
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.CreateOAuthGrant(ctx, g) })
		rot := gatehouse.Rotation{SessionID: g.ID, OldHash: hashOf("r0"), NewHash: hashOf("r1"), Generation: 1, Now: base.Add(time.Second)}
		wantIs(t, txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			_, err := tx.RotateOAuthGrant(ctx, a.ID, "00000000-0000-4000-8000-000000000000", rot)
			return err
		}), gatehouse.ErrNotFound)
		wantIs(t, txErr(s, wsScope(b.ID), func(tx gatehouse.Tx) error {
			_, err := tx.RotateOAuthGrant(ctx, b.ID, client, rot)
			return err
		}), gatehouse.ErrNotFound)
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			got, err := tx.RotateOAuthGrant(ctx, a.ID, client, rot)
			if err == nil && (got.Generation != 1 || !got.RotatedAt.Equal(rot.Now) || string(got.RefreshHash) != string(hashOf("r1"))) {
				t.Errorf("rotated %+v", got)
			}
			return err
		})
		wantIs(t, txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			_, err := tx.RotateOAuthGrant(ctx, a.ID, client, rot)
			return err
		}), gatehouse.ErrNotFound)
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.RevokeOAuthGrant(ctx, a.ID, g.ID, base.Add(2*time.Second)) })
		wantIs(t, txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.RevokeOAuthGrant(ctx, a.ID, g.ID, base) }), gatehouse.ErrNotFound)
		next := gatehouse.Rotation{SessionID: g.ID, OldHash: hashOf("r1"), NewHash: hashOf("r2"), Generation: 2, Now: base.Add(3 * time.Second)}
		wantIs(t, txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			_, err := tx.RotateOAuthGrant(ctx, a.ID, client, next)
			return err
		}), gatehouse.ErrNotFound)
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			got, err := tx.OAuthGrantByID(ctx, a.ID, g.ID)
			if err == nil && got.Live(base.Add(4*time.Second), 0) {
				t.Error("a revoked grant is live")
			}
			return err
		})
	})

	t.Run("grants idle out", func(t *testing.T) {
		g := &gatehouse.OAuthGrant{ID: gatehouse.NewID(base.Add(time.Second)), WorkspaceID: a.ID, ClientID: client, UserID: alice.ID,
			SessionID: code.SessionID, CreatedAt: base, LastUsedAt: base, ExpiresAt: base.Add(time.Hour), RefreshHash: hashOf("idle0")}
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error { return tx.CreateOAuthGrant(ctx, g) })
		rot := gatehouse.Rotation{SessionID: g.ID, OldHash: hashOf("idle0"), NewHash: hashOf("idle1"), Generation: 1,
			Now: base.Add(10 * time.Minute), IdleSince: base}
		wantIs(t, txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			_, err := tx.RotateOAuthGrant(ctx, a.ID, client, rot)
			return err
		}), gatehouse.ErrNotFound)
		rot.IdleSince = base.Add(-time.Second)
		tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			got, err := tx.RotateOAuthGrant(ctx, a.ID, client, rot)
			if err == nil && (!got.LastUsedAt.Equal(rot.Now) || got.Live(rot.Now.Add(time.Minute), time.Minute) || !got.Live(rot.Now, time.Minute)) {
				t.Errorf("rotated %+v", got)
			}
			return err
		})
	})

	t.Run("PurgeOAuth", func(t *testing.T) {
		c := newWorkspace(t, s, "codes-purge", alice)
		mk := func(name string, created time.Time) *gatehouse.AuthCode {
			x := *code
			x.Hash, x.WorkspaceID, x.CreatedAt, x.ExpiresAt = hashOf(name), c.ID, created, created.Add(time.Minute)
			tx(t, s, wsScope(c.ID), func(tx gatehouse.Tx) error { return tx.CreateAuthCode(ctx, &x) })
			return &x
		}
		oldCode, newCode := mk("purge-old", base), mk("purge-new", base.Add(2*time.Hour))
		grant := func(expires time.Time, revoked time.Time) *gatehouse.OAuthGrant {
			g := &gatehouse.OAuthGrant{ID: gatehouse.NewID(base), WorkspaceID: c.ID, ClientID: client, UserID: alice.ID,
				SessionID: code.SessionID, CreatedAt: base, LastUsedAt: base, ExpiresAt: expires, RevokedAt: revoked, RefreshHash: hashOf("purge" + expires.String() + revoked.String())}
			tx(t, s, wsScope(c.ID), func(tx gatehouse.Tx) error { return tx.CreateOAuthGrant(ctx, g) })
			return g
		}
		expired := grant(base.Add(time.Minute), time.Time{})
		revoked := grant(base.Add(10*time.Hour), base.Add(time.Minute))
		live := grant(base.Add(10*time.Hour), time.Time{})
		// Unscoped, as the purge runs: every workspace at once.
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.PurgeOAuth(ctx, base.Add(time.Hour)) })
		tx(t, s, wsScope(c.ID), func(tx gatehouse.Tx) error {
			for _, h := range [][]byte{oldCode.Hash} {
				wantIs(t, func() error { _, err := tx.AuthCodeByHash(ctx, c.ID, h); return err }(), gatehouse.ErrNotFound)
			}
			if _, err := tx.AuthCodeByHash(ctx, c.ID, newCode.Hash); err != nil {
				t.Errorf("a live code was purged: %v", err)
			}
			for _, g := range []*gatehouse.OAuthGrant{expired, revoked} {
				wantIs(t, func() error { _, err := tx.OAuthGrantByID(ctx, c.ID, g.ID); return err }(), gatehouse.ErrNotFound)
			}
			if _, err := tx.OAuthGrantByID(ctx, c.ID, live.ID); err != nil {
				t.Errorf("a live grant was purged: %v", err)
			}
			return nil
		})
	})
}
