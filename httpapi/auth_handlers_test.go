package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/mail"
	"github.com/gatehouse-auth/gatehouse/passkey"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
)

// stubIssuer signs nothing; tests that count hashing and transactions use it
// (the other tests here sign with real keys).
type stubIssuer struct{}

func (stubIssuer) IssueSessionAccessToken(_ context.Context, s *gatehouse.Session) (string, time.Duration, error) {
	return "at." + s.ID, 15 * time.Minute, nil
}

// withSessions wires a real auth.Sessions over s, with real signing keys
// and real bearer authentication (JWT access tokens and PATs), mail into dir.
func withSessions(t testing.TB, s gatehouse.Store, mailDir string) option {
	return func(c *Config, d *Deps) {
		core := auth.NewCore(s, d.Logger)
		d.Workspaces = &auth.Workspaces{Core: core}
		d.AuditLog = &auth.AuditLog{Core: core}
		d.Profile = &auth.Profile{Core: core}
		kek, err := kms.NewLocal(bytes.Repeat([]byte{3}, 32))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := auth.NewKeys(core, auth.KeysConfig{Issuer: c.PublicURL.String(), KEK: kek, IDTokenAlgs: []token.Alg{token.RS256}})
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		pats := &auth.PATs{Core: core}
		d.Keys, d.PATs = keys, pats
		d.Auth = BearerAuth{Credentials: &auth.Credentials{Keys: keys, PATs: pats}}
		h, err := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
		if err != nil {
			t.Fatal(err)
		}
		dir, err := mail.NewDir(mailDir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.New(dir, mail.Config{From: mail.DefaultFrom(c.PublicURL.String()), Logger: d.Logger})
		if err != nil {
			t.Fatal(err)
		}
		d.Sessions, err = auth.NewSessions(core, auth.SessionConfig{
			Hasher: h, Mailer: m, Tokens: keys, PublicURL: c.PublicURL.String(),
			RefreshKey: bytes.Repeat([]byte("r"), 32), CSRFKey: bytes.Repeat([]byte("c"), 32),
		})
		if err != nil {
			t.Fatal(err)
		}
		// Second factors and passkeys (mfa.go), the relying party being the
		// public URL's host and origin; none on an IP address, which WebAuthn
		// cannot use as a relying party (as cmd's wiring does).
		var pk gatehouse.Passkeys
		if net.ParseIP(c.PublicURL.Hostname()) == nil {
			if pk, err = passkey.New(passkey.Config{RPID: c.PublicURL.Hostname(), Origins: []string{c.PublicURL.Scheme + "://" + c.PublicURL.Host}}); err != nil {
				t.Fatal(err)
			}
		}
		d.MFA, err = auth.NewMFA(core, d.Sessions, auth.MFAConfig{KEK: kek, Passkeys: pk, Hasher: h, Notify: m.RecoveryCodeNotifier(c.PublicURL.String())})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// bearerCall sends a JSON request with an access token (empty: none).
func bearerCall(t testing.TB, h http.Handler, method, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := do(h, r)
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s %s: Cache-Control %q", method, path, got)
	}
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body.String(), err)
		}
	}
	return w.Code, out
}

// signIn signs up (if needed) and signs in email, returning the token response.
func signIn(t testing.TB, h http.Handler, email string) map[string]any {
	t.Helper()
	bearerCall(t, h, "POST", "/v1/auth/signup", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
	code, body := bearerCall(t, h, "POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
	if code != 200 {
		t.Fatalf("sign-in of %s: %d %v", email, code, body)
	}
	return body
}

const httpPassword = "a quiet otter crossing the bridge"

func TestAuthRoutesBodyMode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mailDir := t.TempDir()
		e := newEnv(t, withSessions(t, db, mailDir))
		h := e.s

		code, body := call(t, h, "POST", "/v1/auth/signup", "", `{"email":"Jane@Example.com","password":"`+httpPassword+`"}`)
		user, _ := body["user"].(map[string]any)
		if code != 201 || user["email"] != "jane@example.com" || user["status"] != "active" || body["id"] != user["id"] {
			t.Fatalf("signup: %d %v", code, body)
		}
		code, body = call(t, h, "POST", "/v1/auth/signup", "", `{"email":"john@example.com","password":"short one"}`)
		if code != 400 || body["error"] != "invalid_request" || !strings.Contains(body["error_description"].(string), "15") {
			t.Fatalf("short password: %d %v", code, body)
		}
		code, _ = call(t, h, "POST", "/v1/auth/signup", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`)
		if code != 409 {
			t.Fatalf("taken email: %d", code)
		}
		code, body = call(t, h, "POST", "/v1/auth/signup", "", `{"email":"x@example.com","password":"`+strings.Repeat("p", 1025)+`"}`)
		if code != 400 || body["error"] != "invalid_request" {
			t.Fatalf("oversized password: %d %v", code, body)
		}

		// Password sign-in, body mode.
		code, body = call(t, h, "POST", "/v1/auth/token", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`)
		if code != 200 || body["token_type"] != "Bearer" || body["expires_in"] != float64(900) || body["session_id"] == nil ||
			body["access_token"] == nil || body["refresh_token"] == nil || body["csrf_token"] != nil {
			t.Fatalf("token: %d %v", code, body)
		}
		refresh := body["refresh_token"].(string)

		// Unknown email and wrong password: the same answer.
		_, a := call(t, h, "POST", "/v1/auth/token", "", `{"email":"nobody@example.com","password":"`+httpPassword+`"}`)
		c2, b := call(t, h, "POST", "/v1/auth/token", "", `{"email":"jane@example.com","password":"wrong password entirely here"}`)
		if c2 != 401 || a["error"] != "invalid_grant" || a["error"] != b["error"] || a["error_description"] != b["error_description"] {
			t.Fatalf("unknown %v vs wrong %v", a, b)
		}

		// Refresh rotates; the new token works; a missing one is 401.
		code, body = call(t, h, "POST", "/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
		if code != 200 || body["refresh_token"] == refresh || body["refresh_token"] == nil {
			t.Fatalf("refresh: %d %v", code, body)
		}
		next := body["refresh_token"].(string)
		for _, in := range []string{`{}`, `{"refresh_token":"nope"}`, ``} {
			code, body = call(t, h, "POST", "/v1/auth/refresh", "", in)
			if code != 401 || body["error"] != "invalid_grant" {
				t.Fatalf("refresh %q: %d %v", in, code, body)
			}
		}
		code, _ = call(t, h, "POST", "/v1/auth/refresh", "", `{"refresh_token":"x","extra":1}`)
		if code != 400 {
			t.Fatalf("unknown field: %d", code)
		}

		// Logout, then the token is dead.
		code, _ = call(t, h, "POST", "/v1/auth/logout", "", `{"refresh_token":"`+next+`"}`)
		if code != 204 {
			t.Fatalf("logout: %d", code)
		}
		code, _ = call(t, h, "POST", "/v1/auth/refresh", "", `{"refresh_token":"`+next+`"}`)
		if code != 401 {
			t.Fatalf("refresh after logout: %d", code)
		}
	})
}

var mailLink = regexp.MustCompile(`/magic-link\?token=([A-Za-z0-9_-]{43})`)

func TestMagicLinkRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mailDir := t.TempDir()
		e := newEnv(t, withSessions(t, db, mailDir))
		h := e.s
		call(t, h, "POST", "/v1/auth/signup", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`)
		for _, email := range []string{"jane@example.com", "nobody@example.com", "not-an-address"} {
			code, _ := call(t, h, "POST", "/v1/auth/magic-link", "", `{"email":"`+email+`"}`)
			if code != 202 {
				t.Fatalf("magic-link for %s: %d", email, code)
			}
		}
		ents, _ := os.ReadDir(mailDir)
		if len(ents) != 1 {
			t.Fatalf("%d mails", len(ents))
		}
		raw, _ := os.ReadFile(filepath.Join(mailDir, ents[0].Name()))
		if !strings.Contains(string(raw), "https://auth.example.com/magic-link?token=") {
			t.Fatalf("link form: %s", raw)
		}
		tok := mailLink.FindStringSubmatch(string(raw))[1]
		code, body := call(t, h, "POST", "/v1/auth/magic-link/verify", "", `{"token":"`+tok+`"}`)
		if code != 200 || body["refresh_token"] == nil {
			t.Fatalf("verify: %d %v", code, body)
		}
		code, body = call(t, h, "POST", "/v1/auth/magic-link/verify", "", `{"token":"`+tok+`"}`)
		if code != 401 {
			t.Fatalf("second use: %d %v", code, body)
		}
		if strings.Contains(e.log.String(), "jane@") || strings.Contains(e.log.String(), "nobody@") || strings.Contains(e.log.String(), tok) {
			t.Fatal("the log carries an address or the link token")
		}
	})
}

func TestSessionAndAdminRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()))
		h := e.s
		admin := signIn(t, h, "admin@example.com")
		if err := db.Tx(context.Background(), gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			u, err := tx.UserByEmail(context.Background(), "admin@example.com")
			if err != nil {
				return err
			}
			return tx.SetUserAdmin(context.Background(), u.ID, true, time.Now())
		}); err != nil {
			t.Fatal(err)
		}
		adminAT := admin["access_token"].(string)
		first := signIn(t, h, "jane@example.com")
		jane := signIn(t, h, "jane@example.com") // a second session
		janeAT, sid, refresh := jane["access_token"].(string), jane["session_id"].(string), first["refresh_token"].(string)
		_, me := bearerCall(t, h, "GET", "/v1/me", janeAT, "")
		janeID, _ := me["id"].(string)
		if janeID == "" {
			t.Fatalf("/v1/me with the session's access token: %v", me)
		}

		code, body := bearerCall(t, h, "GET", "/v1/auth/sessions", janeAT, "")
		list, _ := body["sessions"].([]any)
		if code != 200 || len(list) != 2 {
			t.Fatalf("sessions: %d %v", code, body)
		}
		current := 0
		for _, x := range list {
			m := x.(map[string]any)
			for _, k := range []string{"id", "created_at", "last_used_at", "ip", "user_agent", "current"} {
				if _, ok := m[k]; !ok {
					t.Errorf("session lacks %q: %v", k, m)
				}
			}
			if m["current"] == true {
				current++
				if m["id"] != sid {
					t.Errorf("current session %v, want %s", m["id"], sid)
				}
			}
		}
		if current != 1 {
			t.Fatalf("%d current sessions", current)
		}
		if code, _ := bearerCall(t, h, "GET", "/v1/auth/sessions", "", ""); code != 401 {
			t.Fatalf("unauthenticated list: %d", code)
		}
		if code, _ := bearerCall(t, h, "DELETE", "/v1/auth/sessions/"+sid, adminAT, ""); code != 404 {
			t.Fatalf("someone else's session: %d", code)
		}

		// Account status: only admins; leaving active ends the sessions.
		adminID := func() string { _, m := bearerCall(t, h, "GET", "/v1/me", adminAT, ""); return m["id"].(string) }()
		if code, _ := bearerCall(t, h, "PATCH", "/v1/admin/users/"+adminID, janeAT, `{"status":"locked"}`); code != 403 {
			t.Fatalf("non-admin PATCH: %d", code)
		}
		code, body = bearerCall(t, h, "PATCH", "/v1/admin/users/"+janeID, adminAT, `{"status":"locked","reason":"suspicious"}`)
		if code != 200 || body["status"] != "locked" {
			t.Fatalf("PATCH: %d %v", code, body)
		}
		code, body = bearerCall(t, h, "POST", "/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
		if code != 401 || body["error"] != "invalid_grant" {
			t.Fatalf("refresh of a locked account: %d %v", code, body)
		}
		code, body = bearerCall(t, h, "POST", "/v1/auth/token", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`)
		if code != 403 || body["error"] != "account_locked" {
			t.Fatalf("login of a locked account: %d %v", code, body)
		}
		if code, _ := bearerCall(t, h, "PATCH", "/v1/admin/users/"+janeID, adminAT, `{"status":"active"}`); code != 200 {
			t.Fatal(code)
		}
		again := signIn(t, h, "jane@example.com")
		at2, sid2 := again["access_token"].(string), again["session_id"].(string)
		if code, _ := bearerCall(t, h, "DELETE", "/v1/auth/sessions/"+sid2, at2, ""); code != 204 {
			t.Fatalf("revoke own session: %d", code)
		}
		// The access token of the revoked session may still read, but no
		// longer change anything (docs/sessions.md).
		if code, _ := bearerCall(t, h, "DELETE", "/v1/auth/sessions/"+sid2, at2, ""); code != 401 {
			t.Fatalf("revoke again: %d", code)
		}
	})
}

func TestAuthRoutesWithoutSessions(t *testing.T) {
	e := newEnv(t)
	code, body := call(t, e.s, "POST", "/v1/auth/token", "", `{"email":"a@b.co","password":"x"}`)
	if code != http.StatusServiceUnavailable || body["error"] != "unavailable" {
		t.Fatalf("%d %v", code, body)
	}
}

// TestConcurrentRefreshHTTP fires 50 refreshes of one token at once through
// the whole HTTP stack: every answer is 200 with one and the same successor,
// never a 500.
func TestConcurrentRefreshHTTP(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()))
		h := e.s
		call(t, h, "POST", "/v1/auth/signup", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`)
		_, body := call(t, h, "POST", "/v1/auth/token", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`)
		refresh := body["refresh_token"].(string)
		const n = 50
		codes := make([]int, n)
		toks := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				r := req("POST", "/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`, "Content-Type", "application/json")
				w := do(h, r)
				codes[i] = w.Code
				var out map[string]any
				json.Unmarshal(w.Body.Bytes(), &out)
				toks[i], _ = out["refresh_token"].(string)
			}(i)
		}
		close(start)
		wg.Wait()
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			if codes[i] != 200 {
				t.Fatalf("refresh %d: status %d", i, codes[i])
			}
			seen[toks[i]] = true
		}
		if len(seen) != 1 {
			t.Fatalf("%d distinct successors", len(seen))
		}
	})
}

// Logging out is idempotent: concurrent logouts of one session all answer
// 204 (before, the losers of the race answered 404), and one logout event is
// recorded. The sessions list shows each session's amr.
func TestConcurrentLogoutHTTP(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()))
		h := e.s
		body := signIn(t, h, "jane@example.com")
		code, list := bearerCall(t, h, "GET", "/v1/auth/sessions", body["access_token"].(string), "")
		sessions, _ := list["sessions"].([]any)
		if code != 200 || len(sessions) != 1 {
			t.Fatalf("sessions: %d %v", code, list)
		}
		if amr, _ := sessions[0].(map[string]any)["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
			t.Fatalf("sessions list amr: %v", sessions[0])
		}
		refresh := body["refresh_token"].(string)
		const n = 16
		codes := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				w := do(h, req("POST", "/v1/auth/logout", `{"refresh_token":"`+refresh+`"}`, "Content-Type", "application/json"))
				codes[i] = w.Code
			}(i)
		}
		close(start)
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusNoContent {
				t.Fatalf("logout %d: status %d", i, c)
			}
		}
		var logouts int
		err := db.Tx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
			evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.EventLogout, Limit: 100})
			logouts = len(evs)
			return err
		})
		if err != nil || logouts != 1 {
			t.Fatalf("logout events: %d, %v", logouts, err)
		}
		if code, _ := bearerCall(t, h, "POST", "/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`); code != http.StatusUnauthorized && code != http.StatusBadRequest {
			t.Fatalf("refresh after logout: %d", code)
		}
	})
}
