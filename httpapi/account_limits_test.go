package httpapi

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// send sends a JSON request from ip (through the trusted proxy) with an
// access token ("" none).
func send(e *testEnv, method, path, ip, bearer, body string) *httptest.ResponseRecorder {
	r := from(req(method, path, body, "Content-Type", "application/json"), ip)
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(e.s, r)
}

func accessToken(t *testing.T, e *testEnv, ip, email string) string {
	t.Helper()
	if w := send(e, "POST", "/v1/auth/signup", ip, "", `{"email":"`+email+`","password":"`+httpPassword+`"}`); w.Code != 201 {
		t.Fatalf("signup of %s: %d %s", email, w.Code, w.Body)
	}
	w := send(e, "POST", "/v1/auth/token", ip, "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
	if w.Code != 200 {
		t.Fatalf("sign-in of %s: %d %s", email, w.Code, w.Body)
	}
	return strings.Split(strings.Split(w.Body.String(), `"access_token":"`)[1], `"`)[0]
}

// The per-account and per-user policies the guard applies in package auth:
// signup.email, workspace_create.user and member_add.user refuse with 429
// and Retry-After past their limit whatever the caller's address, and leave
// other accounts alone.
func TestGuardAppliesAccountPolicies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := limitEnv(t, memory.New(memory.Options{}), "signup.email=2/1h, workspace_create.user=2/1h, member_add.user=2/1h",
			withTrustedProxies("10.0.0.0/8"), withSessions(t, db, t.TempDir()))
		jane := accessToken(t, e, "192.0.2.10", "jane@example.com")
		if w := send(e, "POST", "/v1/auth/signup", "192.0.2.11", "", `{"email":"JANE@example.com","password":"`+httpPassword+`"}`); w.Code != 409 {
			t.Fatalf("second signup of the address: %d", w.Code)
		}
		if w := send(e, "POST", "/v1/auth/signup", "192.0.2.12", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`); w.Code != 429 || w.Header().Get("Retry-After") == "" ||
			!strings.Contains(w.Header().Get("RateLimit-Policy"), `"signup.email";q=2`) {
			t.Fatalf("third signup of the address: %d, Retry-After %q, RateLimit-Policy %q", w.Code, w.Header().Get("Retry-After"), w.Header().Get("RateLimit-Policy"))
		}

		var ws string
		for i := 0; i < 2; i++ {
			w := send(e, "POST", "/v1/workspaces", fmt.Sprintf("198.51.100.%d", i), jane, `{"name":"w"}`)
			if w.Code != 201 {
				t.Fatalf("workspace %d: %d %s", i+1, w.Code, w.Body)
			}
			ws = strings.Split(strings.Split(w.Body.String(), `"id":"`)[1], `"`)[0]
		}
		if w := send(e, "POST", "/v1/workspaces", "198.51.100.9", jane, `{"name":"w"}`); w.Code != 429 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("third workspace in an hour, from another address: %d %s", w.Code, w.Body)
		}
		john := accessToken(t, e, "192.0.2.13", "john@example.com")
		if w := send(e, "POST", "/v1/workspaces", "198.51.100.9", john, `{"name":"w"}`); w.Code != 201 {
			t.Fatalf("another user's workspace: %d", w.Code)
		}

		for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			accessToken(t, e, fmt.Sprintf("192.0.2.%d", 20+i), email)
		}
		for i, email := range []string{"a@example.com", "b@example.com"} {
			if w := send(e, "POST", "/v1/workspaces/"+ws+"/members", fmt.Sprintf("198.51.100.%d", 20+i), jane, `{"email":"`+email+`","role":"member"}`); w.Code != 201 {
				t.Fatalf("member %d: %d %s", i+1, w.Code, w.Body)
			}
		}
		if w := send(e, "POST", "/v1/workspaces/"+ws+"/members", "198.51.100.29", jane, `{"email":"c@example.com","role":"member"}`); w.Code != 429 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("third member in an hour: %d %s", w.Code, w.Body)
		}
	})
}

// workspace_create.ip and member_add.ip refuse an address past its limit,
// whoever calls, before the caller's token is checked.
func TestWorkspaceRoutesLimitedPerIP(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := limitEnv(t, memory.New(memory.Options{}), "workspace_create.ip=1/1h, member_add.ip=1/1h",
			withTrustedProxies("10.0.0.0/8"), withSessions(t, db, t.TempDir()))
		jane := accessToken(t, e, "192.0.2.10", "jane@example.com")
		john := accessToken(t, e, "192.0.2.11", "john@example.com")
		accessToken(t, e, "192.0.2.12", "amy@example.com")
		w := send(e, "POST", "/v1/workspaces", "203.0.113.5", jane, `{"name":"w"}`)
		if w.Code != 201 || w.Header().Get("RateLimit-Policy") != `"workspace_create.ip";q=1;w=3600, "workspace_create.user";q=10;w=3600` {
			t.Fatalf("workspace: %d, RateLimit-Policy %q", w.Code, w.Header().Get("RateLimit-Policy"))
		}
		ws := strings.Split(strings.Split(w.Body.String(), `"id":"`)[1], `"`)[0]
		if w := send(e, "POST", "/v1/workspaces", "203.0.113.5", john, `{"name":"w"}`); w.Code != 429 {
			t.Fatalf("second workspace from the address: %d", w.Code)
		}
		if w := send(e, "POST", "/v1/workspaces/"+ws+"/members", "203.0.113.6", jane, `{"email":"john@example.com","role":"member"}`); w.Code != 201 {
			t.Fatalf("member: %d %s", w.Code, w.Body)
		}
		if w := send(e, "POST", "/v1/workspaces/"+ws+"/members", "203.0.113.6", "not-a-token", `{"email":"amy@example.com","role":"member"}`); w.Code != 429 {
			t.Fatalf("second add from the address, with a bad token: %d, want 429 before the token is checked", w.Code)
		}
	})
}
