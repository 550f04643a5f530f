package auth_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

func TestSignupAndPasswordLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		u := e.signup("Jane.Doe@Example.com")
		if u.Email != "jane.doe@example.com" || u.Status != gatehouse.StatusActive || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Fatalf("user %+v", u)
		}
		_, err := e.s.Signup(ctx, "jane.doe@example.com", goodPassword)
		wantCode(t, err, gatehouse.EConflict)
		_, err = e.s.Signup(ctx, "john@example.com", "passwordpassword")
		wantCode(t, err, gatehouse.EInvalidRequest)
		if !strings.Contains(gatehouse.ErrorMessage(err), "too common") {
			t.Errorf("common password refused with %q", gatehouse.ErrorMessage(err))
		}

		tr := e.login("jane.doe@example.com")
		if tr.SessionID == "" || tr.RefreshToken == "" || tr.AccessToken == "" || tr.ExpiresIn != 15*time.Minute || tr.CSRFToken == "" {
			t.Fatalf("token response %+v", tr)
		}
		// The access token is a real JWT of this session (RFC 9068).
		claims, err := e.keys.VerifyAccessToken(tr.AccessToken)
		if err != nil || claims.Subject != u.ID || claims.SessionID != tr.SessionID || claims.ClientID != auth.SessionClientID {
			t.Fatalf("access token claims %+v, %v", claims, err)
		}
		if strings.Contains(tr.String(), tr.RefreshToken) {
			t.Fatal("TokenResponse.String leaks the refresh token")
		}
		sess := e.session(tr.SessionID)
		if sess.UserID != u.ID || sess.IP != "198.51.100.0" || sess.UserAgent != "test-agent/1.0" || sess.Method != gatehouse.MethodPassword {
			t.Fatalf("session %+v", sess)
		}
		for _, typ := range []gatehouse.EventType{gatehouse.EventSignup, gatehouse.EventLoginSucceeded, gatehouse.EventTokenIssued} {
			evs := e.events(typ)
			if len(evs) != 1 || evs[0].Actor != u.ID || evs[0].RequestID != "req-1" || evs[0].IP != "198.51.100.0" {
				t.Errorf("%s events: %+v", typ, evs)
			}
		}
	})
}

func TestNoEnumeration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		u := e.signup("jane@example.com")
		type outcome struct {
			code   gatehouse.Code
			msg    string
			hashes uint64
		}
		try := func(email, pw string) outcome {
			e.clock.Advance(time.Millisecond) // events in order
			before := e.hasher.Count()
			_, err := e.s.PasswordLogin(ctx, email, pw)
			return outcome{gatehouse.ErrorCode(err), gatehouse.ErrorMessage(err), e.hasher.Count() - before}
		}
		unknown := try("nobody@example.com", goodPassword)
		wrong := try("jane@example.com", "not the password at all, sorry")
		malformed := try("not an address", goodPassword)
		if unknown != wrong || malformed != wrong {
			t.Fatalf("unknown %+v, wrong %+v, malformed %+v: must be equal", unknown, wrong, malformed)
		}
		if wrong.code != gatehouse.EInvalidGrant || wrong.hashes != 1 {
			t.Fatalf("wrong password: %+v, want invalid_grant after exactly one argon2 run", wrong)
		}
		failed := e.events(gatehouse.EventLoginFailed)
		if len(failed) != 3 {
			t.Fatalf("%d login.failed events, want 3", len(failed))
		}
		if failed[1].Actor != u.ID || failed[1].Details["reason"] != "wrong_password" {
			t.Errorf("wrong-password event %+v", failed[1])
		}
		if failed[0].Actor != "" || failed[0].Details["email"] != "***@example.com" {
			t.Errorf("unknown-account event %+v", failed[0])
		}
		for _, ev := range failed {
			b, _ := json.Marshal(ev)
			if strings.Contains(string(b), "nobody@") || strings.Contains(string(b), "jane@") || strings.Contains(string(b), goodPassword) {
				t.Errorf("event carries an email or password in clear: %s", b)
			}
		}
		if strings.Contains(e.logs.String(), "nobody@") || strings.Contains(e.logs.String(), "jane@") {
			t.Errorf("log carries an email in clear")
		}
	})
}

func TestOversizedPasswordRefusedBeforeHashing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		long := strings.Repeat("x", password.MaxBytes+1)
		before := e.hasher.Count()
		_, err := e.s.Signup(ctx, "john@example.com", long)
		wantCode(t, err, gatehouse.EInvalidRequest)
		_, err = e.s.PasswordLogin(ctx, "jane@example.com", long)
		wantCode(t, err, gatehouse.EInvalidRequest)
		if e.hasher.Count() != before {
			t.Fatal("an oversized password was hashed")
		}
	})
}

func TestAccountStatusAtLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		locked := e.signup("locked@example.com")
		disabled := e.signup("disabled@example.com")
		if _, err := e.s.SetStatus(ctx, nil, locked.ID, gatehouse.StatusLocked, "too many tries"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.SetStatus(ctx, nil, disabled.ID, gatehouse.StatusDisabled, ""); err != nil {
			t.Fatal(err)
		}
		_, err := e.s.PasswordLogin(ctx, "locked@example.com", "wrong wrong wrong wrong")
		wantCode(t, err, gatehouse.EInvalidGrant) // not told before a right password
		_, err = e.s.PasswordLogin(ctx, "locked@example.com", goodPassword)
		wantCode(t, err, gatehouse.EAccountLocked)
		_, err = e.s.PasswordLogin(ctx, "disabled@example.com", goodPassword)
		wantCode(t, err, gatehouse.EAccountDisabled)
	})
}

func TestRehashWhenParamsRise(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		stronger := fastParams
		stronger.Time = 3
		h2, _ := password.New(password.Config{Params: stronger})
		e2 := newEnv(t, db, func(c *auth.SessionConfig) { c.Hasher = h2 })
		e2.login("jane@example.com")
		if got := e.user("jane@example.com").PasswordHash; !strings.Contains(got, ",t=3,") {
			t.Fatalf("hash not upgraded: %s", got)
		}
		e2.login("jane@example.com") // and the new hash verifies
	})
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		u := e.signup("jane@example.com")
		t0 := e.login("jane@example.com").RefreshToken

		e.clock.Advance(time.Minute)
		r1, err := e.s.Refresh(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		if r1.RefreshToken == t0 || r1.AccessToken == "" {
			t.Fatal("no rotation")
		}
		// Within the grace window the retired token gets the same successor.
		e.clock.Advance(5 * time.Second)
		again, err := e.s.Refresh(ctx, t0)
		if err != nil || again.RefreshToken != r1.RefreshToken || again.SessionID != r1.SessionID {
			t.Fatalf("grace: %v, same successor %v", err, again != nil && again.RefreshToken == r1.RefreshToken)
		}
		if n := len(e.events(gatehouse.EventRefreshRotated)); n != 1 {
			t.Fatalf("%d refresh.rotated events, want 1 (the grace answer changes nothing)", n)
		}
		// After the window it is reuse: the whole session ends.
		e.clock.Advance(6 * time.Second)
		_, err = e.s.Refresh(ctx, t0)
		wantCode(t, err, gatehouse.EInvalidGrant)
		_, err = e.s.Refresh(ctx, r1.RefreshToken)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if e.session(r1.SessionID).RevokedAt.IsZero() {
			t.Fatal("session not revoked after reuse")
		}
		evs := e.events(gatehouse.EventRefreshReuseDetected)
		if len(evs) != 1 || evs[0].Target != "session:"+r1.SessionID || evs[0].Actor != u.ID || evs[0].Outcome != gatehouse.OutcomeFailure {
			t.Fatalf("reuse events %+v", evs)
		}
		// Replaying again changes nothing more.
		_, err = e.s.Refresh(ctx, t0)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if n := len(e.events(gatehouse.EventRefreshReuseDetected)); n != 1 {
			t.Fatalf("%d reuse events after a second replay", n)
		}
	})
}

func TestReuseOfOldAncestor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		tok := []string{e.login("jane@example.com").RefreshToken}
		for i := 0; i < 5; i++ {
			e.clock.Advance(time.Minute)
			r, err := e.s.Refresh(ctx, tok[len(tok)-1])
			if err != nil {
				t.Fatal(err)
			}
			tok = append(tok, r.RefreshToken)
		}
		// A token three generations back, even a second after its child
		// was retired... is reuse.
		_, err := e.s.Refresh(ctx, tok[2])
		wantCode(t, err, gatehouse.EInvalidGrant)
		_, err = e.s.Refresh(ctx, tok[5])
		wantCode(t, err, gatehouse.EInvalidGrant)
		if len(e.events(gatehouse.EventRefreshReuseDetected)) != 1 {
			t.Fatal("no reuse event")
		}
	})
}

func TestForgedTokenRevokesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		tr := e.login("jane@example.com")
		e.clock.Advance(time.Minute)
		r1, err := e.s.Refresh(ctx, tr.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		// Someone who knows the session id (it is not secret) makes up a
		// token of generation 0 with other secret bytes.
		other := newEnv(t, db, func(c *auth.SessionConfig) { c.RefreshKey = []byte(strings.Repeat("k", 32)) })
		forged := forgeToken(t, tr.RefreshToken)
		for _, tok := range []string{forged, "", "short", strings.Repeat("A", 75), tr.RefreshToken + "x"} {
			_, err := e.s.Refresh(ctx, tok)
			wantCode(t, err, gatehouse.EInvalidGrant)
		}
		// A token of the family, under another refresh key, derives
		// nothing stored either.
		_, err = other.s.Refresh(ctx, tr.RefreshToken)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if !e.session(tr.SessionID).RevokedAt.IsZero() {
			t.Fatal("a made-up token revoked the session")
		}
		if _, err := e.s.Refresh(ctx, r1.RefreshToken); err != nil {
			t.Fatalf("the real current token no longer works: %v", err)
		}
	})
}

// forgeToken flips the last secret byte of a refresh token.
func forgeToken(t *testing.T, tok string) string {
	b := []byte(tok)
	if b[70] == 'A' {
		b[70] = 'B'
	} else {
		b[70] = 'A'
	}
	return string(b)
}

func TestConcurrentRefreshOneSuccessor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		tr := e.login("jane@example.com")
		const n = 50
		var wg sync.WaitGroup
		results := make([]*auth.TokenResponse, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				results[i], errs[i] = e.s.Refresh(context.Background(), tr.RefreshToken)
			}(i)
		}
		close(start)
		wg.Wait()
		successors := map[string]bool{}
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				t.Fatalf("refresh %d: %v", i, errs[i]) // all fit in the grace window
			}
			successors[results[i].RefreshToken] = true
		}
		if len(successors) != 1 {
			t.Fatalf("%d distinct successors, want 1", len(successors))
		}
		if g := e.session(tr.SessionID).Generation; g != 1 {
			t.Fatalf("generation %d after concurrent refreshes of one token, want 1", g)
		}
		if k := len(e.events(gatehouse.EventRefreshRotated)); k != 1 {
			t.Fatalf("%d rotations recorded, want 1", k)
		}
		for s := range successors {
			if _, err := e.s.Refresh(ctx, s); err != nil {
				t.Fatalf("the one successor does not refresh: %v", err)
			}
		}
	})
}

func TestSessionLifetimes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, func(c *auth.SessionConfig) { c.SessionTTL = 10 * time.Hour; c.IdleTimeout = 3 * time.Hour })
		e.signup("jane@example.com")
		// Idle: not refreshed for longer than the idle timeout.
		tr := e.login("jane@example.com")
		e.clock.Advance(3*time.Hour + time.Second)
		_, err := e.s.Refresh(ctx, tr.RefreshToken)
		wantCode(t, err, gatehouse.EInvalidGrant)
		// Absolute: used every 2 hours, it still ends after 10.
		tok := e.login("jane@example.com").RefreshToken
		for i := 0; i < 4; i++ {
			e.clock.Advance(2 * time.Hour)
			r, err := e.s.Refresh(ctx, tok)
			if err != nil {
				t.Fatalf("refresh at %dh: %v", 2*(i+1), err)
			}
			tok = r.RefreshToken
		}
		e.clock.Advance(2*time.Hour + time.Second)
		_, err = e.s.Refresh(ctx, tok)
		wantCode(t, err, gatehouse.EInvalidGrant)
	})
}

func TestLogoutAndSessionList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		jane := e.signup("jane@example.com")
		e.signup("john@example.com")
		a := e.login("jane@example.com")
		e.clock.Advance(time.Second)
		b := e.login("jane@example.com")
		j := e.login("john@example.com")
		p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: jane.ID, SessionID: b.SessionID}
		list, err := e.s.List(ctx, p)
		if err != nil || len(list) != 2 || list[0].ID != b.SessionID || !list[0].Current || list[1].Current || list[1].IP != "198.51.100.0" {
			t.Fatalf("List = %+v, %v", list, err)
		}
		_, err = e.s.List(ctx, &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: jane.ID})
		wantCode(t, err, gatehouse.EForbidden)
		// Someone else's session is not found, and stays.
		wantCode(t, e.s.Revoke(ctx, p, j.SessionID), gatehouse.ENotFound)
		wantCode(t, e.s.Revoke(ctx, p, "not-a-uuid"), gatehouse.ENotFound)
		if err := e.s.Revoke(ctx, p, a.SessionID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.s.Revoke(ctx, p, a.SessionID), gatehouse.ENotFound)
		_, err = e.s.Refresh(ctx, a.RefreshToken)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if _, err := e.s.Refresh(ctx, j.RefreshToken); err != nil {
			t.Fatalf("john's session suffered: %v", err)
		}
		// Logout with the current token.
		if err := e.s.Logout(ctx, b.RefreshToken); err != nil {
			t.Fatal(err)
		}
		_, err = e.s.Refresh(ctx, b.RefreshToken)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if err := e.s.Logout(ctx, b.RefreshToken); err != nil {
			t.Fatalf("second logout: %v", err)
		}
		if list, _ := e.s.List(ctx, p); len(list) != 0 {
			t.Fatalf("sessions left: %+v", list)
		}
		if n := len(e.events(gatehouse.EventLogout)); n != 1 {
			t.Fatalf("%d logout events", n)
		}
		if evs := e.events(gatehouse.EventSessionRevoked); len(evs) != 1 || evs[0].Target != "session:"+a.SessionID {
			t.Fatalf("session.revoked events %+v", evs)
		}
	})
}

func TestStatusChangeRevokesSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		admin := e.signup("admin@example.com")
		jane := e.signup("jane@example.com")
		if err := db.Tx(context.Background(), gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			return tx.SetUserAdmin(context.Background(), admin.ID, true, e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		tr := e.login("jane@example.com")
		ap := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: admin.ID, SessionID: e.login("admin@example.com").SessionID}
		jp := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: jane.ID, SessionID: tr.SessionID}
		_, err := e.s.SetStatus(ctx, jp, admin.ID, gatehouse.StatusLocked, "revenge")
		wantCode(t, err, gatehouse.EForbidden)
		_, err = e.s.SetStatus(ctx, ap, jane.ID, "frozen", "")
		wantCode(t, err, gatehouse.EInvalidRequest)
		_, err = e.s.SetStatus(ctx, ap, "0190aaaa-0000-7000-8000-000000000000", gatehouse.StatusLocked, "")
		wantCode(t, err, gatehouse.ENotFound)
		u, err := e.s.SetStatus(ctx, ap, jane.ID, gatehouse.StatusDisabled, "left the company")
		if err != nil || u.Status != gatehouse.StatusDisabled {
			t.Fatalf("SetStatus = %+v, %v", u, err)
		}
		_, err = e.s.Refresh(ctx, tr.RefreshToken)
		wantCode(t, err, gatehouse.EInvalidGrant)
		evs := e.events(gatehouse.EventAccountStatusChanged)
		if len(evs) != 1 || evs[0].Actor != admin.ID || evs[0].Target != "user:"+jane.ID ||
			evs[0].Details["reason"] != "left the company" || evs[0].Details["to"] != "disabled" || evs[0].Details["sessions_revoked"] != "1" {
			t.Fatalf("events %+v", evs)
		}
		// Back to active: a new login works, the old session stays ended.
		e.clock.Advance(time.Millisecond)
		if _, err := e.s.SetStatusByEmail(ctx, "jane@example.com", gatehouse.StatusActive, "came back"); err != nil {
			t.Fatal(err)
		}
		e.login("jane@example.com")
		_, err = e.s.Refresh(ctx, tr.RefreshToken)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if evs := e.events(gatehouse.EventAccountStatusChanged); evs[1].Actor != "system" {
			t.Fatalf("CLI change actor %q", evs[1].Actor)
		}
	})
}

func TestRevokeAll(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		e.signup("john@example.com")
		a, b := e.login("jane@example.com"), e.login("john@example.com")
		n, err := e.s.RevokeAll(ctx)
		if err != nil || n != 2 {
			t.Fatalf("RevokeAll = %d, %v", n, err)
		}
		for _, tok := range []string{a.RefreshToken, b.RefreshToken} {
			_, err := e.s.Refresh(ctx, tok)
			wantCode(t, err, gatehouse.EInvalidGrant)
		}
	})
}

func TestMagicLink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		jane := e.signup("jane.doe@example.com")
		for _, email := range []string{"Jane.Doe@example.com", "nobody@example.com", "not an address", strings.Repeat("a", 5000)} {
			if err := e.s.RequestMagicLink(ctx, email); err != nil {
				t.Fatalf("RequestMagicLink(%.20q) = %v, want nil whatever the email", email, err)
			}
		}
		tokens, to := e.mailTokens()
		if len(tokens) != 1 || to[0] != "<jane.doe@example.com>" {
			t.Fatalf("mail: %v to %v", tokens, to)
		}
		if strings.Contains(e.logs.String(), "jane.doe@") || strings.Contains(e.logs.String(), "nobody@") || strings.Contains(e.logs.String(), tokens[0]) {
			t.Fatalf("logs carry an address or the token: %s", e.logs.String())
		}
		tr, err := e.s.VerifyMagicLink(ctx, tokens[0])
		if err != nil || tr.UserID != jane.ID || tr.RefreshToken == "" {
			t.Fatalf("verify: %+v, %v", tr, err)
		}
		if m := e.session(tr.SessionID).Method; m != gatehouse.MethodMagicLink {
			t.Errorf("method %s", m)
		}
		_, err = e.s.VerifyMagicLink(ctx, tokens[0])
		wantCode(t, err, gatehouse.EInvalidGrant)
		for _, bad := range []string{"", "x", strings.Repeat("A", 43), tokens[0] + "A"} {
			_, err = e.s.VerifyMagicLink(ctx, bad)
			wantCode(t, err, gatehouse.EInvalidGrant)
		}
		if n := len(e.events(gatehouse.EventMagicLinkRequested)); n != 2 {
			t.Errorf("%d magic_link.requested events, want 2 (one known, one unknown address)", n)
		}
		if evs := e.events(gatehouse.EventMagicLinkConsumed); len(evs) != 1 || evs[0].Actor != jane.ID {
			t.Errorf("magic_link.consumed %+v", evs)
		}
		for _, ev := range e.events(gatehouse.EventMagicLinkRequested) {
			if strings.Contains(ev.Details["email"], "jane.doe") || strings.Contains(ev.Details["email"], "nobody") {
				t.Errorf("address in clear: %+v", ev.Details)
			}
		}
	})
}

func TestMagicLinkExpiryAndStatus(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		jane := e.signup("jane@example.com")
		e.s.RequestMagicLink(ctx, "jane@example.com")
		e.clock.Advance(10*time.Minute + time.Second)
		tokens, _ := e.mailTokens()
		_, err := e.s.VerifyMagicLink(ctx, tokens[0])
		wantCode(t, err, gatehouse.EInvalidGrant)

		e.s.RequestMagicLink(ctx, "jane@example.com")
		if _, err := e.s.SetStatus(ctx, nil, jane.ID, gatehouse.StatusLocked, ""); err != nil {
			t.Fatal(err)
		}
		tokens, _ = e.mailTokens()
		var last error
		for _, tok := range tokens {
			_, last = e.s.VerifyMagicLink(ctx, tok)
		}
		wantCode(t, last, gatehouse.EAccountLocked)
		// A locked account gets no new link at all.
		e.s.RequestMagicLink(ctx, "jane@example.com")
		if tokens2, _ := e.mailTokens(); len(tokens2) != len(tokens) {
			t.Fatal("mail sent to a locked account")
		}
	})
}

func TestHostileInputOneBoundedRecord(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		hostile := "evil\r\n{\"audit_event\":\"login.succeeded\",\"actor\":\"admin\"}\n" + strings.Repeat("A\r\n", 21000) + "@example.com"
		hctx := gatehouse.NewContextWithRequestInfo(context.Background(), gatehouse.RequestInfo{
			RequestID: "req-h", IP: "203.0.113.9", UserAgent: "ua\r\n\"}{\"x\":1}" + strings.Repeat("B", 64<<10),
		})
		_, err := e.s.PasswordLogin(hctx, hostile, goodPassword)
		wantCode(t, err, gatehouse.EInvalidGrant)
		evs := e.events(gatehouse.EventLoginFailed)
		if len(evs) != 1 {
			t.Fatalf("%d events, want exactly one", len(evs))
		}
		ev := evs[0]
		if len(ev.UserAgent) > 256 || strings.ContainsAny(ev.UserAgent, "\r\n") {
			t.Errorf("user agent stored as %q", ev.UserAgent)
		}
		for k, v := range ev.Details {
			if len(v) > 256 || strings.ContainsAny(v, "\r\n") {
				t.Errorf("detail %s = %q", k, v)
			}
		}
		var lines int
		for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
			if !strings.Contains(line, `"audit_event":"login.failed"`) {
				if strings.Contains(line, `"audit_event":"login.succeeded"`) || strings.Contains(line, `"actor":"admin"`) {
					t.Errorf("injected audit line: %s", line)
				}
				continue
			}
			lines++
			if len(line) > 4096 {
				t.Errorf("log line of %d bytes", len(line))
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Errorf("log line is not one JSON object: %v", err)
			}
		}
		if lines != 1 {
			t.Fatalf("%d audit log lines, want 1", lines)
		}
	})
}

func TestCSRFToken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		a, b := e.login("jane@example.com"), e.login("jane@example.com")
		if a.CSRFToken == b.CSRFToken || a.CSRFToken != e.s.CSRFToken(a.SessionID) {
			t.Fatal("CSRF token not per session or not stable")
		}
		if e.s.CSRFToken("") != "" {
			t.Fatal("a CSRF token for no session")
		}
		sid, ok := auth.RefreshTokenSessionID(a.RefreshToken)
		if !ok || sid != a.SessionID {
			t.Fatalf("RefreshTokenSessionID = %q, %v", sid, ok)
		}
		r, err := e.s.Refresh(ctx, a.RefreshToken)
		if err != nil || r.CSRFToken != a.CSRFToken {
			t.Fatalf("CSRF token changed across a refresh: %v", err)
		}
		// Another key (a new master secret) makes other tokens.
		e2 := newEnv(t, db, func(c *auth.SessionConfig) { c.CSRFKey = []byte(strings.Repeat("z", 32)) })
		if e2.s.CSRFToken(a.SessionID) == a.CSRFToken {
			t.Fatal("CSRF token valid under another key")
		}
	})
}

func TestSessionKeys(t *testing.T) {
	labels := map[string]int{}
	r, c := auth.SessionKeys(func(label string, n int) []byte {
		labels[label] = n
		return []byte(strings.Repeat(label[:1], n) + label)
	})
	if len(labels) != 2 || labels[auth.RefreshKeyLabel] != 32 || labels[auth.CSRFKeyLabel] != 32 || string(r) == string(c) {
		t.Fatalf("labels %v", labels)
	}
}

func TestPurge(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		old := e.login("jane@example.com")
		if err := e.s.Logout(ctx, old.RefreshToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(25 * time.Hour)
		live := e.login("jane@example.com")
		if err := e.s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(context.Background(), gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			_, err := tx.SessionByID(context.Background(), old.SessionID)
			return err
		})
		wantCode(t, err, gatehouse.ENotFound)
		e.session(live.SessionID) // still there
	})
}
