package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func admin1(t *testing.T, stdin string, args ...string) (map[string]any, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runIO(context.Background(), args, envOf(map[string]string{}), strings.NewReader(stdin), &out, &errb)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("%v: stdout %q is not JSON: %v", args, out.String(), err)
	}
	return v, nil
}

// TestUsersAndSessionsCommands drives the admin commands on the --dev data
// directory: create (password from stdin only), a refused weak password,
// set-admin, set-status that revokes sessions, and sessions revoke-all, with
// a running server seeing each change.
func TestUsersAndSessionsCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	const pw = "quiet lanterns drift over Tallinn"
	u, err := admin1(t, pw+"\n", "users", "create", "--dev", "--email", "Grace@Example.com", "--password-stdin")
	if err != nil || u["email"] != "grace@example.com" || u["status"] != "active" || u["admin"] != false {
		t.Fatalf("create: %v %v", u, err)
	}
	if _, err := admin1(t, "password\n", "users", "create", "--dev", "--email", "x@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("weak password accepted: %v", err)
	}
	if _, err := admin1(t, pw+"\n", "users", "create", "--dev", "--email", "grace@example.com", "--password-stdin"); err == nil {
		t.Fatal("duplicate account created")
	}
	if _, err := admin1(t, "", "users", "create", "--dev", "--email", "y@example.com"); err == nil {
		t.Fatal("create without --password-stdin accepted")
	}
	if u, err := admin1(t, "", "users", "set-admin", "--dev", "--email", "grace@example.com"); err != nil || u["admin"] != true {
		t.Fatalf("set-admin: %v %v", u, err)
	}

	r := start(t, map[string]string{}, "--dev")
	js := []string{"Content-Type", "application/json"}
	resp, tok := call(t, "POST", r.base+"/v1/auth/token", `{"email":"grace@example.com","password":"`+pw+`"}`, js...)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %v", resp.StatusCode, tok)
	}
	at := tok["access_token"].(string)
	if resp, v := call(t, "GET", r.base+"/v1/admin/audit-events?type=account.admin_changed", "", append(js, "Authorization", "Bearer "+at)...); resp.StatusCode != 200 || len(v["events"].([]any)) != 1 {
		t.Fatalf("admin trail: %d %v", resp.StatusCode, v)
	}

	if _, err := admin1(t, "", "users", "set-status", "--dev", "--email", "grace@example.com", "--status", "frozen"); err == nil {
		t.Fatal("bad status accepted")
	}
	if u, err := admin1(t, "", "users", "set-status", "--dev", "--email", "grace@example.com", "--status", "locked", "--reason", "on leave"); err != nil || u["status"] != "locked" {
		t.Fatalf("set-status: %v %v", u, err)
	}
	if resp, v := call(t, "POST", r.base+"/v1/auth/refresh", `{"refresh_token":"`+tok["refresh_token"].(string)+`"}`, js...); resp.StatusCode != 401 || v["error"] != "invalid_grant" {
		t.Fatalf("refresh of a locked account: %d %v", resp.StatusCode, v)
	}
	if resp, v := call(t, "POST", r.base+"/v1/auth/token", `{"email":"grace@example.com","password":"`+pw+`"}`, js...); resp.StatusCode != 403 || v["error"] != "account_locked" {
		t.Fatalf("login of a locked account: %d %v", resp.StatusCode, v)
	}
	if _, err := admin1(t, "", "users", "set-status", "--dev", "--email", "grace@example.com", "--status", "active"); err != nil {
		t.Fatal(err)
	}
	_, tok = call(t, "POST", r.base+"/v1/auth/token", `{"email":"grace@example.com","password":"`+pw+`"}`, js...)
	if v, err := admin1(t, "", "sessions", "revoke-all", "--dev"); err != nil || v["revoked"] != float64(1) {
		t.Fatalf("revoke-all: %v %v", v, err)
	}
	if resp, v := call(t, "POST", r.base+"/v1/auth/refresh", `{"refresh_token":"`+tok["refresh_token"].(string)+`"}`, js...); resp.StatusCode != 401 || v["error"] != "invalid_grant" {
		t.Fatalf("refresh after revoke-all: %d %v", resp.StatusCode, v)
	}
	if strings.Contains(r.stderr.String(), pw) {
		t.Fatal("password in the server log")
	}
	var errb bytes.Buffer
	if err := runIO(context.Background(), []string{"users", "create", "--dev", "--email", "z@example.com", "--password", pw}, envOf(nil), strings.NewReader(""), io.Discard, &errb); err == nil {
		t.Fatal("a password flag on the command line was accepted")
	}
}
