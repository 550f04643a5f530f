package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOIDCNodeRelyingParty runs e2e/oidc-node/rp.test.mjs, a relying party
// built on panva's openid-client (pinned in its package-lock.json,
// installed by .ci/run with npm ci), against the real gatehouse binary:
// discovery, the code flow with PKCE and a nonce, id_token validation
// (RS256, as the client registered), userinfo, refresh and RP-initiated
// logout. Where the strict library refuses something, the server is wrong.
// Without node or the installed packages it is skipped, except in CI.
func TestOIDCNodeRelyingParty(t *testing.T) {
	node, err := exec.LookPath("node")
	dir, _ := filepath.Abs("oidc-node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "openid-client")); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node (%v) or e2e/oidc-node/node_modules (%v) is missing: .ci/run installs them", err, statErr)
		}
		t.Skip("node or e2e/oidc-node/node_modules is missing (cd e2e/oidc-node && npm ci)")
	}
	g := startGatehouse(t, map[string]string{"GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE": "true"})
	const email, password = "rp-node@example.com", "Zq7!rp-node-vault-Lantern-83"
	g.signup(t, email, password)
	api := func(method, path, bearer string, body, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, strings.Replace(g.Origin, "localhost", "127.0.0.1", 1)+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		json.NewDecoder(res.Body).Decode(out)
		return res.StatusCode
	}
	var tok, ws, cl map[string]any
	if st := api("POST", "/v1/auth/token", "", map[string]string{"email": email, "password": password}, &tok); st != 200 {
		t.Fatalf("token: %d %v", st, tok)
	}
	bearer, _ := tok["access_token"].(string)
	if st := api("POST", "/v1/workspaces", bearer, map[string]string{"name": "rp"}, &ws); st != 201 {
		t.Fatalf("workspace: %d %v", st, ws)
	}
	const callback, bye = "http://127.0.0.1:4999/callback", "http://127.0.0.1:4999/bye"
	if st := api("POST", "/v1/workspaces/"+ws["id"].(string)+"/clients", bearer, map[string]any{"name": "node rp", "public": true,
		"redirect_uris": []string{callback}, "post_logout_redirect_uris": []string{bye}, "id_token_signed_response_alg": "RS256"}, &cl); st != 201 {
		t.Fatalf("client: %d %v", st, cl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "rp.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+g.Origin, "GATEHOUSE_CLIENT_ID="+cl["client_id"].(string),
		"GATEHOUSE_EMAIL="+email, "GATEHOUSE_PASSWORD="+password, "GATEHOUSE_CALLBACK="+callback, "GATEHOUSE_BYE="+bye)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		t.Fatalf("the openid-client relying party failed: %v", err)
	}
}
