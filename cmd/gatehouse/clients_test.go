package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestClientsCommandAndOAuth drives `gatehouse clients create` against the
// --dev data directory and the running server's OAuth endpoints: a client
// made by the CLI gets a token with client_secret_basic and
// client_secret_post, introspects it, revokes a PAT of its workspace, and
// the discovery documents name the endpoints and the issuer the token
// carries.
func TestClientsCommandAndOAuth(t *testing.T) {
	t.Chdir(t.TempDir())
	const pw = "quiet lanterns drift over Tallinn"
	if _, err := admin1(t, pw+"\n", "users", "create", "--dev", "--email", "ops@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	r := start(t, map[string]string{}, "--dev")
	js := []string{"Content-Type", "application/json"}
	_, tok := call(t, "POST", r.base+"/v1/auth/token", `{"email":"ops@example.com","password":"`+pw+`"}`, js...)
	bearer := append(js, "Authorization", "Bearer "+tok["access_token"].(string))
	resp, ws := call(t, "POST", r.base+"/v1/workspaces", `{"name":"ops"}`, bearer...)
	if resp.StatusCode != 201 {
		t.Fatalf("workspace: %d %v", resp.StatusCode, ws)
	}
	wsID := ws["id"].(string)

	if _, err := admin1(t, "", "clients", "create", "--dev", "--workspace", wsID, "--name", "x", "--scope", "admin"); err == nil {
		t.Fatal("unknown scope accepted")
	}
	if _, err := admin1(t, "", "clients", "create", "--dev", "--workspace", wsID, "--name", "x", "--public"); err == nil || !strings.Contains(err.Error(), "redirect URI") {
		t.Fatalf("--public without a redirect URI: %v", err)
	}
	for _, bad := range []string{"http://app.example.com/cb", "https://app.example.com/cb#frag", "/cb", "https://u:p@app.example.com/cb",
		"https://app.example.com;script-src-elem/cb", "https://*.example.com/cb", "https://app.ex%C3%A4mple.com/cb", "https://app.example.com%3B/cb"} {
		if _, err := admin1(t, "", "clients", "create", "--dev", "--workspace", wsID, "--name", "x", "--redirect-uri", bad); err == nil {
			t.Fatalf("redirect URI %q accepted", bad)
		}
	}
	pub, err := admin1(t, "", "clients", "create", "--dev", "--workspace", wsID, "--name", "spa", "--public",
		"--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "http://127.0.0.1:8123/cb", "--scope", "profile:read")
	if err != nil {
		t.Fatal(err)
	}
	if _, has := pub["client_secret"]; has || pub["public"] != true || fmt.Sprint(pub["redirect_uris"]) != "[https://app.example.com/cb http://127.0.0.1:8123/cb]" ||
		fmt.Sprint(pub["grant_types"]) != "[authorization_code refresh_token]" {
		t.Fatalf("public client: %v", pub)
	}
	// OpenID Connect registration (docs/oidc.md).
	rp, err := admin1(t, "", "clients", "create", "--dev", "--workspace", wsID, "--name", "rp", "--public", "--redirect-uri", "https://app.example.com/cb",
		"--id-token-alg", "RS256", "--post-logout-redirect-uri", "https://app.example.com/bye", "--backchannel-logout-uri", "https://app.example.com/bc")
	if err != nil || rp["id_token_signed_response_alg"] != "RS256" || fmt.Sprint(rp["post_logout_redirect_uris"]) != "[https://app.example.com/bye]" ||
		rp["backchannel_logout_uri"] != "https://app.example.com/bc" {
		t.Fatalf("OpenID Connect client: %v %v", rp, err)
	}
	for _, bad := range [][]string{{"--id-token-alg", "HS256"}, {"--id-token-alg", "ES256"}, {"--post-logout-redirect-uri", "http://app.example.com/bye"},
		{"--backchannel-logout-uri", "http://internal.example.com/bc"}} {
		if _, err := admin1(t, "", append([]string{"clients", "create", "--dev", "--workspace", wsID, "--name", "x", "--public",
			"--redirect-uri", "https://app.example.com/cb"}, bad...)...); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	conf, err := admin1(t, "", "clients", "create", "--dev", "--workspace", wsID, "--name", "web", "--redirect-uri", "https://app.example.com/cb")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := conf["client_secret"].(string); !strings.HasPrefix(s, "ghs_") || conf["public"] != false {
		t.Fatalf("confidential client with a redirect URI: %v", conf)
	}
	if _, err := admin1(t, "", "clients", "create", "--dev", "--workspace", "00000000-0000-7000-8000-000000000000", "--name", "x"); err == nil {
		t.Fatal("client in an unknown workspace")
	}
	c, err := admin1(t, "", "clients", "create", "--dev", "--workspace", wsID, "--name", "reporting",
		"--grant", "client_credentials", "--scope", "audit:read", "--scope", "workspaces:read")
	if err != nil {
		t.Fatal(err)
	}
	id, secret := c["client_id"].(string), c["client_secret"].(string)
	if id == "" || !strings.HasPrefix(secret, "ghs_") || c["workspace_id"] != wsID {
		t.Fatalf("clients create printed %v", c)
	}

	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	basic := append(form, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	resp, at := call(t, "POST", r.base+"/v1/oauth/token", "grant_type=client_credentials&scope=audit%3Aread", basic...)
	if resp.StatusCode != 200 || at["token_type"] != "Bearer" || at["scope"] != "audit:read" || resp.Header.Get("Pragma") != "no-cache" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token (basic): %d %v %v", resp.StatusCode, at, resp.Header)
	}
	resp, at2 := call(t, "POST", r.base+"/v1/oauth/token", "grant_type=client_credentials&client_id="+id+"&client_secret="+url.QueryEscape(secret), form...)
	if resp.StatusCode != 200 || at2["scope"] != "audit:read workspaces:read" {
		t.Fatalf("token (post): %d %v", resp.StatusCode, at2)
	}
	resp, e := call(t, "POST", r.base+"/v1/oauth/token", "grant_type=password&username=ops@example.com&password=x", basic...)
	if resp.StatusCode != 400 || e["error"] != "unsupported_grant_type" {
		t.Fatalf("password grant: %d %v", resp.StatusCode, e)
	}

	// The token's claims and the discovery documents agree.
	parts := strings.Split(at["access_token"].(string), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	if claims["sub"] != id || claims["client_id"] != id || claims["workspace_id"] != wsID || claims["sid"] != nil {
		t.Fatalf("claims %v", claims)
	}
	var issuers []any
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		resp, d := call(t, "GET", r.base+p, "")
		if resp.StatusCode != 200 || d["token_endpoint"] != claims["iss"].(string)+"/v1/oauth/token" {
			t.Fatalf("%s: %d %v", p, resp.StatusCode, d)
		}
		issuers = append(issuers, d["issuer"])
	}
	if issuers[0] != claims["iss"] || issuers[1] != claims["iss"] {
		t.Fatalf("issuers %v, token iss %v", issuers, claims["iss"])
	}

	// Introspection and revocation of a PAT of the workspace.
	resp, in := call(t, "POST", r.base+"/v1/oauth/introspect", "token="+at["access_token"].(string), basic...)
	if resp.StatusCode != 200 || in["active"] != true || in["client_id"] != id {
		t.Fatalf("introspect: %d %v", resp.StatusCode, in)
	}
	resp, in = call(t, "POST", r.base+"/v1/oauth/introspect", "token="+tok["access_token"].(string), basic...)
	if resp.StatusCode != 200 || len(in) != 1 || in["active"] != false {
		t.Fatalf("a person's token introspected: %d %v", resp.StatusCode, in)
	}
	resp, pat := call(t, "POST", r.base+"/v1/tokens", `{"name":"ci","workspace_id":"`+wsID+`"}`, bearer...)
	if resp.StatusCode != 201 {
		t.Fatalf("pat: %d %v", resp.StatusCode, pat)
	}
	if resp, _ := call(t, "POST", r.base+"/v1/oauth/revoke", "token="+pat["token"].(string), basic...); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := call(t, "GET", r.base+"/v1/me", "", "Authorization", "Bearer "+pat["token"].(string)); resp.StatusCode != 401 {
		t.Fatalf("revoked PAT: %d", resp.StatusCode)
	}
	if strings.Contains(r.stderr.String(), secret) {
		t.Fatal("the client secret reached the server log")
	}
}
