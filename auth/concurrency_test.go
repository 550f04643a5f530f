package auth_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// Two owners demoting or removing each other at once: every workspace keeps
// an owner (the member change locks the workspace's row before it counts).
func TestConcurrentDemotionsKeepAnOwner(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(s)
		const n = 8
		type pair struct {
			ws   string
			a, b *gatehouse.Principal
		}
		var pairs []pair
		for i := range n {
			a, b := f.user(t, fmt.Sprintf("o%da@example.com", i)), f.user(t, fmt.Sprintf("o%db@example.com", i))
			w, err := f.ws.Create(ctx, a, "w")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.ws.AddMember(ctx, a, w.ID, fmt.Sprintf("o%db@example.com", i), gatehouse.RoleOwner); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, pair{w.ID, a, b})
		}
		var wg sync.WaitGroup
		for i, p := range pairs {
			for _, x := range [][2]*gatehouse.Principal{{p.a, p.b}, {p.b, p.a}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if i%2 == 0 {
						_, err = f.ws.UpdateMember(ctx, x[0], p.ws, x[1].UserID, gatehouse.RoleMember)
					} else {
						err = f.ws.RemoveMember(ctx, x[0], p.ws, x[1].UserID)
					}
					if c := code(err); err != nil && c != gatehouse.EConflict && c != gatehouse.EForbidden && c != gatehouse.ENotFound {
						t.Errorf("change: %v", err)
					}
				}()
			}
		}
		wg.Wait()
		for _, p := range pairs {
			owners := 0
			if err := s.Tx(ctx, gatehouse.Scope{WorkspaceID: p.ws}, func(tx gatehouse.Tx) (err error) {
				owners, err = tx.CountOwners(ctx, p.ws)
				return
			}); err != nil {
				t.Fatal(err)
			}
			if owners < 1 {
				t.Errorf("workspace %s has no owner", p.ws)
			}
		}
	})
}

// Concurrent PAT creations never take an account past MaxPATsPerUser.
func TestConcurrentPATCreationsKeepTheCap(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(s)
		alice := f.user(t, "cap@example.com")
		w, err := f.ws.Create(ctx, alice, "w")
		if err != nil {
			t.Fatal(err)
		}
		pats := &auth.PATs{Core: f.core}
		for i := range auth.MaxPATsPerUser - 4 {
			if _, err := pats.Create(ctx, alice, w.ID, fmt.Sprint("t", i), nil, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := pats.Create(ctx, alice, w.ID, fmt.Sprint("r", i), nil, time.Time{}); err != nil && code(err) != gatehouse.EConflict {
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		list, err := pats.List(ctx, alice)
		if err != nil || len(list) != auth.MaxPATsPerUser {
			t.Fatalf("%d tokens, want %d (%v)", len(list), auth.MaxPATsPerUser, err)
		}
	})
}

// A session past its idle timeout writes nothing, not even a PAT: the
// access token may still verify, the session does not.
func TestIdleSessionCreatesNoPAT(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, func(c *auth.SessionConfig) { c.IdleTimeout = time.Hour })
		e.signup("idle@example.com")
		tr := e.login("idle@example.com")
		p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: tr.UserID, SessionID: tr.SessionID}
		w, err := (&auth.Workspaces{Core: e.core}).Create(ctx, p, "w")
		if err != nil {
			t.Fatal(err)
		}
		pats := &auth.PATs{Core: e.core}
		if _, err := pats.Create(ctx, p, w.ID, "fresh", nil, time.Time{}); err != nil {
			t.Fatalf("a fresh session: %v", err)
		}
		e.clock.Advance(time.Hour + time.Second)
		_, err = pats.Create(ctx, p, w.ID, "idle", nil, time.Time{})
		wantCode(t, err, gatehouse.EUnauthorized)
		if list, _ := pats.List(ctx, p); len(list) != 1 {
			t.Fatalf("%d tokens", len(list))
		}
	})
}
