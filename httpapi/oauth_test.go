package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// withOAuth wires the real OAuth client services over store; it must come
// after newCredsEnv's own option, which makes the keys.
func withOAuth(store gatehouse.Store) option {
	return func(_ *Config, d *Deps) {
		core := auth.NewCore(store, d.Logger)
		d.Clients = &auth.Clients{Core: core}
		d.OAuth = &auth.OAuth{Core: core, Keys: d.Keys}
	}
}

// oauthClient is a registered client and its secret.
type oauthClient struct{ id, secret, ws string }

// newClient makes a workspace owned by a new user and a client in it through
// the HTTP API; it returns the client and the owner's session token.
func newClient(t *testing.T, ce *credsEnv, s gatehouse.Store, email string, scopes ...string) (oauthClient, string) {
	t.Helper()
	owner := ce.session(t, createUser(t, s, email, false))
	st, ws := ce.call(t, "POST", "/v1/workspaces", owner, `{"name":"w"}`)
	if st != 201 {
		t.Fatalf("workspace: %d %v", st, ws)
	}
	sc, _ := json.Marshal(scopes)
	st, c := ce.call(t, "POST", "/v1/workspaces/"+ws["id"].(string)+"/clients", owner, `{"name":"svc","grant_types":["client_credentials"],"scopes":`+string(sc)+`}`)
	if st != 201 {
		t.Fatalf("client: %d %v", st, c)
	}
	return oauthClient{id: c["client_id"].(string), secret: c["client_secret"].(string), ws: ws["id"].(string)}, owner
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// form posts an x-www-form-urlencoded body, with headers as name, value pairs.
func form(h http.Handler, path, body string, headers ...string) *httptest.ResponseRecorder {
	r := req("POST", path, body, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
	return do(h, r)
}

func jsonOf(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return v
}

func TestOAuthTokenEndpoint(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ce := newCredsEnv(t, s, withOAuth(s))
		c, _ := newClient(t, ce, s, "owner@example.com", "audit:read", "workspaces:read")
		basic := basicAuth(c.id, c.secret)
		post := "&client_id=" + url.QueryEscape(c.id) + "&client_secret=" + url.QueryEscape(c.secret)

		for _, tc := range []struct {
			name, body string
			headers    []string
			status     int
			code       string
		}{
			{"both methods", "grant_type=client_credentials" + post, []string{"Authorization", basic}, 400, "invalid_request"},
			{"no client authentication", "grant_type=client_credentials", nil, 401, "invalid_client"},
			{"client_id without secret", "grant_type=client_credentials&client_id=" + c.id, nil, 401, "invalid_client"},
			{"wrong secret (basic)", "grant_type=client_credentials", []string{"Authorization", basicAuth(c.id, "ghs_wrong")}, 401, "invalid_client"},
			{"wrong secret (post)", "grant_type=client_credentials&client_id=" + c.id + "&client_secret=nope", nil, 401, "invalid_client"},
			{"Bearer instead of Basic", "grant_type=client_credentials", []string{"Authorization", "Bearer abc"}, 401, "invalid_client"},
			{"basic that does not parse", "grant_type=client_credentials", []string{"Authorization", "Basic !!!"}, 401, "invalid_client"},
			{"other client_id in the body", "grant_type=client_credentials&client_id=00000000-0000-4000-8000-000000000000", []string{"Authorization", basic}, 400, "invalid_request"},
			{"password grant", "grant_type=password&username=a&password=b", []string{"Authorization", basic}, 400, "unsupported_grant_type"},
			{"password grant, no client", "grant_type=password&username=a&password=b", nil, 400, "unsupported_grant_type"},
			{"unknown grant", "grant_type=urn:example:x", []string{"Authorization", basic}, 400, "unsupported_grant_type"},
			{"refresh_token grant, client not registered for it", "grant_type=refresh_token&refresh_token=x", []string{"Authorization", basic}, 400, "unauthorized_client"},
			{"authorization_code grant, client not registered for it", "grant_type=authorization_code&code=x", []string{"Authorization", basic}, 400, "unauthorized_client"},
			{"no grant", "scope=audit:read", []string{"Authorization", basic}, 400, "invalid_request"},
			{"grant twice", "grant_type=client_credentials&grant_type=client_credentials", []string{"Authorization", basic}, 400, "invalid_request"},
			{"scope beyond the client's", "grant_type=client_credentials&scope=profile:read", []string{"Authorization", basic}, 400, "invalid_scope"},
			{"unknown scope", "grant_type=client_credentials&scope=root", []string{"Authorization", basic}, 400, "invalid_scope"},
		} {
			w := form(ce.s, "/v1/oauth/token", tc.body, tc.headers...)
			if w.Code != tc.status || errBody(t, w).Error != tc.code {
				t.Errorf("%s: %d %s, want %d %s", tc.name, w.Code, w.Body, tc.status, tc.code)
			}
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
				t.Errorf("%s: Cache-Control %q, Pragma %q", tc.name, w.Header().Get("Cache-Control"), w.Header().Get("Pragma"))
			}
			basicTried := len(tc.headers) > 0 && tc.headers[0] == "Authorization"
			if got := w.Header().Get("WWW-Authenticate"); tc.status == 401 && basicTried && got != `Basic realm="gatehouse"` {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, got)
			}
		}
		if w := do(ce.s, req("POST", "/v1/oauth/token", `{"grant_type":"client_credentials"}`, "Content-Type", "application/json", "Authorization", basic)); w.Code != 415 {
			t.Fatalf("JSON body: %d", w.Code)
		}

		for _, tc := range []struct{ name, body, auth, scope string }{
			{"basic", "grant_type=client_credentials", basic, "audit:read workspaces:read"},
			{"post", "grant_type=client_credentials" + post, "", "audit:read workspaces:read"},
			{"narrower scope", "grant_type=client_credentials&scope=workspaces%3Aread", basic, "workspaces:read"},
		} {
			var hs []string
			if tc.auth != "" {
				hs = []string{"Authorization", tc.auth}
			}
			w := form(ce.s, "/v1/oauth/token", tc.body, hs...)
			if w.Code != 200 || w.Header().Get("Pragma") != "no-cache" || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: %d %s", tc.name, w.Code, w.Body)
			}
			v := jsonOf(t, w)
			if v["token_type"] != "Bearer" || v["scope"] != tc.scope || v["expires_in"].(float64) <= 0 || v["refresh_token"] != nil {
				t.Fatalf("%s: %v", tc.name, v)
			}
			cl, err := ce.keys.VerifyAccessToken(v["access_token"].(string))
			if err != nil || cl.Subject != c.id || cl.ClientID != c.id || cl.WorkspaceID != c.ws || cl.SessionID != "" || cl.Scope != tc.scope {
				t.Fatalf("%s: claims %+v %v", tc.name, cl, err)
			}
		}
		if n := countEventsIn(t, s, c.ws, gatehouse.EventTokenIssued); n != 3 {
			t.Fatalf("%d token.issued events, want 3", n)
		}
		if n := countEventsIn(t, s, c.ws, gatehouse.EventLoginFailed); n != 2 {
			t.Fatalf("%d login.failed events in the client's workspace, want 2", n)
		}
	})
}

func countEventsIn(t *testing.T, s gatehouse.Store, ws string, typ gatehouse.EventType) int {
	t.Helper()
	var n int
	err := s.Tx(context.Background(), gatehouse.Scope{WorkspaceID: ws}, func(tx gatehouse.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{WorkspaceID: ws, Type: typ, Limit: 200})
		n = len(evs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOAuthIntrospectAndRevoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ce := newCredsEnv(t, s, withOAuth(s))
		a, ownerA := newClient(t, ce, s, "a@example.com", "audit:read")
		b, ownerB := newClient(t, ce, s, "b@example.com", "audit:read")
		token := func(c oauthClient) string {
			w := form(ce.s, "/v1/oauth/token", "grant_type=client_credentials", "Authorization", basicAuth(c.id, c.secret))
			if w.Code != 200 {
				t.Fatalf("token: %d %s", w.Code, w.Body)
			}
			return jsonOf(t, w)["access_token"].(string)
		}
		tokA, tokB := token(a), token(b)
		st, patA := ce.call(t, "POST", "/v1/tokens", ownerA, `{"name":"ci","workspace_id":"`+a.ws+`"}`)
		if st != 201 {
			t.Fatalf("pat: %d", st)
		}
		_, patB := ce.call(t, "POST", "/v1/tokens", ownerB, `{"name":"ci","workspace_id":"`+b.ws+`"}`)
		introspect := func(c oauthClient, tok string) *httptest.ResponseRecorder {
			return form(ce.s, "/v1/oauth/introspect", "token="+url.QueryEscape(tok)+"&token_type_hint=access_token", "Authorization", basicAuth(c.id, c.secret))
		}

		w := introspect(a, tokA)
		v := jsonOf(t, w)
		if w.Code != 200 || v["active"] != true || v["client_id"] != a.id || v["sub"] != a.id || v["workspace_id"] != a.ws || v["scope"] != "audit:read" ||
			v["iss"] != "https://auth.example.com" || v["exp"] == nil || w.Header().Get("Pragma") != "no-cache" {
			t.Fatalf("own token: %d %v", w.Code, v)
		}
		if v := jsonOf(t, introspect(a, patA["token"].(string))); v["active"] != true || v["token_kind"] != "personal_access_token" {
			t.Fatalf("own workspace's PAT: %v", v)
		}
		for name, tok := range map[string]string{
			"foreign access token": tokB,
			"foreign PAT":          patB["token"].(string),
			"a person's session":   ownerA,
			"garbage":              "x",
		} {
			w := introspect(a, tok)
			if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"active":false}` {
				t.Errorf("%s: %d %s", name, w.Code, w.Body)
			}
		}
		if w := form(ce.s, "/v1/oauth/introspect", "token="+tokA, "Authorization", basicAuth(a.id, "ghs_wrong")); w.Code != 401 || errBody(t, w).Error != "invalid_client" {
			t.Fatalf("introspect with a wrong secret: %d %s", w.Code, w.Body)
		}
		if w := form(ce.s, "/v1/oauth/introspect", "", "Authorization", basicAuth(a.id, a.secret)); w.Code != 400 || errBody(t, w).Error != "invalid_request" {
			t.Fatalf("introspect without a token: %d %s", w.Code, w.Body)
		}

		revoke := func(c oauthClient, tok string) int {
			return form(ce.s, "/v1/oauth/revoke", "token="+url.QueryEscape(tok), "Authorization", basicAuth(c.id, c.secret)).Code
		}
		if revoke(a, patB["token"].(string)) != 200 || revoke(a, "unknown") != 200 || revoke(a, tokA) != 200 {
			t.Fatal("revoke of a foreign or unknown token is not 200")
		}
		if st, _ := ce.call(t, "GET", "/v1/workspaces/"+b.ws, patB["token"].(string), ""); st != 200 {
			t.Fatalf("a foreign client revoked a PAT: %d", st)
		}
		if revoke(a, patA["token"].(string)) != 200 {
			t.Fatal("revoke")
		}
		if st, _ := ce.call(t, "GET", "/v1/workspaces/"+a.ws, patA["token"].(string), ""); st != 401 {
			t.Fatalf("revoked PAT: %d", st)
		}
		if w := form(ce.s, "/v1/oauth/revoke", "token=x", "Authorization", basicAuth(a.id, "bad")); w.Code != 401 {
			t.Fatalf("revoke with a wrong secret: %d", w.Code)
		}
	})
}

func TestClientManagementRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ce := newCredsEnv(t, s, withOAuth(s))
		c, owner := newClient(t, ce, s, "owner@example.com", "audit:read")
		stranger := ce.session(t, createUser(t, s, "stranger@example.com", false))
		base := "/v1/workspaces/" + c.ws + "/clients"

		st, list := ce.call(t, "GET", base, owner, "")
		if st != 200 || len(list["clients"].([]any)) != 1 {
			t.Fatalf("list: %d %v", st, list)
		}
		one := list["clients"].([]any)[0].(map[string]any)
		if one["client_id"] != c.id || one["client_secret"] != nil {
			t.Fatalf("listed client %v", one)
		}
		for _, tc := range []struct{ method, path, bearer, body string }{
			{"GET", base, stranger, ""},
			{"POST", base, stranger, `{"name":"x"}`},
			{"GET", base + "/" + c.id, stranger, ""},
			{"DELETE", base + "/" + c.id, stranger, ""},
			{"POST", base + "/" + c.id + "/secret", stranger, ""},
			{"GET", base + "/not-an-id", owner, ""},
		} {
			if st, v := ce.call(t, tc.method, tc.path, tc.bearer, tc.body); st != 404 || v["error"] != "not_found" {
				t.Errorf("%s %s: %d %v", tc.method, tc.path, st, v)
			}
		}
		if st, v := ce.call(t, "POST", base, owner, `{"name":"x","redirect_uris":["http://app.example.com/cb"]}`); st != 400 || v["error"] != "invalid_request" {
			t.Fatalf("http redirect_uris: %d %v", st, v)
		}
		if st, v := ce.call(t, "POST", base, owner, `{"name":"spa","public":true,"redirect_uris":["http://[::1]/cb"]}`); st != 201 || v["client_secret"] != nil ||
			v["public"] != true || fmt.Sprint(v["redirect_uris"]) != "[http://[::1]/cb]" {
			t.Fatalf("public client: %d %v", st, v)
		}
		if st, v := ce.call(t, "POST", base, owner, `{"name":"x","scopes":["root"]}`); st != 400 || v["error"] != "invalid_scope" {
			t.Fatalf("unknown scope: %d %v", st, v)
		}
		st, got := ce.call(t, "GET", base+"/"+c.id, owner, "")
		if st != 200 || got["client_id"] != c.id || got["secret_rotated_at"] != nil {
			t.Fatalf("get: %d %v", st, got)
		}
		st, rot := ce.call(t, "POST", base+"/"+c.id+"/secret", owner, "")
		if st != 200 || rot["client_secret"] == c.secret || rot["secret_rotated_at"] == nil {
			t.Fatalf("rotate: %d %v", st, rot)
		}
		if w := form(ce.s, "/v1/oauth/token", "grant_type=client_credentials", "Authorization", basicAuth(c.id, c.secret)); w.Code != 401 {
			t.Fatalf("old secret after rotation: %d", w.Code)
		}
		if w := form(ce.s, "/v1/oauth/token", "grant_type=client_credentials", "Authorization", basicAuth(c.id, rot["client_secret"].(string))); w.Code != 200 {
			t.Fatalf("new secret: %d", w.Code)
		}
		if st, _ := ce.call(t, "DELETE", base+"/"+c.id, owner, ""); st != 204 {
			t.Fatalf("delete: %d", st)
		}
		if st, _ := ce.call(t, "GET", base+"/"+c.id, owner, ""); st != 404 {
			t.Fatalf("deleted client: %d", st)
		}
		for typ, n := range map[gatehouse.EventType]int{gatehouse.EventOAuthClientCreated: 2, gatehouse.EventOAuthClientSecretRotate: 1, gatehouse.EventOAuthClientDeleted: 1} {
			if got := countEventsIn(t, s, c.ws, typ); got != n {
				t.Errorf("%s: %d events, want %d", typ, got, n)
			}
		}
	})
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	var docs []map[string]any
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		w := do(e.s, req("GET", p, ""))
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d", p, w.Code)
		}
		docs = append(docs, jsonOf(t, w))
	}
	a, b := docs[0], docs[1]
	want := map[string]any{
		"issuer":                 "https://auth.example.com",
		"token_endpoint":         "https://auth.example.com/v1/oauth/token",
		"jwks_uri":               "https://auth.example.com/.well-known/jwks.json",
		"introspection_endpoint": "https://auth.example.com/v1/oauth/introspect",
		"revocation_endpoint":    "https://auth.example.com/v1/oauth/revoke",
	}
	for k, v := range want {
		if a[k] != v || b[k] != v {
			t.Errorf("%s: %v and %v, want %v", k, a[k], b[k], v)
		}
	}
	j := func(v any) string { s, _ := json.Marshal(v); return string(s) }
	if j(a["grant_types_supported"]) != `["authorization_code","client_credentials","refresh_token"]` ||
		j(a["grant_types_supported"]) != j(auth.GrantTypes()) ||
		j(a["token_endpoint_auth_methods_supported"]) != `["client_secret_basic","client_secret_post","none"]` ||
		j(a["revocation_endpoint_auth_methods_supported"]) != `["client_secret_basic","client_secret_post","none"]` ||
		j(a["introspection_endpoint_auth_methods_supported"]) != `["client_secret_basic","client_secret_post"]` ||
		j(a["scopes_supported"]) != j(append(append([]string(nil), auth.OIDCScopes...), auth.ClientScopes...)) || j(a["response_types_supported"]) != `["code"]` ||
		j(a["code_challenge_methods_supported"]) != `["S256"]` || a["authorization_endpoint"] != "https://auth.example.com/v1/oauth/authorize" ||
		a["authorization_response_iss_parameter_supported"] != true {
		t.Fatalf("metadata %v", a)
	}
	if j(a) != j(b) {
		t.Fatal("the two discovery documents differ")
	}
}

// TestGrantTypesAgree: the token endpoint's dispatch, the grants a client
// may be registered with and discovery read one registry
// (auth.GrantTypes): every grant type discovery lists is one a client can
// be registered for and one the token endpoint dispatches (it gets past
// unsupported_grant_type to the client's registration), and a grant type
// outside the registry is refused by all three.
func TestGrantTypesAgree(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ce := newCredsEnv(t, s, withOAuth(s))
		c, owner := newClient(t, ce, s, "owner@example.com", "audit:read")
		var doc struct {
			Grants []string `json:"grant_types_supported"`
		}
		w := do(ce.s, req("GET", "/.well-known/oauth-authorization-server", ""))
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || len(doc.Grants) == 0 {
			t.Fatalf("discovery: %s %v", w.Body, err)
		}
		if fmt.Sprint(doc.Grants) != fmt.Sprint(auth.GrantTypes()) {
			t.Fatalf("discovery lists %v, the registry %v", doc.Grants, auth.GrantTypes())
		}
		basic := basicAuth(c.id, c.secret)
		for _, gt := range doc.Grants {
			body := `{"name":"g","grant_types":["` + gt + `"]}`
			if gt != gatehouse.GrantClientCredentials {
				body = `{"name":"g","grant_types":["` + gt + `","authorization_code"],"redirect_uris":["https://app.example.com/cb"]}`
			}
			if st, v := ce.call(t, "POST", "/v1/workspaces/"+c.ws+"/clients", owner, body); st != 201 {
				t.Errorf("registering a client for %s: %d %v", gt, st, v)
			}
			w := form(ce.s, "/v1/oauth/token", "grant_type="+url.QueryEscape(gt), "Authorization", basic)
			// c is registered for client_credentials only.
			if gt == gatehouse.GrantClientCredentials && w.Code != 200 ||
				gt != gatehouse.GrantClientCredentials && (w.Code != 400 || errBody(t, w).Error != "unauthorized_client") {
				t.Errorf("token endpoint, %s: %d %s", gt, w.Code, w.Body)
			}
		}
		for _, gt := range []string{"password", "urn:ietf:params:oauth:grant-type:device_code", "implicit"} {
			if w := form(ce.s, "/v1/oauth/token", "grant_type="+url.QueryEscape(gt), "Authorization", basic); w.Code != 400 || errBody(t, w).Error != "unsupported_grant_type" {
				t.Errorf("token endpoint, %s: %d %s", gt, w.Code, w.Body)
			}
			if st, v := ce.call(t, "POST", "/v1/workspaces/"+c.ws+"/clients", owner, `{"name":"g","grant_types":["`+gt+`"]}`); st != 400 || v["error"] != "invalid_request" {
				t.Errorf("registering a client for %s: %d %v", gt, st, v)
			}
		}
	})
}

// A flood of token requests for one client is refused by oauth_token.client
// before the client is looked up or its secret compared (no store
// transaction runs); wrong secrets count against the client's failed-auth
// ceiling, past which even the right secret is refused up front; and
// successful requests never count.
func TestOAuthFloodIsRefusedBeforeTheSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		store := &countingStore{Store: db}
		ps, err := ratelimit.ParsePolicies("oauth_token.ip=10000/1m, oauth_token.client=20/1m, introspect.client=10000/1m, failed_auth.ip=10000/15m, failed_auth.account=5/15m")
		if err != nil {
			t.Fatal(err)
		}
		b := memory.New(memory.Options{})
		fa := ratelimit.NewFailedAuth(b, ps)
		ce := newCredsEnv(t, db, withOAuth(store), func(_ *Config, d *Deps) {
			d.RateLimits, d.FailedAuth = ratelimit.NewLimits(b, ps), fa
		})
		c, _ := newClient(t, ce, db, "owner@example.com", "audit:read")
		good := basicAuth(c.id, c.secret)

		// Successes never count.
		for i := 0; i < 20; i++ {
			if w := form(ce.s, "/v1/oauth/token", "grant_type=client_credentials", "Authorization", good); w.Code != 200 {
				t.Fatalf("request %d: %d %s", i+1, w.Code, w.Body)
			}
		}
		if v, err := fa.Check(context.Background(), "192.0.2.1", "client:"+c.id); err != nil || v.IP.Count != 0 || v.Account.Count != 0 {
			t.Fatalf("after 20 successes: %+v %v", v, err)
		}
		txs := store.txs.Load()
		var wg sync.WaitGroup
		var refused atomic.Int64
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := form(ce.s, "/v1/oauth/token", "grant_type=client_credentials", "Authorization", good)
				if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") != "" && w.Header().Get("Pragma") == "no-cache" {
					refused.Add(1)
				}
			}()
		}
		wg.Wait()
		if refused.Load() != 100 || store.txs.Load() != txs {
			t.Fatalf("%d of 100 refused; %d transactions past the limit, want 100 and 0", refused.Load(), store.txs.Load()-txs)
		}

		// Wrong secrets at introspection count against the client's ceiling;
		// past it, the right secret is refused before any look-up.
		for i := 0; i < 5; i++ {
			if w := form(ce.s, "/v1/oauth/introspect", "token=x", "Authorization", basicAuth(c.id, "ghs_wrong")); w.Code != 401 {
				t.Fatalf("wrong secret %d: %d", i+1, w.Code)
			}
		}
		if n := countEvents(ce.rec, gatehouse.EventFailedAuthCeiling); n != 1 {
			t.Fatalf("%d failed_auth.ceiling_reached events, want 1", n)
		}
		txs = store.txs.Load()
		if w := form(ce.s, "/v1/oauth/introspect", "token=x", "Authorization", good); w.Code != 429 || errBody(t, w).Error != "rate_limited" {
			t.Fatalf("right secret past the ceiling: %d %s", w.Code, w.Body)
		}
		if store.txs.Load() != txs {
			t.Fatal("a request past the ceiling looked the client up")
		}
	})
}
