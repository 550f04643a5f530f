package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeDevFlow drives a person's whole journey through the real binary's
// run: sign up, sign in, the API with the JWT, a workspace, a PAT used as a
// bearer, refresh rotation, the JWKS, a magic link from the mail directory,
// and logout.
func TestServeDevFlow(t *testing.T) {
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{}, "--dev")
	js := []string{"Content-Type", "application/json"}
	bearer := func(tok string) []string { return append(js, "Authorization", "Bearer "+tok) }

	const pw = "a long passphrase nobody else has"
	// Verification is required by default, under --dev too: the link
	// arrives in the mail directory (and at /dev/mail).
	if resp, v := call(t, "POST", r.base+"/v1/auth/signup", `{"email":"Ada@Example.com","password":"`+pw+`"}`, js...); resp.StatusCode != 202 || v["status"] != "verification_sent" {
		t.Fatalf("signup: %d %v", resp.StatusCode, v)
	}
	if resp, v := call(t, "POST", r.base+"/v1/auth/token", `{"email":"ada@example.com","password":"`+pw+`"}`, js...); resp.StatusCode != 403 || v["error"] != "email_unverified" {
		t.Fatalf("token before verification: %d %v", resp.StatusCode, v)
	}
	if resp, v := call(t, "POST", r.base+"/v1/auth/verify-email", `{"token":"`+waitForPageLink(t, "gatehouse-data/mail", "verify-email")+`"}`, js...); resp.StatusCode != 200 || v["access_token"] == nil {
		t.Fatalf("verify-email: %d %v", resp.StatusCode, v)
	}
	resp, tok := call(t, "POST", r.base+"/v1/auth/token", `{"email":"ada@example.com","password":"`+pw+`"}`, js...)
	if resp.StatusCode != 200 || tok["token_type"] != "Bearer" || tok["refresh_token"] == nil || tok["session_id"] == nil {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("token response is cacheable")
	}
	at := tok["access_token"].(string)
	resp, me := call(t, "GET", r.base+"/v1/me", "", bearer(at)...)
	if resp.StatusCode != 200 || me["email"] != "ada@example.com" || me["status"] != "active" {
		t.Fatalf("me: %d %v", resp.StatusCode, me)
	}
	resp, ws := call(t, "POST", r.base+"/v1/workspaces", `{"name":"Analytical Engines"}`, bearer(at)...)
	if resp.StatusCode != 201 {
		t.Fatalf("workspace: %d %v", resp.StatusCode, ws)
	}
	resp, pat := call(t, "POST", r.base+"/v1/tokens", `{"name":"ci","workspace_id":"`+ws["id"].(string)+`"}`, bearer(at)...)
	if resp.StatusCode != 201 || !strings.HasPrefix(pat["token"].(string), "gth_") {
		t.Fatalf("pat: %d %v", resp.StatusCode, pat)
	}
	if resp, me := call(t, "GET", r.base+"/v1/me", "", bearer(pat["token"].(string))...); resp.StatusCode != 200 || me["email"] != "ada@example.com" {
		t.Fatalf("me with PAT: %d %v", resp.StatusCode, me)
	}
	if resp, v := call(t, "POST", r.base+"/v1/tokens", `{"name":"again","workspace_id":"`+ws["id"].(string)+`"}`, bearer(pat["token"].(string))...); resp.StatusCode != 403 {
		t.Fatalf("PAT mints PAT: %d %v", resp.StatusCode, v)
	}
	if resp, v := call(t, "GET", r.base+"/.well-known/jwks.json", ""); resp.StatusCode != 200 || len(v["keys"].([]any)) == 0 {
		t.Fatalf("jwks: %d %v", resp.StatusCode, v)
	}

	// Refresh rotates; the old token replayed after the grace window would
	// revoke the family (auth tests cover that); here: a new token comes back.
	rt := tok["refresh_token"].(string)
	resp, tok2 := call(t, "POST", r.base+"/v1/auth/refresh", `{"refresh_token":"`+rt+`"}`, js...)
	if resp.StatusCode != 200 || tok2["refresh_token"] == rt || tok2["session_id"] != tok["session_id"] {
		t.Fatalf("refresh: %d %v", resp.StatusCode, tok2)
	}

	// A magic link arrives in the mail directory and signs in once.
	if resp, _ := call(t, "POST", r.base+"/v1/auth/magic-link", `{"email":"ada@example.com"}`, js...); resp.StatusCode != 202 {
		t.Fatalf("magic link: %d", resp.StatusCode)
	}
	link := waitForLink(t, "gatehouse-data/mail")
	if resp, v := call(t, "POST", r.base+"/v1/auth/magic-link/verify", `{"token":"`+link+`"}`, js...); resp.StatusCode != 200 || v["access_token"] == nil {
		t.Fatalf("magic link verify: %d %v", resp.StatusCode, v)
	}
	if resp, _ := call(t, "POST", r.base+"/v1/auth/magic-link/verify", `{"token":"`+link+`"}`, js...); resp.StatusCode != 401 {
		t.Fatalf("magic link second use: %d", resp.StatusCode)
	}

	if resp, _ := call(t, "POST", r.base+"/v1/auth/logout", `{"refresh_token":"`+tok2["refresh_token"].(string)+`"}`, js...); resp.StatusCode != 204 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, v := call(t, "POST", r.base+"/v1/auth/refresh", `{"refresh_token":"`+tok2["refresh_token"].(string)+`"}`, js...); resp.StatusCode != 401 || v["error"] != "invalid_grant" {
		t.Fatalf("refresh after logout: %d %v", resp.StatusCode, v)
	}
	// The access token outlives its session (a JWT, ≤15 min), but it cannot
	// turn into a long-lived credential once the session has ended.
	if resp, v := call(t, "POST", r.base+"/v1/tokens", `{"name":"late","workspace_id":"`+ws["id"].(string)+`"}`, bearer(at)...); resp.StatusCode != 401 || v["error"] != "unauthorized" {
		t.Fatalf("PAT minted by the access token of an ended session: %d %v", resp.StatusCode, v)
	}
	if strings.Contains(r.stderr.String(), pw) || strings.Contains(r.stderr.String(), rt) || strings.Contains(r.stderr.String(), "ada@example.com") {
		t.Fatal("the log carries a password, a refresh token or an address in clear")
	}
}

// waitForLink returns the token of the newest magic link written to dir.
func waitForLink(t *testing.T, dir string) string {
	t.Helper()
	return waitForPageLink(t, dir, "magic-link")
}

// waitForPageLink returns the token of a link to page written to dir.
func waitForPageLink(t *testing.T, dir, page string) string {
	t.Helper()
	for i := 0; i < 200; i++ {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			s := strings.ReplaceAll(string(b), "=\r\n", "")
			if _, after, ok := strings.Cut(s, "/"+page+"?token="); ok {
				end := strings.IndexAny(after, "\r\n \"<")
				if end < 0 {
					end = len(after)
				}
				return after[:end]
			}
		}
		waitABit()
	}
	t.Fatalf("no %s mail arrived", page)
	return ""
}

func waitABit() { <-time.After(25 * time.Millisecond) }
