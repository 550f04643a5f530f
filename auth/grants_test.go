package auth_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// grantEnv is a person signed in, a workspace of theirs with a public client
// of the authorization-code grant, and the OAuth service over a real store.
type grantEnv struct {
	*env
	o        *auth.OAuth
	ws       *gatehouse.Workspace
	c        *gatehouse.Client
	person   *auth.TokenResponse
	verifier string
	req      auth.AuthorizationRequest
}

func newGrantEnv(t *testing.T, db *sqlstore.DB, edit func(*auth.SessionConfig)) *grantEnv {
	t.Helper()
	e := newEnv(t, db, edit)
	g := &grantEnv{env: e, o: &auth.OAuth{Core: e.core, Keys: e.keys, Sessions: e.s}}
	ada := e.signup("ada@example.com")
	g.person = e.login("ada@example.com")
	var err error
	g.ws, err = (&auth.Workspaces{Core: e.core}).Create(ctx, &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: ada.ID, SessionID: g.person.SessionID}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := (&auth.Clients{Core: e.core}).CreateAsSystem(ctx, g.ws.ID, auth.ClientSpec{Name: "spa", Public: true,
		RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"profile:read"}})
	if err != nil {
		t.Fatal(err)
	}
	g.c = cc.Client
	g.verifier = strings.Repeat("Vv-._~", 8)
	g.req = auth.AuthorizationRequest{ClientID: g.c.ClientID, RedirectURI: "https://app.example.com/cb", ResponseType: "code",
		CodeChallenge: auth.S256(g.verifier), CodeChallengeMethod: "S256"}
	return g
}

// grant runs the authorization-code grant and returns its token response.
func (g *grantEnv) grant() *auth.IssuedGrant {
	g.t.Helper()
	code, err := g.o.IssueCode(ctx, g.c, g.person.UserID, g.person.SessionID, g.req, "profile:read")
	if err != nil {
		g.t.Fatal(err)
	}
	ig, err := g.o.ExchangeCode(ctx, g.c, code, g.req.RedirectURI, g.verifier)
	if err != nil {
		g.t.Fatal(err)
	}
	return ig
}

// wsEvents returns the workspace's events of type typ, oldest first.
func (g *grantEnv) wsEvents(typ gatehouse.EventType) []*gatehouse.AuditEvent {
	g.t.Helper()
	var out []*gatehouse.AuditEvent
	err := g.store.Tx(context.Background(), gatehouse.Scope{WorkspaceID: g.ws.ID}, func(tx gatehouse.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{WorkspaceID: g.ws.ID, Type: typ, Limit: 100})
		for i := len(evs) - 1; i >= 0; i-- {
			out = append(out, evs[i])
		}
		return err
	})
	if err != nil {
		g.t.Fatal(err)
	}
	return out
}

// A grant's reused refresh token revokes the grant and records both
// refresh.reuse_detected and oauth_grant.revoked, as a session's does
// (before, a grant recorded no revocation event).
func TestGrantReuseRecordsRevocation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		ig := g.grant()
		r1, err := g.o.RefreshGrant(ctx, g.c, ig.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		rot := g.wsEvents(gatehouse.EventRefreshRotated)
		if len(rot) != 1 || rot[0].Details["family"] != "oauth_grant" || rot[0].Details["client_id"] != g.c.ClientID {
			t.Fatalf("refresh.rotated: %+v", rot)
		}
		g.clock.Advance(11 * time.Second)
		if _, err := g.o.RefreshGrant(ctx, g.c, ig.RefreshToken, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("reuse: %v", err)
		}
		if _, err := g.o.RefreshGrant(ctx, g.c, r1.RefreshToken, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("the current token after reuse: %v", err)
		}
		reuse := g.wsEvents(gatehouse.EventRefreshReuseDetected)
		if len(reuse) != 1 || reuse[0].Details["family"] != "oauth_grant" || !strings.HasPrefix(reuse[0].Target, "oauth_grant:") {
			t.Fatalf("refresh.reuse_detected: %+v", reuse)
		}
		rev := g.wsEvents(gatehouse.EventOAuthGrantRevoked)
		if len(rev) != 1 || rev[0].Details["reason"] != "refresh_reuse" || rev[0].Target != reuse[0].Target {
			for _, ev := range rev {
				t.Logf("%s %s %v", ev.Actor, ev.Target, ev.Details)
			}
			t.Fatalf("oauth_grant.revoked: %+v", rev)
		}
		if n := len(g.wsEvents(gatehouse.EventSessionRevoked)); n != 0 {
			t.Fatalf("a grant's end recorded as session.revoked (%d)", n)
		}
	})
}

// A grant not refreshed for the idle timeout has ended, as a session has
// (before, grants had no idle timeout).
func TestGrantIdleTimeout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, func(c *auth.SessionConfig) { c.IdleTimeout = time.Hour })
		ig := g.grant()
		g.clock.Advance(59 * time.Minute)
		r1, err := g.o.RefreshGrant(ctx, g.c, ig.RefreshToken, "")
		if err != nil {
			t.Fatalf("within the idle timeout: %v", err)
		}
		g.clock.Advance(61 * time.Minute)
		if _, err := g.o.RefreshGrant(ctx, g.c, r1.RefreshToken, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("after the idle timeout: %v", err)
		}
		if in, err := g.o.Introspect(ctx, g.c, r1.RefreshToken); err != nil || in.Active {
			t.Fatalf("an idle grant's token introspects as %+v, %v", in, err)
		}
	})
}

// Revoking a grant (RFC 7009) and reusing its authorization code record
// oauth_grant.revoked, not session.revoked.
func TestGrantRevocationEvents(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		ig := g.grant()
		if err := g.o.Revoke(ctx, g.c, ig.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := g.o.RefreshGrant(ctx, g.c, ig.RefreshToken, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("refresh after revocation: %v", err)
		}
		if err := g.o.Revoke(ctx, g.c, ig.RefreshToken); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		g.clock.Advance(time.Second) // the events' order

		code, err := g.o.IssueCode(ctx, g.c, g.person.UserID, g.person.SessionID, g.req, "profile:read")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.o.ExchangeCode(ctx, g.c, code, g.req.RedirectURI, g.verifier); err != nil {
			t.Fatal(err)
		}
		if _, err := g.o.ExchangeCode(ctx, g.c, code, g.req.RedirectURI, g.verifier); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("code reuse: %v", err)
		}
		rev := g.wsEvents(gatehouse.EventOAuthGrantRevoked)
		if len(rev) != 2 || rev[0].Details["reason"] != "oauth_revoke" || rev[0].Actor != "client:"+g.c.ClientID ||
			rev[1].Details["reason"] != "code_reuse" {
			for _, ev := range rev {
				t.Logf("%s %s %v", ev.Actor, ev.Target, ev.Details)
			}
			t.Fatalf("oauth_grant.revoked: %+v", rev)
		}
		if n := len(g.wsEvents(gatehouse.EventSessionRevoked)); n != 0 {
			t.Fatalf("a grant's end recorded as session.revoked (%d)", n)
		}
	})
}

// Introspection answers for the current refresh token of a live grant of
// the caller's workspace, and {"active":false} for a retired one, a revoked
// grant's, a person's own session's and another workspace's client.
func TestIntrospectRefreshToken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		ig := g.grant()
		in, err := g.o.Introspect(ctx, g.c, ig.RefreshToken)
		if err != nil || !in.Active || in.TokenType != auth.TokenTypeRefresh || in.Scope != "profile:read" || in.ClientID != g.c.ClientID ||
			in.Subject != g.person.UserID || in.WorkspaceID != g.ws.ID || !in.IssuedAt.Equal(g.clock.Now()) || !in.ExpiresAt.After(in.IssuedAt) {
			t.Fatalf("the current token: %+v, %v", in, err)
		}
		// Another client of the same workspace may ask, as for access tokens.
		other, err := (&auth.Clients{Core: g.core}).CreateAsSystem(ctx, g.ws.ID, auth.ClientSpec{Name: "backend",
			Grants: []string{"client_credentials"}, Scopes: []string{"profile:read"}})
		if err != nil {
			t.Fatal(err)
		}
		if in, err := g.o.Introspect(ctx, other.Client, ig.RefreshToken); err != nil || !in.Active {
			t.Fatalf("a client of the same workspace: %+v, %v", in, err)
		}
		// Introspection changes nothing: the token still refreshes.
		g.clock.Advance(time.Minute)
		r1, err := g.o.RefreshGrant(ctx, g.c, ig.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		inactive := func(what, tok string, c *gatehouse.Client) {
			t.Helper()
			if in, err := g.o.Introspect(ctx, c, tok); err != nil || in.Active || in.Subject != "" {
				t.Fatalf("%s: %+v, %v", what, in, err)
			}
		}
		inactive("a retired token (within grace)", ig.RefreshToken, g.c)
		if in, err := g.o.Introspect(ctx, g.c, r1.RefreshToken); err != nil || !in.Active || !in.IssuedAt.Equal(g.clock.Now()) {
			t.Fatalf("the new current token: %+v, %v", in, err)
		}
		inactive("a person's session refresh token", g.person.RefreshToken, g.c)

		// A client of another workspace.
		bob := g.signup("bob@example.com")
		btr := g.login("bob@example.com")
		w2, err := (&auth.Workspaces{Core: g.core}).Create(ctx, &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: bob.ID, SessionID: btr.SessionID}, "globex")
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := (&auth.Clients{Core: g.core}).CreateAsSystem(ctx, w2.ID, auth.ClientSpec{Name: "spy",
			Grants: []string{"client_credentials"}, Scopes: []string{"profile:read"}})
		if err != nil {
			t.Fatal(err)
		}
		inactive("another workspace's client", r1.RefreshToken, foreign.Client)

		if err := g.o.Revoke(ctx, g.c, r1.RefreshToken); err != nil {
			t.Fatal(err)
		}
		inactive("a revoked grant's token", r1.RefreshToken, g.c)
	})
}

// Concurrent revocations of one grant all succeed and record one event.
func TestConcurrentGrantRevocation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		ig := g.grant()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- g.o.Revoke(ctx, g.c, ig.RefreshToken)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a concurrent revocation failed: %v", err)
			}
		}
		if n := len(g.wsEvents(gatehouse.EventOAuthGrantRevoked)); n != 1 {
			t.Fatalf("oauth_grant.revoked recorded %d times", n)
		}
	})
}

// The purge deletes authorization codes and grants a day after they ended,
// in every workspace, and leaves live ones.
func TestPurgeOAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		ended := g.grant()
		if err := g.o.Revoke(ctx, g.c, ended.RefreshToken); err != nil {
			t.Fatal(err)
		}
		unused, err := g.o.IssueCode(ctx, g.c, g.person.UserID, g.person.SessionID, g.req, "profile:read")
		if err != nil {
			t.Fatal(err)
		}
		g.clock.Advance(25 * time.Hour)
		g.person = g.login("ada@example.com")
		live := g.grant()
		fresh, err := g.o.IssueCode(ctx, g.c, g.person.UserID, g.person.SessionID, g.req, "profile:read")
		if err != nil {
			t.Fatal(err)
		}
		if err := g.s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		endedID, _ := auth.RefreshTokenSessionID(ended.RefreshToken)
		liveID, _ := auth.RefreshTokenSessionID(live.RefreshToken)
		err = db.Tx(context.Background(), gatehouse.Scope{WorkspaceID: g.ws.ID}, func(tx gatehouse.Tx) error {
			if _, err := tx.OAuthGrantByID(ctx, g.ws.ID, endedID); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("the ended grant: %v", err)
			}
			if _, err := tx.OAuthGrantByID(ctx, g.ws.ID, liveID); err != nil {
				t.Errorf("the live grant: %v", err)
			}
			if _, err := tx.AuthCodeByHash(ctx, g.ws.ID, sha256Of(unused)); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("the expired code: %v", err)
			}
			if _, err := tx.AuthCodeByHash(ctx, g.ws.ID, sha256Of(fresh)); err != nil {
				t.Errorf("the fresh code: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.o.RefreshGrant(ctx, g.c, live.RefreshToken, ""); err != nil {
			t.Fatalf("the live grant after the purge: %v", err)
		}
	})
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// TestGrantRefreshStatements: a grant's refresh takes the engine's fast path
// too: BEGIN, the workspace scope's set_config (a grant lives in its
// client's workspace), the one UPDATE, the refresh.rotated INSERT, COMMIT.
func TestGrantRefreshStatements(t *testing.T) {
	db, qc := countingPostgres(t)
	g := newGrantEnv(t, db, nil)
	tok := g.grant().RefreshToken
	for i := 0; i < 3; i++ {
		before := qc.n.Load()
		r, err := g.o.RefreshGrant(ctx, g.c, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		if n := qc.n.Load() - before; n != 5 {
			t.Fatalf("a grant refresh sent %d statements, want 5", n)
		}
		tok = r.RefreshToken
	}
}
