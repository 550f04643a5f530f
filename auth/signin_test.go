package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// A sign-in records every factor used (amr, RFC 8176) and auth_time on the
// session; its access tokens carry both, and a refresh keeps them.
func TestSignInRecordsAMRAndAuthTime(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		// A verified account: a first magic link of an unverified one ends
		// its other sessions (TestFirstMailboxProofEndsPreHijacking).
		if _, err := e.s.CreateAccount(ctx, "jane@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		signedIn := e.clock.Now()
		tr := e.login("jane@example.com")
		sess := e.session(tr.SessionID)
		if !slices.Equal(sess.AMR, []string{"pwd"}) || !sess.AuthTime.Equal(signedIn) || sess.Method != gatehouse.MethodPassword {
			t.Fatalf("password session: amr %v auth_time %v method %s", sess.AMR, sess.AuthTime, sess.Method)
		}
		check := func(what, at string, amr []string, authTime time.Time) {
			t.Helper()
			c, err := e.keys.VerifyAccessToken(at)
			if err != nil || !slices.Equal(c.AMR, amr) || c.AuthTime != authTime.Unix() {
				t.Fatalf("%s: access token amr %v auth_time %d, %v; want %v %d", what, c.AMR, c.AuthTime, err, amr, authTime.Unix())
			}
		}
		check("login", tr.AccessToken, []string{"pwd"}, signedIn)
		ev := e.events(gatehouse.EventLoginSucceeded)
		if len(ev) != 1 || ev[0].Details["amr"] != "pwd" || ev[0].Details["method"] != "password" {
			t.Fatalf("login.succeeded: %+v", ev)
		}

		e.clock.Advance(time.Hour)
		r1, err := e.s.Refresh(ctx, tr.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		check("refresh", r1.AccessToken, []string{"pwd"}, signedIn)
		again, err := e.s.Refresh(ctx, tr.RefreshToken) // the parent within grace
		if err != nil {
			t.Fatal(err)
		}
		check("refresh within grace", again.AccessToken, []string{"pwd"}, signedIn)

		if err := e.s.RequestMagicLink(ctx, "jane@example.com"); err != nil {
			t.Fatal(err)
		}
		toks, _ := e.mailTokens()
		if len(toks) != 1 {
			t.Fatalf("links: %v", toks)
		}
		linked := e.clock.Now()
		ml, err := e.s.VerifyMagicLink(ctx, toks[0])
		if err != nil {
			t.Fatal(err)
		}
		check("magic link", ml.AccessToken, []string{"email"}, linked)
		if s := e.session(ml.SessionID); !slices.Equal(s.AMR, []string{"email"}) || s.Method != gatehouse.MethodMagicLink {
			t.Fatalf("magic-link session: %v %s", s.AMR, s.Method)
		}

		list, err := e.s.List(ctx, &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: tr.UserID, SessionID: tr.SessionID})
		if err != nil || len(list) != 2 || !slices.Equal(list[0].AMR, []string{"email"}) || !slices.Equal(list[1].AMR, []string{"pwd"}) ||
			!list[1].AuthTime.Equal(signedIn) {
			t.Fatalf("List: %+v, %v", list, err)
		}
	})
}
