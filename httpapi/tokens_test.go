package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
)

// credsEnv is a server with the real credentials: signing keys, JWT
// sessions and PATs over a real store.
type credsEnv struct {
	*testEnv
	store gatehouse.Store
	keys  *auth.Keys
}

func newCredsEnv(t *testing.T, s gatehouse.Store, opts ...option) *credsEnv {
	t.Helper()
	kek, err := kms.NewLocal(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ce := &credsEnv{store: s}
	e := newEnv(t, append([]option{func(_ *Config, d *Deps) {
		core := auth.NewCore(s, d.Logger)
		keys, err := auth.NewKeys(core, auth.KeysConfig{Issuer: "https://auth.example.com", KEK: kek})
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		ce.keys = keys
		pats := &auth.PATs{Core: core}
		d.Workspaces = &auth.Workspaces{Core: core}
		d.AuditLog = &auth.AuditLog{Core: core}
		d.Keys, d.PATs = keys, pats
		d.Auth = BearerAuth{Credentials: &auth.Credentials{Keys: keys, PATs: pats}}
	}}, opts...)...)
	ce.testEnv = e
	return ce
}

// session returns an access token for a new session of userID.
func (ce *credsEnv) session(t *testing.T, userID string) string {
	t.Helper()
	tok, _, err := ce.keys.IssueAccessToken(context.Background(), token.Claims{Subject: userID, ClientID: "gatehouse", SessionID: testdb.NewSession(t, ce.store, userID)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (ce *credsEnv) call(t *testing.T, method, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := do(ce.s, r)
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body.String(), err)
		}
	}
	return w.Code, out
}

func TestTokenRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ce := newCredsEnv(t, s)
		alice, bob := createUser(t, s, "alice@example.com", false), createUser(t, s, "bob@example.com", false)
		as, bs := ce.session(t, alice), ce.session(t, bob)

		st, ws := ce.call(t, "POST", "/v1/workspaces", as, `{"name":"Acme"}`)
		if st != 201 {
			t.Fatalf("create workspace with a session JWT: %d %v", st, ws)
		}
		wid := ws["id"].(string)

		// Create: the secret is in this response only.
		st, created := ce.call(t, "POST", "/v1/tokens", as, `{"name":"ci","workspace_id":"`+wid+`"}`)
		if st != 201 {
			t.Fatalf("create token: %d %v", st, created)
		}
		secret, _ := created["token"].(string)
		if _, err := token.ParsePAT(secret); err != nil || !strings.HasPrefix(secret, created["prefix"].(string)) {
			t.Fatalf("token %q prefix %v", secret, created["prefix"])
		}
		if sc := created["scopes"].([]any); len(sc) != 2 {
			t.Fatalf("default scopes %v", sc)
		}
		id := created["id"].(string)

		// The PAT works, where its scopes reach.
		if st, body := ce.call(t, "GET", "/v1/workspaces/"+wid, secret, ""); st != 200 {
			t.Fatalf("GET workspace with the PAT: %d %v", st, body)
		}
		// Listing and reading never show the secret; last_used_at is set.
		st, list := ce.call(t, "GET", "/v1/tokens", as, "")
		raw, _ := json.Marshal(list)
		if st != 200 || strings.Contains(string(raw), secret[10:]) || len(list["tokens"].([]any)) != 1 {
			t.Fatalf("list: %d %s", st, raw)
		}
		st, one := ce.call(t, "GET", "/v1/tokens/"+id, as, "")
		if st != 200 || one["last_used_at"] == nil || one["token"] != nil {
			t.Fatalf("get: %d %v", st, one)
		}
		firstUse := one["last_used_at"]
		ce.call(t, "GET", "/v1/workspaces/"+wid, secret, "")
		if _, again := ce.call(t, "GET", "/v1/tokens/"+id, as, ""); again["last_used_at"] != firstUse {
			t.Fatalf("last_used_at written twice within a minute: %v then %v", firstUse, again["last_used_at"])
		}

		// A PAT cannot mint or manage PATs.
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v1/tokens", `{"name":"x","workspace_id":"` + wid + `"}`},
			{"GET", "/v1/tokens", ""},
			{"PATCH", "/v1/tokens/" + id, `{"name":"y"}`},
			{"DELETE", "/v1/tokens/" + id, ""},
		} {
			if st, body := ce.call(t, c.method, c.path, secret, c.body); st != 403 || body["error"] != "forbidden" {
				t.Fatalf("%s %s with a PAT: %d %v", c.method, c.path, st, body)
			}
		}
		// Bad input.
		for _, c := range []struct {
			body string
			st   int
			code string
		}{
			{`{"name":"x","workspace_id":"` + wid + `","scopes":["admin:all"]}`, 400, "invalid_scope"},
			{`{"name":"x","workspace_id":"` + wid + `","expires_at":"2001-01-01T00:00:00Z"}`, 400, "invalid_request"},
			{`{"name":"x","workspace_id":"` + wid + `","expires_at":"` + time.Now().Add(400*24*time.Hour).Format(time.RFC3339) + `"}`, 400, "invalid_request"},
			{`{"name":"","workspace_id":"` + wid + `"}`, 400, "invalid_request"},
			{`{"name":"x","workspace_id":"` + wid + `","extra":1}`, 400, "invalid_request"},
			{`{"name":"x","workspace_id":"not-a-uuid"}`, 404, "not_found"},
		} {
			if st, body := ce.call(t, "POST", "/v1/tokens", as, c.body); st != c.st || body["error"] != c.code {
				t.Fatalf("POST %s: %d %v, want %d %s", c.body, st, body, c.st, c.code)
			}
		}
		// Another user: not a member of the workspace, and alice's token is not theirs.
		if st, _ := ce.call(t, "POST", "/v1/tokens", bs, `{"name":"x","workspace_id":"`+wid+`"}`); st != 404 {
			t.Fatalf("non-member creates a token: %d", st)
		}
		if st, _ := ce.call(t, "GET", "/v1/tokens/"+id, bs, ""); st != 404 {
			t.Fatalf("other user's token: %d", st)
		}
		if st, _ := ce.call(t, "DELETE", "/v1/tokens/"+id, bs, ""); st != 404 {
			t.Fatalf("other user deletes a token: %d", st)
		}

		// Patch: scopes narrowed, expiry only earlier.
		soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		later := time.Now().Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339)
		if st, body := ce.call(t, "PATCH", "/v1/tokens/"+id, as, `{"expires_at":"`+later+`"}`); st != 400 {
			t.Fatalf("expiry moved later: %d %v", st, body)
		}
		st, patched := ce.call(t, "PATCH", "/v1/tokens/"+id, as, `{"name":"ci-2","scopes":["profile:read"],"expires_at":"`+soon+`"}`)
		if st != 200 || patched["name"] != "ci-2" || len(patched["scopes"].([]any)) != 1 {
			t.Fatalf("patch: %d %v", st, patched)
		}
		if st, body := ce.call(t, "GET", "/v1/workspaces/"+wid, secret, ""); st != 403 {
			t.Fatalf("PAT without workspaces:read: %d %v", st, body)
		}

		// Malformed, bad checksum, in a query: refused.
		last := "a"
		if secret[len(secret)-1] == 'a' {
			last = "b"
		}
		bad := secret[:len(secret)-1] + last
		for _, b := range []string{bad, "gth_short", secret + "x"} {
			if st, _ := ce.call(t, "GET", "/v1/tokens", b, ""); st != 401 {
				t.Fatalf("bearer %q: %d", b, st)
			}
		}
		if st, _ := ce.call(t, "GET", "/v1/workspaces/"+wid+"?access_token="+secret, "", ""); st != 401 {
			t.Fatalf("PAT in a query string: %d", st)
		}

		// Delete: the token fails at once.
		if st, _ := ce.call(t, "DELETE", "/v1/tokens/"+id, as, ""); st != 204 {
			t.Fatalf("delete: %d", st)
		}
		if st, _ := ce.call(t, "GET", "/v1/workspaces", secret, ""); st != 401 {
			t.Fatalf("deleted PAT: %d", st)
		}
		if st, _ := ce.call(t, "GET", "/v1/tokens/"+id, as, ""); st != 404 {
			t.Fatalf("deleted token readable: %d", st)
		}

		// The audit trail has the three PAT events, and no secret.
		var types []string
		err := s.Tx(context.Background(), gatehouse.Scope{WorkspaceID: wid}, func(tx gatehouse.Tx) error {
			evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{WorkspaceID: wid, Limit: 100})
			for _, ev := range evs {
				types = append(types, string(ev.Type))
				b, _ := json.Marshal(ev)
				if strings.Contains(string(b), secret[4:]) {
					t.Errorf("secret in audit event %s", b)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(types, ",")
		for _, want := range []string{"pat.created", "pat.updated", "pat.deleted"} {
			if !strings.Contains(all, want) {
				t.Fatalf("audit events %s lack %s", all, want)
			}
		}
	})
}

func TestJWKSRouteAndRevocation(t *testing.T) {
	ce := newCredsEnv(t, testdb.SQLite(t))
	get := func(etag string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		return do(ce.s, r)
	}
	w := get("")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=3600" || w.Header().Get("ETag") == "" {
		t.Fatalf("JWKS: %d %v", w.Code, w.Header())
	}
	keys, err := token.ParseJWKS(w.Body.Bytes())
	if err != nil || len(keys) != 1 {
		t.Fatalf("JWKS body %s: %v", w.Body, err)
	}
	if w2 := get(w.Header().Get("ETag")); w2.Code != 304 {
		t.Fatalf("If-None-Match: %d", w2.Code)
	}

	alice := createUser(t, ce.store, "alice@example.com", false)
	tok := ce.session(t, alice)
	if st, _ := ce.call(t, "GET", "/v1/workspaces", tok, ""); st != 200 {
		t.Fatalf("session token: %d", st)
	}
	h, _ := token.PeekHeader(tok)
	if err := ce.keys.Revoke(context.Background(), h.KID, "system"); err != nil {
		t.Fatal(err)
	}
	if st, body := ce.call(t, "GET", "/v1/workspaces", tok, ""); st != 401 || body["error"] != "unauthorized" {
		t.Fatalf("token of a revoked key: %d %v", st, body)
	}
	w3 := get(w.Header().Get("ETag"))
	if w3.Code != 200 || strings.Contains(w3.Body.String(), h.KID) {
		t.Fatalf("JWKS after revocation: %d %s", w3.Code, w3.Body)
	}
	if st, _ := ce.call(t, "GET", "/v1/workspaces", ce.session(t, alice), ""); st != 200 {
		t.Fatalf("token of the replacement key: %d", st)
	}
}
