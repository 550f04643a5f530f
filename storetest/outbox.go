package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testOutbox: outbox items are claimed only when due, oldest first, and
// leased so a second claim does not take them again; a retry moves one
// later and counts the attempt; a deletion ends it. EndedSessionTargets
// finds, for sessions revoked at one instant, the back-channel clients
// holding grants from them, and RevokeClientGrants ends one client's
// grants of one person.
func testOutbox(t *testing.T, open Opener) {
	s := open(t)
	mk := func(id string, next time.Time) *gatehouse.OutboxItem {
		return &gatehouse.OutboxItem{ID: id, Kind: "backchannel_logout", Payload: []byte(`{"x":1}`), NextAt: next, CreatedAt: base}
	}
	a, b := gatehouse.NewID(base), gatehouse.NewID(base.Add(time.Second))
	tx(t, s, unscoped, func(tx gatehouse.Tx) error {
		if err := tx.EnqueueOutbox(ctx, mk(a, base)); err != nil {
			return err
		}
		return tx.EnqueueOutbox(ctx, mk(b, base.Add(time.Hour)))
	})
	claim := func(at time.Time) []*gatehouse.OutboxItem {
		t.Helper()
		var got []*gatehouse.OutboxItem
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			var err error
			got, err = tx.ClaimOutbox(ctx, at, at.Add(time.Minute), 10)
			return err
		})
		return got
	}
	if got := claim(base); len(got) != 1 || got[0].ID != a || string(got[0].Payload) != `{"x":1}` || got[0].Kind != "backchannel_logout" {
		t.Fatalf("first claim %+v", got)
	}
	if got := claim(base.Add(time.Second)); len(got) != 0 {
		t.Fatalf("a leased item was claimed again: %+v", got)
	}
	tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.RetryOutbox(ctx, a, 1, base.Add(2*time.Hour), "status_503") })
	if got := claim(base.Add(90 * time.Minute)); len(got) != 1 || got[0].ID != b {
		t.Fatalf("claim after retry %+v", got)
	}
	got := claim(base.Add(3 * time.Hour)) // b's lease (1 h 31 min) ends before a's retry (2 h): b first
	if len(got) != 2 || got[1].ID != a || got[1].Attempts != 1 || got[1].LastError != "status_503" || got[0].ID != b {
		t.Fatalf("claim of both %+v", got)
	}
	tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.DeleteOutbox(ctx, a) })
	if got := claim(base.Add(10 * time.Hour)); len(got) != 1 || got[0].ID != b {
		t.Fatalf("after delete %+v", got)
	}

	// Back-channel targets.
	alice := newUser(t, s, "outbox-alice@example.com")
	ws := newWorkspace(t, s, "outbox", alice)
	ended := base.Add(time.Minute)
	mkSession := func(revoked time.Time) string {
		x := &gatehouse.Session{ID: gatehouse.NewID(base), UserID: alice.ID, Method: gatehouse.MethodPassword, CreatedAt: base,
			LastUsedAt: base, ExpiresAt: base.Add(time.Hour), RefreshHash: bytes.Repeat([]byte{1}, 32)}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error {
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
			if revoked.IsZero() {
				return nil
			}
			return tx.RevokeSession(ctx, x.ID, revoked)
		})
		return x.ID
	}
	s1, s2 := mkSession(ended), mkSession(time.Time{})
	for i, c := range []struct{ id, uri string }{{"6b1e8c3a-2f4d-4e6a-9b7c-1d2e3f4a5b61", "https://rp.example.com/bc"}, {"6b1e8c3a-2f4d-4e6a-9b7c-1d2e3f4a5b62", ""}} {
		tx(t, s, wsScope(ws.ID), func(tx gatehouse.Tx) error {
			if err := tx.CreateClient(ctx, &gatehouse.Client{ID: gatehouse.NewID(base), WorkspaceID: ws.ID, ClientID: c.id, Name: "rp",
				Public: true, BackchannelLogoutURI: c.uri, CreatedAt: base}); err != nil {
				return err
			}
			for _, sid := range []string{s1, s2} {
				if err := tx.CreateOAuthGrant(ctx, &gatehouse.OAuthGrant{ID: gatehouse.NewID(base), WorkspaceID: ws.ID, ClientID: c.id,
					UserID: alice.ID, SessionID: sid, CreatedAt: base, LastUsedAt: base, ExpiresAt: base.Add(time.Hour),
					RefreshHash: bytes.Repeat([]byte{byte(i + 2)}, 32)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var targets []gatehouse.BackchannelTarget
	tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) {
		targets, err = tx.EndedSessionTargets(ctx, ended, alice.ID, "")
		return err
	})
	if len(targets) != 1 || targets[0].SessionID != s1 || targets[0].URI != "https://rp.example.com/bc" || targets[0].WorkspaceID != ws.ID ||
		targets[0].UserID != alice.ID || targets[0].ClientID != "6b1e8c3a-2f4d-4e6a-9b7c-1d2e3f4a5b61" {
		t.Fatalf("targets %+v", targets)
	}
	tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) {
		targets, err = tx.EndedSessionTargets(ctx, ended.Add(time.Microsecond), "", "")
		return err
	})
	if len(targets) != 0 {
		t.Fatalf("targets at another instant %+v", targets)
	}
	var n int64
	tx(t, s, wsScope(ws.ID), func(tx gatehouse.Tx) (err error) {
		n, err = tx.RevokeClientGrants(ctx, ws.ID, "6b1e8c3a-2f4d-4e6a-9b7c-1d2e3f4a5b62", alice.ID, base)
		return err
	})
	if n != 2 {
		t.Fatalf("RevokeClientGrants = %d, want 2", n)
	}
}
