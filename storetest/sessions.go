package storetest

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func newSession(t testing.TB, s gatehouse.Store, u *gatehouse.User, tok string) *gatehouse.Session {
	t.Helper()
	return newSessionAt(t, s, u, tok, base)
}

func newSessionAt(t testing.TB, s gatehouse.Store, u *gatehouse.User, tok string, created time.Time) *gatehouse.Session {
	t.Helper()
	sess := &gatehouse.Session{
		ID: gatehouse.NewID(created), UserID: u.ID, Method: gatehouse.MethodPassword,
		CreatedAt: created, LastUsedAt: base, ExpiresAt: base.Add(time.Hour),
		IP: "198.51.100.0", UserAgent: "ua", RefreshHash: hashOf(tok),
	}
	tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateSession(ctx, sess) })
	return sess
}

func testSessions(t *testing.T, open Opener) {
	s := open(t)

	t.Run("CreateAndRead", func(t *testing.T) {
		u := newUser(t, s, "sess-read@example.com")
		want := newSession(t, s, u, "t0")
		var got *gatehouse.Session
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.SessionByID(ctx, want.ID); return })
		if got.ID != want.ID || got.UserID != u.ID || got.Method != want.Method || !got.CreatedAt.Equal(base) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || !got.RevokedAt.IsZero() || !got.RotatedAt.IsZero() ||
			got.IP != want.IP || got.UserAgent != want.UserAgent || !bytes.Equal(got.RefreshHash, want.RefreshHash) || got.Generation != 0 {
			t.Fatalf("SessionByID = %+v, want %+v", got, want)
		}
		for _, id := range []string{gatehouse.NewID(base), "not-a-uuid", ""} {
			wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.SessionByID(ctx, id); return err }), gatehouse.ErrNotFound)
		}
	})

	t.Run("AMRAndAuthTime", func(t *testing.T) {
		u := newUser(t, s, "sess-amr@example.com")
		sess := &gatehouse.Session{
			ID: gatehouse.NewID(base), UserID: u.ID, Method: gatehouse.MethodMagicLink, AMR: []string{"email", "otp", "mfa"},
			AuthTime: base.Add(-time.Minute), CreatedAt: base, LastUsedAt: base, ExpiresAt: base.Add(time.Hour), RefreshHash: hashOf("amr0"),
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateSession(ctx, sess) })
		check := func(what string, got *gatehouse.Session) {
			t.Helper()
			if strings.Join(got.AMR, " ") != "email otp mfa" || !got.AuthTime.Equal(sess.AuthTime) {
				t.Fatalf("%s: amr %v auth_time %v", what, got.AMR, got.AuthTime)
			}
		}
		var got *gatehouse.Session
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.SessionByID(ctx, sess.ID); return })
		check("SessionByID", got)
		rot := gatehouse.Rotation{SessionID: sess.ID, OldHash: hashOf("amr0"), NewHash: hashOf("amr1"), Generation: 1, Now: base.Add(time.Minute)}
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.RotateRefresh(ctx, rot); return })
		check("RotateRefresh", got)
		var list []*gatehouse.Session
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { list, err = tx.LiveSessions(ctx, u.ID, base, time.Time{}); return })
		if len(list) != 1 {
			t.Fatalf("LiveSessions: %d", len(list))
		}
		check("LiveSessions", list[0])
		// A session without them (none recorded) reads back without them.
		plain := newSession(t, s, u, "amr-none")
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.SessionByID(ctx, plain.ID); return })
		if got.AMR != nil || !got.AuthTime.IsZero() {
			t.Fatalf("empty amr read back as %v %v", got.AMR, got.AuthTime)
		}
	})

	t.Run("Rotate", func(t *testing.T) {
		u := newUser(t, s, "sess-rotate@example.com")
		sess := newSession(t, s, u, "t0")
		at := base.Add(time.Minute)
		rot := gatehouse.Rotation{SessionID: sess.ID, OldHash: hashOf("t0"), NewHash: hashOf("t1"), Generation: 1, Now: at, IdleSince: base.Add(-time.Hour)}
		var got *gatehouse.Session
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.RotateRefresh(ctx, rot); return })
		if !bytes.Equal(got.RefreshHash, hashOf("t1")) || got.Generation != 1 || !got.RotatedAt.Equal(at) || !got.LastUsedAt.Equal(at) {
			t.Fatalf("after rotation %+v", got)
		}
		// The old hash matches nothing any more.
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.RotateRefresh(ctx, rot); return err }), gatehouse.ErrNotFound)
		next := gatehouse.Rotation{SessionID: sess.ID, OldHash: hashOf("t1"), NewHash: hashOf("t2"), Generation: 2, Now: at}
		for name, r := range map[string]gatehouse.Rotation{
			"expired":   func() gatehouse.Rotation { r := next; r.Now = base.Add(time.Hour); return r }(),
			"idle":      func() gatehouse.Rotation { r := next; r.IdleSince = at; return r }(),
			"other id":  func() gatehouse.Rotation { r := next; r.SessionID = gatehouse.NewID(base); return r }(),
			"bad id":    func() gatehouse.Rotation { r := next; r.SessionID = "x"; return r }(),
			"wrong old": func() gatehouse.Rotation { r := next; r.OldHash = hashOf("t0"); return r }(),
		} {
			err := txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.RotateRefresh(ctx, r); return err })
			if !bytesErrIs(err) {
				t.Errorf("%s: err = %v, want ErrNotFound", name, err)
			}
		}
		// Not for an account that is not active.
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, u.ID, gatehouse.StatusLocked, at) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.RotateRefresh(ctx, next); return err }), gatehouse.ErrNotFound)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.UpdateUserStatus(ctx, u.ID, gatehouse.StatusActive, at) })
		// Not once revoked.
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.RevokeSession(ctx, sess.ID, at) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.RotateRefresh(ctx, next); return err }), gatehouse.ErrNotFound)
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.RevokeSession(ctx, sess.ID, at) }), gatehouse.ErrNotFound)
	})

	t.Run("ConcurrentRotationsOneWinner", func(t *testing.T) {
		u := newUser(t, s, "sess-race@example.com")
		sess := newSession(t, s, u, "t0")
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, misses := 0, 0
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				rot := gatehouse.Rotation{SessionID: sess.ID, OldHash: hashOf("t0"), NewHash: hashOf("t1-" + string(rune('a'+i))), Generation: 1, Now: base.Add(time.Second)}
				err := s.Tx(ctx, unscoped, func(tx gatehouse.Tx) error { _, err := tx.RotateRefresh(ctx, rot); return err })
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case bytesErrIs(err):
					misses++
				default:
					t.Errorf("rotation %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		if wins != 1 || misses != n-1 {
			t.Fatalf("%d rotations won, %d missed; want 1 and %d", wins, misses, n-1)
		}
	})

	t.Run("ListAndRevoke", func(t *testing.T) {
		u := newUser(t, s, "sess-list@example.com")
		other := newUser(t, s, "sess-other@example.com")
		a := newSessionAt(t, s, u, "a", base.Add(-2*time.Second))
		b := newSessionAt(t, s, u, "b", base.Add(-time.Second))
		c := newSession(t, s, u, "c")
		o := newSession(t, s, other, "o")
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.RevokeSession(ctx, c.ID, base) })
		var list []*gatehouse.Session
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { list, err = tx.LiveSessions(ctx, u.ID, base, time.Time{}); return })
		if len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
			t.Fatalf("LiveSessions = %v, want b, a", sessionIDs(list))
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) {
			list, err = tx.LiveSessions(ctx, u.ID, base.Add(time.Hour), time.Time{})
			return
		})
		if len(list) != 0 {
			t.Fatalf("expired sessions listed: %v", sessionIDs(list))
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { list, err = tx.LiveSessions(ctx, u.ID, base, base); return })
		if len(list) != 0 {
			t.Fatalf("idle sessions listed: %v", sessionIDs(list))
		}
		var n int64
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { n, err = tx.RevokeUserSessions(ctx, u.ID, base); return })
		if n != 2 {
			t.Fatalf("RevokeUserSessions = %d, want 2", n)
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) {
			list, err = tx.LiveSessions(ctx, other.ID, base, time.Time{})
			return
		})
		if len(list) != 1 || list[0].ID != o.ID {
			t.Fatalf("another user's session was touched: %v", sessionIDs(list))
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { n, err = tx.RevokeAllSessions(ctx, base); return })
		if n < 1 {
			t.Fatalf("RevokeAllSessions = %d", n)
		}
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) {
			list, err = tx.LiveSessions(ctx, other.ID, base, time.Time{})
			return
		})
		if len(list) != 0 {
			t.Fatal("RevokeAllSessions left a session")
		}
	})

	t.Run("MagicLinks", func(t *testing.T) {
		u := newUser(t, s, "sess-link@example.com")
		ml := &gatehouse.MagicLink{Hash: hashOf("link"), UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateMagicLink(ctx, ml) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateMagicLink(ctx, ml) }), gatehouse.ErrConflict)
		// Expired: nothing.
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeMagicLink(ctx, ml.Hash, base.Add(10*time.Minute))
			return err
		}), gatehouse.ErrNotFound)
		var got *gatehouse.MagicLink
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) {
			got, err = tx.ConsumeMagicLink(ctx, ml.Hash, base.Add(time.Minute))
			return
		})
		if got.UserID != u.ID || !got.UsedAt.Equal(base.Add(time.Minute)) || !got.ExpiresAt.Equal(ml.ExpiresAt) {
			t.Fatalf("consumed %+v", got)
		}
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeMagicLink(ctx, ml.Hash, base.Add(2*time.Minute))
			return err
		}), gatehouse.ErrNotFound)
		// Purge removes what ended before the cutoff, and nothing else.
		keep := newSession(t, s, u, "keep")
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.PurgeSessions(ctx, base.Add(30*time.Minute)) })
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.SessionByID(ctx, keep.ID); return err })
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.PurgeSessions(ctx, base.Add(2*time.Hour)) })
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { _, err := tx.SessionByID(ctx, keep.ID); return err }), gatehouse.ErrNotFound)
	})
}

func bytesErrIs(err error) bool { return gatehouse.ErrorCode(err) == gatehouse.ENotFound }

func sessionIDs(list []*gatehouse.Session) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}
