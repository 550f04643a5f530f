package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// startGatehouse runs a real gatehouse HTTP server (package httpapi, the
// real key, PAT, client and OAuth services and store) on a loopback port and
// returns its issuer URL, key service and core.
func startGatehouse(t *testing.T, s gatehouse.Store) (string, *auth.Keys, *auth.Core) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	core := auth.NewCore(s, log)
	kek, _ := kms.NewLocal(bytes.Repeat([]byte{9}, 32))
	keys, err := auth.NewKeys(core, auth.KeysConfig{Issuer: issuer, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := keys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse(issuer)
	pats := &auth.PATs{Core: core}
	h, err := httpapi.New(httpapi.Config{PublicURL: pub}, httpapi.Deps{Logger: log, Registry: prometheus.NewRegistry(),
		Keys: keys, PATs: pats, Clients: &auth.Clients{Core: core}, OAuth: &auth.OAuth{Core: core, Keys: keys},
		Workspaces: &auth.Workspaces{Core: core},
		Auth:       httpapi.BearerAuth{Credentials: &auth.Credentials{Keys: keys, PATs: pats}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer, keys, core
}

func hit(t *testing.T, base, tok string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/hello", nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// TestResourceServerEndToEnd: the example API, told to accept people's
// sessions (EXAMPLE_ALLOW_SESSIONS), accepts a gatehouse session token, keeps accepting a token signed before a rotation, accepts the new
// key's tokens, and refuses a revoked key's tokens once its JWKS cache
// renews (MaxCacheAge, 5 minutes by default; 1 second here).
func TestResourceServerEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		issuer, keys, core := startGatehouse(t, s)
		a := newTenant(t, s, core, "a@example.com")
		h, jwt, _, err := newHandler(verify.JWTConfig{Issuer: issuer, Audience: issuer, Workspace: a.ws, AllowSessions: true,
			MinRefreshInterval: 200 * time.Millisecond, MaxCacheAge: time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		api := httptest.NewServer(h)
		defer api.Close()

		user, sid := gatehouse.NewID(time.Now()), gatehouse.NewID(time.Now())
		before, _, err := keys.IssueSessionToken(ctx, user, sid)
		if err != nil {
			t.Fatal(err)
		}
		if st, v := hit(t, api.URL, before); st != 200 || v["hello"] != user || v["kind"] != "session" || v["session_id"] != sid {
			t.Fatalf("session token: %d %v", st, v)
		}
		if st, _ := hit(t, api.URL, ""); st != 401 {
			t.Fatalf("no token: %d", st)
		}

		// Emergency rotation: a new key signs at once.
		if _, err := keys.Rotate(ctx, true, "system"); err != nil {
			t.Fatal(err)
		}
		after, _, _ := keys.IssueSessionToken(ctx, user, sid)
		time.Sleep(250 * time.Millisecond) // past the refresh interval
		if st, v := hit(t, api.URL, after); st != 200 {
			t.Fatalf("token of the new key: %d %v", st, v)
		}
		if st, v := hit(t, api.URL, before); st != 200 {
			t.Fatalf("token signed before the rotation: %d %v", st, v)
		}

		// Revoke the old key: gatehouse refuses its tokens at once, the
		// resource server once its cache renews.
		h0, _ := token.PeekHeader(before)
		if err := keys.Revoke(ctx, h0.KID, "system"); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.VerifyAccessToken(before); err == nil {
			t.Fatal("gatehouse still accepts a revoked key's token")
		}
		time.Sleep(1100 * time.Millisecond)
		if st, _ := hit(t, api.URL, before); st != 401 {
			t.Fatalf("resource server accepts a revoked key's token: %d", st)
		}
		if st, _ := hit(t, api.URL, after); st != 200 {
			t.Fatalf("the new key's token after revocation of the old: %d", st)
		}
		if jwt.Cache().Fetches() > 6 {
			t.Fatalf("%d JWKS fetches", jwt.Cache().Fetches())
		}
	})
}

// tenant makes a user, a workspace they own, a PAT of theirs in it with
// scopes, and an OAuth client of the workspace for the resource server.
type tenant struct {
	user, ws, pat, patID, clientID, secret string
	p                                      *gatehouse.Principal
}

func newTenant(t *testing.T, s gatehouse.Store, core *auth.Core, email string, scopes ...string) tenant {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	u := &gatehouse.User{ID: gatehouse.NewID(now), Email: email, Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: u.ID, SessionID: testdb.NewSession(t, s, u.ID)}
	ws, err := (&auth.Workspaces{Core: core}).Create(ctx, p, "w")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := (&auth.PATs{Core: core}).Create(ctx, p, ws.ID, "ci", scopes, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := (&auth.Clients{Core: core}).CreateAsSystem(ctx, ws.ID, auth.ClientSpec{Name: "example-api"})
	if err != nil {
		t.Fatal(err)
	}
	return tenant{user: u.ID, ws: ws.ID, pat: cp.Token.Reveal(), patID: cp.PAT.ID, clientID: cc.Client.ClientID, secret: cc.Secret.Reveal(), p: p}
}

func hitPath(t *testing.T, base, path, tok string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestResourceServerPATs: the example API, given its own client's
// credentials, accepts PATs of that client's workspace with their scopes,
// refuses another workspace's, refuses a deleted PAT once its cached answer
// expires, and accepts its workspace's client tokens but not people's
// session tokens.
func TestResourceServerPATs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		issuer, keys, core := startGatehouse(t, s)
		a := newTenant(t, s, core, "a@example.com", "workspaces:read")
		b := newTenant(t, s, core, "b@example.com", "workspaces:read")
		const ttl = 300 * time.Millisecond
		h, _, pat, err := newHandler(verify.JWTConfig{Issuer: issuer, Audience: issuer, Workspace: a.ws},
			&verify.IntrospectionConfig{Issuer: issuer, Workspace: a.ws, ClientID: a.clientID, ClientSecret: a.secret, CacheTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		api := httptest.NewServer(h)
		defer api.Close()

		st, v := hit(t, api.URL, a.pat)
		if st != 200 || v["kind"] != "pat" || v["hello"] != a.user || v["workspace_id"] != a.ws || v["token_id"] != a.patID {
			t.Fatalf("own workspace's PAT: %d %v", st, v)
		}
		if sc, _ := v["scopes"].([]any); len(sc) != 1 || sc[0] != "workspaces:read" {
			t.Fatalf("scopes %v", v["scopes"])
		}
		if st := hitPath(t, api.URL, "/workspace", a.pat); st != 200 {
			t.Fatalf("PAT with workspaces:read on /workspace: %d", st)
		}
		// A PAT of the workspace without workspaces:read: in, but not there.
		narrow, err := (&auth.PATs{Core: core}).Create(ctx, a.p, a.ws, "narrow", []string{"audit:read"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := hit(t, api.URL, narrow.Token.Reveal()); st != 200 {
			t.Fatalf("narrow PAT on /hello: %d", st)
		}
		if st := hitPath(t, api.URL, "/workspace", narrow.Token.Reveal()); st != 403 {
			t.Fatalf("PAT without workspaces:read on /workspace: %d", st)
		}
		// Another workspace's PAT: foreign to this client.
		if st, _ := hit(t, api.URL, b.pat); st != 401 {
			t.Fatalf("other workspace's PAT: %d", st)
		}
		calls := pat.Introspections()
		bad := []byte(a.pat)
		bad[len(bad)-1] ^= 1 // still base62, wrong checksum
		if st, _ := hit(t, api.URL, string(bad)); st != 401 || pat.Introspections() != calls {
			t.Fatalf("bad checksum: %d, %d introspection calls", st, pat.Introspections()-calls)
		}

		// The workspace's client token works beside PATs; a person's
		// session token does not (EXAMPLE_ALLOW_SESSIONS is off).
		if st, v := hit(t, api.URL, clientToken(t, issuer, a)); st != 200 || v["kind"] != "client" || v["workspace_id"] != a.ws {
			t.Fatalf("own workspace's client token: %d %v", st, v)
		}
		user, sid := gatehouse.NewID(time.Now()), gatehouse.NewID(time.Now())
		at, _, err := keys.IssueSessionToken(ctx, user, sid)
		if err != nil {
			t.Fatal(err)
		}
		if st, v := hit(t, api.URL, at); st != 401 {
			t.Fatalf("session token: %d %v", st, v)
		}

		if err := (&auth.PATs{Core: core}).Delete(ctx, a.p, a.patID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(ttl + 50*time.Millisecond)
		if st, _ := hit(t, api.URL, a.pat); st != 401 {
			t.Fatalf("deleted PAT after the cache TTL: %d", st)
		}
	})
}

// clientToken gets a client_credentials access token for tn's client from
// gatehouse's token endpoint.
func clientToken(t *testing.T, issuer string, tn tenant) string {
	t.Helper()
	req, _ := http.NewRequest("POST", issuer+"/v1/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(tn.clientID), url.QueryEscape(tn.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.AccessToken == "" {
		t.Fatalf("token endpoint: %d %v", resp.StatusCode, err)
	}
	return v.AccessToken
}

// TestResourceServerWorkspacePin: the example API of workspace a accepts
// a's client tokens and PATs, and refuses b's client tokens and PATs and a
// person's session token (401); told to accept sessions, it takes the
// session token, still not b's tokens.
func TestResourceServerWorkspacePin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		issuer, keys, core := startGatehouse(t, s)
		a := newTenant(t, s, core, "a@example.com", "workspaces:read")
		b := newTenant(t, s, core, "b@example.com", "workspaces:read")
		session, _, err := keys.IssueSessionToken(ctx, a.user, a.p.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		aClient, bClient := clientToken(t, issuer, a), clientToken(t, issuer, b)

		for _, allowSessions := range []bool{false, true} {
			h, _, _, err := newHandler(verify.JWTConfig{Issuer: issuer, Audience: issuer, Workspace: a.ws, AllowSessions: allowSessions},
				&verify.IntrospectionConfig{Issuer: issuer, Workspace: a.ws, ClientID: a.clientID, ClientSecret: a.secret})
			if err != nil {
				t.Fatal(err)
			}
			api := httptest.NewServer(h)
			sessionWant := map[bool]int{false: 401, true: 200}[allowSessions]
			for _, tc := range []struct {
				name, tok string
				want      int
			}{
				{"own workspace's client token", aClient, 200},
				{"own workspace's PAT", a.pat, 200},
				{"another workspace's client token", bClient, 401},
				{"another workspace's PAT", b.pat, 401},
				{"a person's session token", session, sessionWant},
			} {
				if st, v := hit(t, api.URL, tc.tok); st != tc.want {
					t.Errorf("sessions allowed %v, %s: %d %v, want %d", allowSessions, tc.name, st, v, tc.want)
				}
			}
			api.Close()
		}

		// The configuration: no workspace, no API.
		if _, _, _, err := newHandler(verify.JWTConfig{Issuer: issuer, Audience: issuer}, nil); err == nil {
			t.Fatal("a handler without a workspace")
		}
	})
}

func TestLoadConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	base := map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com", "EXAMPLE_WORKSPACE_ID": "ws-1",
		"GATEHOUSE_CLIENT_ID": "c", "GATEHOUSE_CLIENT_SECRET": "s"}
	c, err := loadConfig(env(base))
	if err != nil || c.jwt.Workspace != "ws-1" || c.jwt.AnyWorkspace || c.jwt.AllowSessions || c.jwt.Audience != "https://auth.example.com" ||
		c.pat == nil || c.pat.Workspace != "ws-1" || c.pat.AnyWorkspace || c.addr != "127.0.0.1:9090" {
		t.Fatalf("%+v %v", c, err)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		m[k] = v
		return m
	}
	if c, err := loadConfig(env(with("EXAMPLE_ALLOW_SESSIONS", "true"))); err != nil || !c.jwt.AllowSessions {
		t.Fatalf("EXAMPLE_ALLOW_SESSIONS=true: %+v %v", c.jwt, err)
	}
	for k, v := range map[string]string{"EXAMPLE_WORKSPACE_ID": "", "GATEHOUSE_ISSUER": "", "EXAMPLE_ALLOW_SESSIONS": "maybe", "EXAMPLE_PAT_CACHE_TTL": "soon"} {
		if _, err := loadConfig(env(with(k, v))); err == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
}
