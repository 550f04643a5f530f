package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/verify"
)

// gatehouseBinary builds the real gatehouse binary once per test run.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/gatehouse-auth/gatehouse/cmd/gatehouse").CombinedOutput(); err != nil {
		t.Fatalf("build gatehouse: %v\n%s", err, out)
	}
	return bin
}

// serveDev starts `gatehouse serve --dev` in dir on a free loopback port and
// returns its base URL; the test's cleanup stops it.
func serveDev(t *testing.T, bin, dir string) string {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--dev")
	cmd.Dir = dir
	// --dev derives the issuer from GATEHOUSE_ADDR, so give it a real port:
	// one the kernel just handed out.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	// The test signs in in a loop while it waits for a rotation: lift the
	// sign-in limits (they stay in the path; see docs/rate-limits.md).
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADDR="+free, "GATEHOUSE_RATE_LIMITS=token.ip=1000/1m,token.account=1000/1m",
		"GATEHOUSE_EMAIL_VERIFICATION=off") // sign-up then sign-in straight away
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Addr != "" {
				addr <- line.Addr
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("gatehouse did not start")
	}
	return ""
}

func post(t *testing.T, u, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %v", u, resp.StatusCode, v)
	}
	return v
}

func getStatus(t *testing.T, u, tok string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func within(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAgainstGatehouseBinary runs the real gatehouse binary (serve --dev),
// signs a person in, and checks the example API with the person's access
// token across `gatehouse keys rotate --now` and `gatehouse keys revoke`
// run as separate processes.
func TestAgainstGatehouseBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gatehouse binary")
	}
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	base := serveDev(t, bin, dir)
	keys := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"keys"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gatehouse keys %v: %v\n%s", args, err, out)
		}
	}

	const pw = "a long passphrase nobody else has"
	post(t, base+"/v1/auth/signup", `{"email":"ada@example.com","password":"`+pw+`"}`)
	before := post(t, base+"/v1/auth/token", `{"email":"ada@example.com","password":"`+pw+`"}`)["access_token"].(string)

	st, w := call(t, "POST", base+"/v1/workspaces", before, `{"name":"w"}`)
	if st != 201 {
		t.Fatalf("workspace: %d %v", st, w)
	}
	// The example API of ada's workspace, told to accept people's sessions
	// (EXAMPLE_ALLOW_SESSIONS): ada's session token is the token here.
	h, jwt, _, err := newHandler(verify.JWTConfig{Issuer: base, Audience: base, Workspace: w["id"].(string), AllowSessions: true,
		MinRefreshInterval: 200 * time.Millisecond, MaxCacheAge: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(h)
	defer api.Close()
	if st := getStatus(t, api.URL+"/hello", before); st != 200 {
		t.Fatalf("resource server with a gatehouse token: %d", st)
	}

	keys("rotate", "--now", "--dev")
	var after string
	within(t, 5*time.Second, "new key signs", func() bool {
		after = post(t, base+"/v1/auth/token", `{"email":"ada@example.com","password":"`+pw+`"}`)["access_token"].(string)
		a, _ := token.PeekHeader(after)
		b, _ := token.PeekHeader(before)
		return a.KID != b.KID
	})
	time.Sleep(250 * time.Millisecond)
	for name, tok := range map[string]string{"signed before the rotation": before, "signed after": after} {
		if st := getStatus(t, api.URL+"/hello", tok); st != 200 {
			t.Fatalf("resource server, token %s: %d", name, st)
		}
		if st := getStatus(t, base+"/v1/me", tok); st != 200 {
			t.Fatalf("gatehouse, token %s: %d", name, st)
		}
	}

	old, _ := token.PeekHeader(before)
	keys("revoke", "--dev", old.KID)
	within(t, 5*time.Second, "gatehouse refuses the revoked key's token", func() bool { return getStatus(t, base+"/v1/me", before) == 401 })
	within(t, 5*time.Second, "resource server refuses the revoked key's token", func() bool { return getStatus(t, api.URL+"/hello", before) == 401 })
	if getStatus(t, base+"/v1/me", after) != 200 || getStatus(t, api.URL+"/hello", after) != 200 {
		t.Fatal("the new key's token stopped working")
	}
	if n := jwt.Cache().Fetches(); n > 20 {
		t.Fatalf("%d JWKS fetches", n)
	}
}

// call sends a JSON request with a bearer token and decodes the answer.
func call(t *testing.T, method, u, tok, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// TestPATsAgainstGatehouseBinary runs the real gatehouse binary, registers
// the example API as an OAuth client with `gatehouse clients create` run as
// a separate process, configures it as main does (pinned to the client's
// workspace), and checks PATs made over gatehouse's HTTP API: one of the
// client's workspace works with its scopes, one of another workspace does
// not, and a deleted one stops working within the cache TTL; and access
// tokens: the workspace's client token works, another workspace's and a
// person's session token do not.
func TestPATsAgainstGatehouseBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gatehouse binary")
	}
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	base := serveDev(t, bin, dir)

	const pw = "a long passphrase nobody else has"
	session := func(email string) string {
		post(t, base+"/v1/auth/signup", `{"email":"`+email+`","password":"`+pw+`"}`)
		return post(t, base+"/v1/auth/token", `{"email":"`+email+`","password":"`+pw+`"}`)["access_token"].(string)
	}
	workspaceAndPAT := func(sess string, scopes string) (ws, pat, patID string) {
		st, w := call(t, "POST", base+"/v1/workspaces", sess, `{"name":"w"}`)
		if st != 201 {
			t.Fatalf("workspace: %d %v", st, w)
		}
		st, p := call(t, "POST", base+"/v1/tokens", sess, `{"name":"ci","workspace_id":"`+w["id"].(string)+`","scopes":`+scopes+`}`)
		if st != 201 {
			t.Fatalf("PAT: %d %v", st, p)
		}
		return w["id"].(string), p["token"].(string), p["id"].(string)
	}
	ada, bob := session("ada@example.com"), session("bob@example.com")
	ws, pat, patID := workspaceAndPAT(ada, `["workspaces:read","audit:read"]`)

	bobWS, foreign, _ := workspaceAndPAT(bob, `["workspaces:read"]`)

	type clientCreds struct{ ClientID, ClientSecret string }
	register := func(ws string) clientCreds {
		cmd := exec.Command(bin, "clients", "create", "--dev", "--workspace", ws, "--name", "example-api",
			"--grant", "client_credentials", "--scope", "workspaces:read")
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gatehouse clients create: %v\n%s", err, out)
		}
		var client clientCreds
		if err := json.Unmarshal(out, &struct {
			ClientID     *string `json:"client_id"`
			ClientSecret *string `json:"client_secret"`
		}{&client.ClientID, &client.ClientSecret}); err != nil || client.ClientSecret == "" {
			t.Fatalf("clients create printed %s (%v)", out, err)
		}
		return client
	}
	client, bobClient := register(ws), register(bobWS)

	// The example API as its main would build it from the environment.
	const ttl = 500 * time.Millisecond
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"GATEHOUSE_ISSUER": base, "EXAMPLE_WORKSPACE_ID": ws, "GATEHOUSE_CLIENT_ID": client.ClientID,
			"GATEHOUSE_CLIENT_SECRET": client.ClientSecret, "EXAMPLE_PAT_CACHE_TTL": ttl.String()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	h, _, pa, err := newHandler(cfg.jwt, cfg.pat)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(h)
	defer api.Close()

	st, v := call(t, "GET", api.URL+"/hello", pat, "")
	if sc, _ := v["scopes"].([]any); st != 200 || v["kind"] != "pat" || v["workspace_id"] != ws || v["token_id"] != patID || len(sc) != 2 {
		t.Fatalf("PAT of the client's workspace: %d %v", st, v)
	}
	if st := getStatus(t, api.URL+"/workspace", pat); st != 200 {
		t.Fatalf("/workspace with workspaces:read: %d", st)
	}
	if st := getStatus(t, api.URL+"/hello", foreign); st != 401 {
		t.Fatalf("PAT of another workspace: %d", st)
	}
	// Access tokens: the workspace's client token is in; another
	// workspace's client token and a person's session token are not.
	clientTok := func(c clientCreds) string {
		req, _ := http.NewRequest("POST", base+"/v1/oauth/token", strings.NewReader("grant_type=client_credentials&scope=workspaces:read"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			AccessToken string `json:"access_token"`
		}
		if json.NewDecoder(resp.Body).Decode(&v); v.AccessToken == "" {
			t.Fatalf("client_credentials: %d", resp.StatusCode)
		}
		return v.AccessToken
	}
	if st, v := call(t, "GET", api.URL+"/workspace", clientTok(client), ""); st != 200 || v["workspace_id"] != ws {
		t.Fatalf("the workspace's client token: %d %v", st, v)
	}
	if st := getStatus(t, api.URL+"/hello", clientTok(bobClient)); st != 401 {
		t.Fatalf("another workspace's client token: %d", st)
	}
	if st := getStatus(t, api.URL+"/hello", ada); st != 401 {
		t.Fatalf("a person's session token: %d", st)
	}
	calls := pa.Introspections()
	bad := []byte(pat)
	bad[len(bad)-1] ^= 1 // another checksum character
	if st := getStatus(t, api.URL+"/hello", string(bad)); st != 401 || pa.Introspections() != calls {
		t.Fatalf("bad checksum: %d, %d introspection calls", st, pa.Introspections()-calls)
	}

	if st, v := call(t, "DELETE", base+"/v1/tokens/"+patID, ada, ""); st != 204 {
		t.Fatalf("delete PAT: %d %v", st, v)
	}
	within(t, ttl+2*time.Second, "the deleted PAT is refused", func() bool { return getStatus(t, api.URL+"/hello", pat) == 401 })
}
