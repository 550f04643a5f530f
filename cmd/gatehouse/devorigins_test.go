package main

import (
	"net"
	"slices"
	"testing"
)

// TestDevOriginsBothLoopbackNames: under --dev both localhost and 127.0.0.1
// are gatehouse's own (the portal signs in whichever the browser uses), the
// usual dev servers are allowed; nothing is added without --dev or for a
// public URL that is not loopback.
func TestDevOriginsBothLoopbackNames(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{}), true, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"http://localhost:8080", "http://localhost:5173", "http://127.0.0.1:5173"} {
		if !slices.Contains(c.CORSOrigins, o) {
			t.Errorf("--dev: %s not allowed (%v)", o, c.CORSOrigins)
		}
	}
	if slices.Contains(c.CORSOrigins, "http://127.0.0.1:8080") {
		t.Error("the public origin itself is listed as a CORS origin")
	}
	env := prodEnv()
	env["GATEHOUSE_PUBLIC_URL"] = "http://127.0.0.1:8080"
	p, err := loadConfig(envOf(env), false, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.CORSOrigins) != 0 {
		t.Errorf("production got dev origins: %v", p.CORSOrigins)
	}
	env = map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com"}
	d, err := loadConfig(envOf(env), true, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.CORSOrigins) != 0 {
		t.Errorf("--dev with a real public URL got dev origins: %v", d.CORSOrigins)
	}
}

// TestServeDevSignInFromLocalhost: the portal opened as localhost signs in
// (the server's public URL says 127.0.0.1).
func TestServeDevSignInFromLocalhost(t *testing.T) {
	t.Chdir(t.TempDir())
	const pw = "quiet lanterns drift over Tallinn"
	if _, err := admin1(t, pw+"\n", "users", "create", "--dev", "--email", "loc@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // a free port, so the public URL names it
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := start(t, map[string]string{"GATEHOUSE_ADDR": addr}, "--dev")
	origin := "http://localhost:" + r.base[len("http://127.0.0.1:"):]
	resp, v := call(t, "POST", r.base+"/v1/auth/token", `{"email":"loc@example.com","password":"`+pw+`"}`,
		"Content-Type", "application/json", "Origin", origin, "Sec-Fetch-Site", "same-site")
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in from %s: %d %v", origin, resp.StatusCode, v)
	}
	resp, v = call(t, "POST", r.base+"/v1/auth/token", `{"email":"loc@example.com","password":"`+pw+`"}`,
		"Content-Type", "application/json", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != 403 || v["error"] != "origin_not_allowed" {
		t.Fatalf("sign-in from another origin: %d %v", resp.StatusCode, v)
	}
}

// TestDevLimitsGenerous: --dev allows ten times the default rates (not the
// failed-auth ceilings) unless GATEHOUSE_RATE_LIMITS says otherwise.
func TestDevLimitsGenerous(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{}), true, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimits["signup.ip"].Limit != 100 || c.RateLimits["failed_auth.account"].Limit != 10 {
		t.Fatalf("dev limits: signup.ip %d failed_auth.account %d", c.RateLimits["signup.ip"].Limit, c.RateLimits["failed_auth.account"].Limit)
	}
	c, err = loadConfig(envOf(map[string]string{"GATEHOUSE_RATE_LIMITS": "token.ip=5/1m"}), true, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimits["signup.ip"].Limit != 10 || c.RateLimits["token.ip"].Limit != 5 {
		t.Fatalf("dev limits with GATEHOUSE_RATE_LIMITS: %+v", c.RateLimits["signup.ip"])
	}
}
