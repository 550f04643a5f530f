package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

func withDeviceKey() option {
	return func(_ *Config, d *Deps) { d.DeviceKey = bytes.Repeat([]byte("d"), 32) }
}

// lockoutEnv is the real sign-in (real store, cookie mode, device cookies)
// behind a trusted proxy, so each request can come from its own address.
func lockoutEnv(t *testing.T, db *sqlstore.DB, mailDir, overrides string) *testEnv {
	return lockoutEnvOn(t, memory.New(memory.Options{}), db, mailDir, overrides)
}

func lockoutEnvOn(t *testing.T, b ratelimit.Backend, db *sqlstore.DB, mailDir, overrides string) *testEnv {
	return limitEnv(t, b, overrides, withTrustedProxies("10.0.0.0/8"),
		withSessions(t, db, mailDir), withCookieMode(t, CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: time.Hour}), withDeviceKey())
}

// from sends r as coming from ip through the trusted proxy.
func from(r *http.Request, ip string) *http.Request {
	r.RemoteAddr = "10.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", ip)
	return r
}

// browserSignIn signs in from ip as a browser (cookie mode) carrying the
// device cookie device ("" none); it returns the status and the device
// cookie set, if any, with its Set-Cookie line.
func browserSignIn(t *testing.T, h http.Handler, ip, email, password, device string) (int, string, string) {
	t.Helper()
	r := from(req("POST", "/v1/auth/token", `{"email":"`+email+`","password":"`+password+`"}`,
		"Content-Type", "application/json", "Origin", "https://app.example.com", "Sec-Fetch-Site", "same-site"), ip)
	if device != "" {
		r.Header.Set("Cookie", HostDeviceCookie+"="+device)
	}
	w := do(h, r)
	for _, line := range w.Result().Header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(line, HostDeviceCookie+"="); ok {
			v, _, _ = strings.Cut(v, ";")
			return w.Code, v, line
		}
	}
	return w.Code, "", ""
}

// Ten wrong passwords from ten addresses lock the account for strangers,
// but the owner's browser, holding the device cookie of an earlier sign-in,
// still signs in with the right password; a forged device cookie or
// another account's does not help. Body-mode clients get no device cookie.
func TestLockoutSparesTheOwnersBrowser(t *testing.T) {
	c, prefix := redistest.Open(t)
	for name, backend := range map[string]func(t *testing.T) ratelimit.Backend{
		"memory": func(*testing.T) ratelimit.Backend { return memory.New(memory.Options{}) },
		"redis": func(t *testing.T) ratelimit.Backend {
			return rlredis.New(c, rlredis.Options{Prefix: prefix + t.Name() + ":"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
				lockoutSparesTheOwner(t, lockoutEnvOn(t, backend(t), db, t.TempDir(), "token.ip=1000/1m, token.account=100/1m"))
			})
		})
	}
}

func lockoutSparesTheOwner(t *testing.T, e *testEnv) {
	for _, email := range []string{"jane@example.com", "john@example.com"} {
		r := from(req("POST", "/v1/auth/signup", `{"email":"`+email+`","password":"`+httpPassword+`"}`, "Content-Type", "application/json"), "192.0.2.9")
		if w := do(e.s, r); w.Code != 201 {
			t.Fatalf("signup: %d %s", w.Code, w.Body)
		}
	}
	const home = "198.51.100.7"
	code, device, line := browserSignIn(t, e.s, home, "jane@example.com", httpPassword, "")
	if code != 200 || device == "" {
		t.Fatalf("browser sign-in: %d, device cookie %q", code, device)
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict", "Max-Age="} {
		if !strings.Contains(line, attr) {
			t.Fatalf("device cookie %q lacks %s", line, attr)
		}
	}
	if strings.Contains(strings.ToLower(line), "jane") {
		t.Fatalf("the device cookie shows the address: %q", line)
	}
	_, johns, _ := browserSignIn(t, e.s, "198.51.100.8", "john@example.com", httpPassword, "")
	// Body mode: no device cookie.
	w := do(e.s, from(req("POST", "/v1/auth/token", `{"email":"john@example.com","password":"`+httpPassword+`"}`, "Content-Type", "application/json"), "198.51.100.8"))
	if w.Code != 200 || len(w.Result().Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("body-mode sign-in: %d, Set-Cookie %q", w.Code, w.Result().Header.Values("Set-Cookie"))
	}

	for i := 0; i < 10; i++ {
		r := from(req("POST", "/v1/auth/token", `{"email":"jane@example.com","password":"not the password at all"}`, "Content-Type", "application/json"), fmt.Sprintf("203.0.113.%d", i))
		if w := do(e.s, r); w.Code != 401 {
			t.Fatalf("wrong password %d: %d", i+1, w.Code)
		}
	}
	if code, _, _ := browserSignIn(t, e.s, "203.0.113.99", "jane@example.com", httpPassword, ""); code != 429 {
		t.Fatalf("a stranger's browser with the right password: %d, want 429", code)
	}
	if code, _, _ := browserSignIn(t, e.s, home, "jane@example.com", httpPassword, ""); code != 429 {
		t.Fatalf("the owner without the device cookie: %d, want 429", code)
	}
	code, next, _ := browserSignIn(t, e.s, home, "jane@example.com", httpPassword, device)
	if code != 200 || next == "" {
		t.Fatalf("the owner's browser with its device cookie: %d (new cookie %q), want 200", code, next)
	}
	nonce, _, _ := strings.Cut(device, ".")
	for name, forged := range map[string]string{"another account's": johns, "forged": nonce + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if code, _, _ := browserSignIn(t, e.s, "203.0.113.98", "jane@example.com", httpPassword, forged); code != 429 {
			t.Fatalf("%s device cookie: %d, want 429", name, code)
		}
	}
}

// Past magic_link.email an address's magic-link requests are still answered
// 202, and nothing is sent: a flood of requests for the owner's address
// never refuses the owner. The per-IP policy still refuses with 429.
func TestMagicLinkNeverLocksOut(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mailDir := t.TempDir()
		e := lockoutEnv(t, db, mailDir, "magic_link.email=2/1h, magic_link.ip=8/1h")
		r := from(req("POST", "/v1/auth/signup", `{"email":"jane@example.com","password":"`+httpPassword+`"}`, "Content-Type", "application/json"), "192.0.2.9")
		if w := do(e.s, r); w.Code != 201 {
			t.Fatalf("signup: %d", w.Code)
		}
		ask := func(ip, email string) *http.Response {
			r := from(req("POST", "/v1/auth/magic-link", `{"email":"`+email+`"}`, "Content-Type", "application/json"), ip)
			return do(e.s, r).Result()
		}
		// An attacker from many addresses, then the owner.
		for i := 0; i < 6; i++ {
			if res := ask(fmt.Sprintf("203.0.113.%d", i), "Jane@example.com"); res.StatusCode != 202 {
				t.Fatalf("request %d: %d, want 202", i+1, res.StatusCode)
			}
		}
		res := ask("198.51.100.7", "jane@example.com")
		if res.StatusCode != 202 || !strings.Contains(res.Header.Get("RateLimit"), `"magic_link.email";r=0`) {
			t.Fatalf("the owner's request past magic_link.email: %d, RateLimit %q; want 202", res.StatusCode, res.Header.Get("RateLimit"))
		}
		if ents, _ := os.ReadDir(mailDir); len(ents) != 2 {
			t.Fatalf("%d mails sent, want 2 (magic_link.email=2/1h)", len(ents))
		}
		if n := countEvents(e.rec, gatehouse.EventRateLimitExceeded); n != 1 {
			t.Fatalf("%d rate_limit.exceeded events, want 1", n)
		}
		// The per-IP policy still applies.
		for i := 0; i < 8; i++ {
			ask("198.51.100.50", fmt.Sprintf("u%d@example.com", i))
		}
		if res := ask("198.51.100.50", "jane@example.com"); res.StatusCode != 429 {
			t.Fatalf("past magic_link.ip: %d, want 429", res.StatusCode)
		}
	})
}
