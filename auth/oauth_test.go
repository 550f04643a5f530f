package auth_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
)

// oauthFixture is the real OAuth services over a real store, on one clock.
type oauthFixture struct {
	*fixture
	clients *auth.Clients
	oauth   *auth.OAuth
	pats    *auth.PATs
	keys    *auth.Keys
}

func newOAuthFixture(t testing.TB, s *sqlstore.DB) *oauthFixture {
	t.Helper()
	var buf bytes.Buffer
	core := auth.NewCore(s, slog.New(slog.NewJSONHandler(&buf, nil)))
	keys, err := auth.NewKeys(core, auth.KeysConfig{Issuer: testIssuer, KEK: testKEK, AccessTTL: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{core: core, ws: &auth.Workspaces{Core: core}, log: &buf}
	return &oauthFixture{fixture: f, clients: &auth.Clients{Core: core}, oauth: &auth.OAuth{Core: core, Keys: keys},
		pats: &auth.PATs{Core: core}, keys: keys}
}

func (f *oauthFixture) events(t *testing.T, ws string, typ gatehouse.EventType) []*gatehouse.AuditEvent {
	t.Helper()
	var out []*gatehouse.AuditEvent
	scope := gatehouse.Scope{WorkspaceID: ws, AllAudit: ws == ""}
	err := f.core.Store.Tx(context.Background(), scope, func(tx gatehouse.Tx) error {
		var err error
		out, err = tx.AuditEvents(context.Background(), gatehouse.AuditFilter{WorkspaceID: ws, Type: typ, Limit: 100})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestClientManagement(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newOAuthFixture(t, s)
		owner, member, stranger := f.user(t, "owner@example.com"), f.user(t, "member@example.com"), f.user(t, "stranger@example.com")
		w, err := f.ws.Create(ctx, owner, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ws.AddMember(ctx, owner, w.ID, "member@example.com", gatehouse.RoleMember); err != nil {
			t.Fatal(err)
		}
		spec := auth.ClientSpec{Name: "billing", Grants: []string{"client_credentials"}, Scopes: []string{"workspaces:read", "audit:read", "audit:read"}}

		for _, c := range []struct {
			name string
			p    *gatehouse.Principal
			ws   string
			spec auth.ClientSpec
			want gatehouse.Code
		}{
			{"stranger", stranger, w.ID, spec, gatehouse.ENotFound},
			{"plain member", member, w.ID, spec, gatehouse.EForbidden},
			{"a PAT", &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: owner.UserID, WorkspaceID: w.ID, Scopes: auth.PATScopes}, w.ID, spec, gatehouse.EForbidden},
			{"malformed workspace", owner, "nope", spec, gatehouse.ENotFound},
			{"unknown scope", owner, w.ID, auth.ClientSpec{Name: "x", Scopes: []string{"admin"}}, gatehouse.EInvalidScope},
			{"unknown grant", owner, w.ID, auth.ClientSpec{Name: "x", Grants: []string{"password"}}, gatehouse.EInvalidRequest},
			{"redirect uri without authorization_code", owner, w.ID, auth.ClientSpec{Name: "x", Grants: []string{"client_credentials"}, RedirectURIs: []string{"https://app.example.com/cb"}}, gatehouse.EInvalidRequest},
			{"public without a redirect uri", owner, w.ID, auth.ClientSpec{Name: "x", Public: true}, gatehouse.EInvalidRequest},
			{"public client_credentials", owner, w.ID, auth.ClientSpec{Name: "x", Public: true, Grants: []string{"client_credentials", "authorization_code"}, RedirectURIs: []string{"https://a.example/cb"}}, gatehouse.EInvalidRequest},
			{"refresh_token alone", owner, w.ID, auth.ClientSpec{Name: "x", Grants: []string{"client_credentials", "refresh_token"}}, gatehouse.EInvalidRequest},
			{"http redirect uri", owner, w.ID, auth.ClientSpec{Name: "x", RedirectURIs: []string{"http://app.example.com/cb"}}, gatehouse.EInvalidRequest},
			{"fragment", owner, w.ID, auth.ClientSpec{Name: "x", RedirectURIs: []string{"https://app.example.com/cb#x"}}, gatehouse.EInvalidRequest},
			{"relative", owner, w.ID, auth.ClientSpec{Name: "x", RedirectURIs: []string{"/cb"}}, gatehouse.EInvalidRequest},
			{"space", owner, w.ID, auth.ClientSpec{Name: "x", RedirectURIs: []string{"https://app.example.com/a b"}}, gatehouse.EInvalidRequest},
			{"empty name", owner, w.ID, auth.ClientSpec{Name: " "}, gatehouse.EInvalidRequest},
		} {
			if _, err := f.clients.Create(ctx, c.p, c.ws, c.spec); code(err) != c.want {
				t.Errorf("%s: %v, want %s", c.name, err, c.want)
			}
		}

		cc, err := f.clients.Create(ctx, owner, w.ID, spec)
		if err != nil {
			t.Fatal(err)
		}
		secret := cc.Secret.Reveal()
		if !auth.ValidClientID(cc.Client.ClientID) || !strings.HasPrefix(secret, "ghs_") || len(secret) != 47 {
			t.Fatalf("client id %q, secret length %d", cc.Client.ClientID, len(secret))
		}
		if cc.Client.SecretHash != token.LookupHashHex(secret) || strings.Contains(cc.Secret.String(), secret[4:]) {
			t.Fatal("secret not stored as its SHA-256, or not redacted")
		}
		if got := strings.Join(cc.Client.Scopes, " "); got != "audit:read workspaces:read" {
			t.Fatalf("scopes %q", got)
		}
		other, _ := f.clients.Create(ctx, owner, w.ID, auth.ClientSpec{Name: "other"})
		if other.Client.ClientID == cc.Client.ClientID || other.Secret.Reveal() == secret {
			t.Fatal("two clients share an id or a secret")
		}

		list, err := f.clients.List(ctx, owner, w.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("list %v %v", list, err)
		}
		if _, err := f.clients.List(ctx, stranger, w.ID); code(err) != gatehouse.ENotFound {
			t.Fatalf("stranger lists: %v", err)
		}
		if _, err := f.clients.Get(ctx, owner, w.ID, "nope"); code(err) != gatehouse.ENotFound {
			t.Fatalf("malformed client id: %v", err)
		}

		// Rotation: the old secret fails at once, the new one works.
		rot, err := f.clients.RotateSecret(ctx, owner, w.ID, cc.Client.ClientID)
		if err != nil || rot.Secret.Reveal() == secret || rot.Client.SecretRotatedAt.IsZero() {
			t.Fatalf("rotate %v", err)
		}
		if _, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, cc.Client.ClientID, secret); code(err) != gatehouse.EInvalidClient {
			t.Fatalf("old secret after rotation: %v", err)
		}
		if _, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, cc.Client.ClientID, rot.Secret.Reveal()); err != nil {
			t.Fatalf("new secret: %v", err)
		}
		if _, err := f.clients.RotateSecret(ctx, member, w.ID, cc.Client.ClientID); code(err) != gatehouse.EForbidden {
			t.Fatalf("member rotates: %v", err)
		}

		// Deletion: the client cannot authenticate any more.
		if err := f.clients.Delete(ctx, stranger, w.ID, cc.Client.ClientID); code(err) != gatehouse.ENotFound {
			t.Fatalf("stranger deletes: %v", err)
		}
		if err := f.clients.Delete(ctx, owner, w.ID, cc.Client.ClientID); err != nil {
			t.Fatal(err)
		}
		if err := f.clients.Delete(ctx, owner, w.ID, cc.Client.ClientID); code(err) != gatehouse.ENotFound {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, cc.Client.ClientID, rot.Secret.Reveal()); code(err) != gatehouse.EInvalidClient {
			t.Fatalf("deleted client authenticates: %v", err)
		}
		for typ, n := range map[gatehouse.EventType]int{gatehouse.EventOAuthClientCreated: 2, gatehouse.EventOAuthClientSecretRotate: 1, gatehouse.EventOAuthClientDeleted: 1} {
			if evs := f.events(t, w.ID, typ); len(evs) != n || evs[0].Actor != owner.UserID {
				t.Errorf("%s: %d events, want %d", typ, len(evs), n)
			}
		}
		if strings.Contains(f.log.String(), secret) || strings.Contains(f.log.String(), rot.Secret.Reveal()) {
			t.Fatal("a client secret reached the log")
		}

		// The operator's path.
		sys, err := f.clients.CreateAsSystem(ctx, w.ID, auth.ClientSpec{Name: "cli", Scopes: []string{"profile:read"}})
		if err != nil || sys.Client.CreatedBy != "system" {
			t.Fatalf("system create %v", err)
		}
		if _, err := f.clients.CreateAsSystem(ctx, gatehouse.NewID(time.Now()), auth.ClientSpec{Name: "cli"}); code(err) != gatehouse.ENotFound {
			t.Fatalf("system create in an unknown workspace: %v", err)
		}
	})
}

func TestClientCredentialsIntrospectRevoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newOAuthFixture(t, s)
		alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
		wa, _ := f.ws.Create(ctx, alice, "a")
		wb, _ := f.ws.Create(ctx, bob, "b")
		ca, err := f.clients.Create(ctx, alice, wa.ID, auth.ClientSpec{Name: "svc", Scopes: []string{"audit:read", "workspaces:read"}})
		if err != nil {
			t.Fatal(err)
		}
		cb, _ := f.clients.Create(ctx, bob, wb.ID, auth.ClientSpec{Name: "svc-b", Scopes: []string{"audit:read"}})

		// Client authentication.
		for _, c := range []struct{ name, id, secret string }{
			{"wrong secret", ca.Client.ClientID, cb.Secret.Reveal()},
			{"empty secret", ca.Client.ClientID, ""},
			{"unknown client", "00000000-0000-4000-8000-000000000000", ca.Secret.Reveal()},
			{"malformed client", "' or 1=1 --", ca.Secret.Reveal()},
			{"huge secret", ca.Client.ClientID, strings.Repeat("x", 10000)},
		} {
			if _, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, c.id, c.secret); code(err) != gatehouse.EInvalidClient {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		if evs := f.events(t, wa.ID, gatehouse.EventLoginFailed); len(evs) != 2 || evs[0].Target != "client:"+ca.Client.ClientID {
			t.Fatalf("login.failed in workspace A: %d", len(evs))
		}
		client, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, ca.Client.ClientID, ca.Secret.Reveal())
		if err != nil || client.WorkspaceID != wa.ID {
			t.Fatalf("authenticate: %v", err)
		}
		clientB, _ := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, cb.Client.ClientID, cb.Secret.Reveal())

		// The grant and its scope.
		for _, c := range []struct{ scope, want string }{{"", "audit:read workspaces:read"}, {"audit:read", "audit:read"}} {
			it, err := f.oauth.ClientCredentials(ctx, client, c.scope)
			if err != nil || it.Scope != c.want || it.ExpiresIn != 900 {
				t.Fatalf("scope %q: %+v %v", c.scope, it, err)
			}
			cl, err := f.keys.VerifyAccessToken(it.AccessToken)
			if err != nil || cl.Subject != client.ClientID || cl.ClientID != client.ClientID || cl.WorkspaceID != wa.ID || cl.SessionID != "" || cl.Scope != c.want {
				t.Fatalf("claims %+v %v", cl, err)
			}
		}
		for _, sc := range []string{"profile:read", "audit:read admin", "audit:read  workspaces:read", " audit:read"} {
			if _, err := f.oauth.ClientCredentials(ctx, client, sc); code(err) != gatehouse.EInvalidScope {
				t.Errorf("scope %q: %v", sc, err)
			}
		}
		if evs := f.events(t, wa.ID, gatehouse.EventTokenIssued); len(evs) != 2 || evs[0].Actor != "client:"+client.ClientID {
			t.Fatalf("token.issued: %d", len(evs))
		}

		// Introspection.
		tokA, _ := f.oauth.ClientCredentials(ctx, client, "")
		tokB, _ := f.oauth.ClientCredentials(ctx, clientB, "")
		sessionTok, _, _ := f.keys.IssueSessionToken(ctx, alice.UserID, gatehouse.NewID(time.Now()))
		patA, err := f.pats.Create(ctx, alice, wa.ID, "ci", []string{"audit:read"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		patB, _ := f.pats.Create(ctx, bob, wb.ID, "ci", nil, time.Time{})
		fake, _ := token.NewPAT(nil)
		got, err := f.oauth.Introspect(ctx, client, tokA.AccessToken)
		if err != nil || !got.Active || got.ClientID != client.ClientID || got.WorkspaceID != wa.ID || got.Scope != tokA.Scope || got.TokenType != "access_token" {
			t.Fatalf("own access token: %+v %v", got, err)
		}
		got, err = f.oauth.Introspect(ctx, client, patA.Token.Reveal())
		if err != nil || !got.Active || got.Subject != alice.UserID || got.Scope != "audit:read" || got.TokenType != "personal_access_token" || got.JTI != patA.PAT.ID {
			t.Fatalf("own workspace's PAT: %+v %v", got, err)
		}
		for name, tok := range map[string]string{
			"foreign access token": tokB.AccessToken,
			"foreign PAT":          patB.Token.Reveal(),
			"session token":        sessionTok,
			"unknown PAT":          fake.Reveal(),
			"garbage":              "not-a-token",
			"empty":                "",
			"tampered":             tamper(tokA.AccessToken),
		} {
			got, err := f.oauth.Introspect(ctx, client, tok)
			if err != nil || got.Active || got.ClientID != "" || got.Subject != "" || got.Scope != "" {
				t.Errorf("%s: %+v %v", name, got, err)
			}
		}

		// Revocation: a foreign PAT is untouched, the own workspace's is deleted.
		if err := f.oauth.Revoke(ctx, client, patB.Token.Reveal()); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.oauth.Introspect(ctx, clientB, patB.Token.Reveal()); !got.Active {
			t.Fatal("a client revoked another workspace's PAT")
		}
		for _, tok := range []string{fake.Reveal(), "garbage", tokA.AccessToken} {
			if err := f.oauth.Revoke(ctx, client, tok); err != nil {
				t.Fatalf("revoke %q: %v", tok[:4], err)
			}
		}
		if err := f.oauth.Revoke(ctx, client, patA.Token.Reveal()); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.oauth.Introspect(ctx, client, patA.Token.Reveal()); got.Active {
			t.Fatal("revoked PAT still active")
		}
		if _, err := f.pats.Authenticate(ctx, patA.Token.Reveal()); err == nil {
			t.Fatal("revoked PAT still authenticates")
		}
		if evs := f.events(t, wa.ID, gatehouse.EventPATDeleted); len(evs) != 1 || evs[0].Actor != "client:"+client.ClientID {
			t.Fatalf("pat.deleted: %d", len(evs))
		}

		// A deleted client's tokens introspect as inactive.
		if err := f.clients.Delete(ctx, alice, wa.ID, client.ClientID); err != nil {
			t.Fatal(err)
		}
		other, _ := f.clients.Create(ctx, alice, wa.ID, auth.ClientSpec{Name: "other"})
		if got, _ := f.oauth.Introspect(ctx, other.Client, tokA.AccessToken); got.Active {
			t.Fatal("deleted client's token is active")
		}

		// A client without the grant.
		if _, err := f.oauth.ClientCredentials(ctx, &gatehouse.Client{ClientID: "ghc_x", WorkspaceID: wa.ID}, ""); code(err) != gatehouse.EUnauthorizedClient {
			t.Fatalf("client without the grant: %v", err)
		}
	})
}

// tamper changes one character in the middle of a JWT's signature (never
// only its last, which may carry padding bits).
func tamper(tok string) string {
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
