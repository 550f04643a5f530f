package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func TestCORS(t *testing.T) {
	e := newEnv(t, withCORS("https://app.example.com", "http://localhost:3000"))
	h := e.with(t, map[string]handlerFunc{
		"GET /v1/me":              func(w http.ResponseWriter, r *http.Request) error { return writeJSON(w, 200, map[string]string{}) },
		"POST /v1/auth/refresh":   func(w http.ResponseWriter, r *http.Request) error { return writeJSON(w, 200, map[string]string{}) },
		"DELETE /v1/tokens/{id}":  func(w http.ResponseWriter, r *http.Request) error { w.WriteHeader(204); return nil },
		"PATCH /v1/workspaces/x":  func(w http.ResponseWriter, r *http.Request) error { return writeJSON(w, 200, map[string]string{}) },
		"OPTIONS /v1/never-reach": func(w http.ResponseWriter, r *http.Request) error { return writeJSON(w, 500, nil) },
	})
	tests := []struct {
		name, origin string
		allowed      bool
	}{
		{"allowed", "https://app.example.com", true},
		{"allowed localhost", "http://localhost:3000", true},
		{"evil", "https://evil-app.example.com", false},
		{"suffix", "https://app.example.com.evil.com", false},
		{"prefix", "https://xapp.example.com", false},
		{"null", "null", false},
		{"other scheme", "http://app.example.com", false},
		{"other port", "https://app.example.com:8443", false},
		{"trailing slash", "https://app.example.com/", false},
		{"upper case", "https://APP.example.com", false},
		{"own origin", "https://auth.example.com", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Simple request.
			r := req("GET", "/v1/me", "", "Origin", tt.origin)
			w := do(h, r)
			assertCORS(t, w.Header(), tt.origin, tt.allowed)
			if w.Code != 200 {
				t.Fatalf("GET status %d", w.Code)
			}
			// Preflight.
			r = req("OPTIONS", "/v1/auth/refresh", "", "Origin", tt.origin,
				"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-csrf-token")
			w = do(h, r)
			if w.Code != 204 {
				t.Fatalf("preflight status %d, want 204", w.Code)
			}
			assertCORS(t, w.Header(), tt.origin, tt.allowed)
			if tt.allowed {
				if m := w.Header().Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") || !strings.Contains(m, "DELETE") || !strings.Contains(m, "PATCH") {
					t.Fatalf("Allow-Methods = %q", m)
				}
				hs := w.Header().Get("Access-Control-Allow-Headers")
				for _, want := range []string{"Authorization", "Content-Type", "X-CSRF-Token"} {
					if !strings.Contains(hs, want) {
						t.Fatalf("Allow-Headers = %q lacks %s", hs, want)
					}
				}
			}
		})
	}
}

func assertCORS(t *testing.T, h http.Header, origin string, allowed bool) {
	t.Helper()
	if !allowed {
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Fatalf("origin %q got CORS header %s: %q", origin, k, h.Get(k))
			}
		}
		return
	}
	if h.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("ACAO = %q, want %q", h.Get("Access-Control-Allow-Origin"), origin)
	}
	if h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatal("no Access-Control-Allow-Credentials: true")
	}
	if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Fatal("no Vary: Origin")
	}
}

func TestOriginCheck(t *testing.T) {
	e := newEnv(t, withCORS("https://app.example.com"))
	reached := 0
	ok := func(w http.ResponseWriter, r *http.Request) error {
		reached++
		return writeJSON(w, 200, map[string]string{})
	}
	h := e.with(t, map[string]handlerFunc{
		"POST /v1/auth/token":    ok,
		"GET /v1/me":             ok,
		"DELETE /v1/tokens/{id}": ok,
	})
	tests := []struct {
		name, method, origin, fetchSite string
		pass                            bool
	}{
		{"no origin (native app)", "POST", "", "", true},
		{"own origin", "POST", "https://auth.example.com", "same-origin", true},
		{"own origin, no fetch metadata", "POST", "https://auth.example.com", "", true},
		{"allowlisted", "POST", "https://app.example.com", "same-site", true},
		{"allowlisted cross-site", "DELETE", "https://app.example.com", "cross-site", true},
		{"evil", "POST", "https://evil-app.example.com", "cross-site", false},
		{"evil without fetch metadata", "POST", "https://evil-app.example.com", "", false},
		{"suffix attack", "POST", "https://app.example.com.evil.com", "", false},
		{"null", "POST", "null", "", false},
		{"null same-origin claim", "DELETE", "null", "same-origin", false},
		{"other scheme of own", "POST", "http://auth.example.com", "", false},
		{"other scheme of allowed", "POST", "http://app.example.com", "", false},
		{"cross-site without origin", "POST", "", "cross-site", false},
		{"same-site sibling", "POST", "https://other.example.com", "same-site", false},
		{"GET from evil passes (not state-changing)", "GET", "https://evil-app.example.com", "cross-site", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, events := reached, len(e.rec.list())
			path := "/v1/auth/token"
			switch tt.method {
			case "GET":
				path = "/v1/me"
			case "DELETE":
				path = "/v1/tokens/abc"
			}
			r := req(tt.method, path, `{}`, "Content-Type", "application/json", "X-Request-ID", "oc-1")
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tt.fetchSite)
			}
			r.RemoteAddr = fmt.Sprintf("198.51.100.%d:1234", i+1) // one client per case: no coalescing
			w := do(h, r)
			if tt.pass {
				if w.Code != 200 || reached != before+1 {
					t.Fatalf("status %d, handler reached %v; want passed", w.Code, reached != before)
				}
				return
			}
			if w.Code != 403 || errBody(t, w).Error != "origin_not_allowed" {
				t.Fatalf("status %d body %q, want 403 origin_not_allowed", w.Code, w.Body.String())
			}
			if reached != before {
				t.Fatal("the handler ran for a refused origin")
			}
			evs := e.rec.list()
			if len(evs) != events+1 {
				t.Fatalf("%d events recorded, want 1", len(evs)-events)
			}
			ev := evs[len(evs)-1]
			if ev.Type != gatehouse.EventOriginRejected || ev.Outcome != gatehouse.OutcomeFailure || ev.RequestID != "oc-1" || ev.Details["origin"] != tt.origin {
				t.Fatalf("event = %+v", ev)
			}
		})
	}
	// Two Origin headers are refused.
	r := req("POST", "/v1/auth/token", `{}`, "Origin", "https://app.example.com", "Origin", "https://evil.com")
	if w := do(h, r); w.Code != 403 {
		t.Fatalf("two origins: status %d", w.Code)
	}
}

// TestOriginEventsCoalesced: a flood of refused requests from one client
// records one event per minute, which counts what it stood for.
func TestOriginEventsCoalesced(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, func(_ *Config, d *Deps) { d.Now = func() time.Time { return now } })
	h := e.with(t, map[string]handlerFunc{"POST /v1/x": func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, 200, map[string]string{})
	}})
	send := func(ip string) int {
		r := req("POST", "/v1/x", "", "Origin", "https://evil.example.net")
		r.RemoteAddr = ip + ":1"
		return do(h, r).Code
	}
	for i := 0; i < 50; i++ {
		if c := send("203.0.113.1"); c != 403 {
			t.Fatalf("request %d: status %d, want 403 every time", i, c)
		}
	}
	send("203.0.113.2")
	if n := len(e.rec.list()); n != 2 {
		t.Fatalf("%d events for 50 requests from one client and 1 from another, want 2", n)
	}
	now = now.Add(time.Minute)
	send("203.0.113.1")
	evs := e.rec.list()
	if len(evs) != 3 || evs[2].Details["suppressed_since_last"] != "49" {
		t.Fatalf("after a minute: %d events, last %+v", len(evs), evs[len(evs)-1].Details)
	}
}

func TestCoalescerBounded(t *testing.T) {
	c := newCoalescer(time.Minute, 100)
	now := time.Now()
	for i := 0; i < 1000; i++ {
		if ok, _ := c.allow(fmt.Sprint(i), now); !ok {
			t.Fatalf("new key %d refused", i)
		}
		if len(c.seen) > 100 {
			t.Fatalf("table grew to %d", len(c.seen))
		}
	}
}

// TestCrossOriginProtectionLayer checks that Go's CrossOriginProtection is in
// the chain and answers in the contract's shape: its check alone (without
// checkOrigin) refuses a cross-site request.
func TestCrossOriginProtectionLayer(t *testing.T) {
	e := newEnv(t)
	mw, err := e.s.crossOrigin()
	if err != nil {
		t.Fatal(err)
	}
	h := e.s.requestInfo(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })))
	w := do(h, req("POST", "/v1/x", "", "Origin", "https://evil.example.net", "Sec-Fetch-Site", "cross-site"))
	if w.Code != 403 || errBody(t, w).Error != "origin_not_allowed" {
		t.Fatalf("status %d body %q", w.Code, w.Body.String())
	}
	w = do(h, req("POST", "/v1/x", "", "Origin", "https://app.example.com", "Sec-Fetch-Site", "cross-site"))
	if w.Code != 200 {
		t.Fatalf("allowlisted origin refused by the second layer: %d", w.Code)
	}
}

func TestNormalizeOrigin(t *testing.T) {
	good := map[string]string{
		"https://app.example.com":       "https://app.example.com",
		"https://App.Example.com/":      "https://app.example.com",
		"https://app.example.com:443":   "https://app.example.com",
		"http://localhost:3000":         "http://localhost:3000",
		"http://127.0.0.1:80":           "http://127.0.0.1",
		"https://[2001:db8::1]:8443":    "https://[2001:db8::1]:8443",
		" https://app.example.com:8443": "https://app.example.com:8443",
	}
	for in, want := range good {
		if got, err := NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "null", "*", "https://*.example.com", "app.example.com", "ftp://x.com",
		"https://app.example.com/path", "https://u:p@app.example.com", "https://app.example.com?x", "https://"} {
		if got, err := NormalizeOrigin(in); err == nil {
			t.Errorf("NormalizeOrigin(%q) = %q, want an error", in, got)
		}
	}
}

func FuzzOriginCheck(f *testing.F) {
	for _, s := range []string{"https://app.example.com", "null", "", "https://app.example.com.evil.com", "http://app.example.com", "\x00"} {
		f.Add(s, "cross-site")
	}
	e := newEnv(f, withCORS("https://app.example.com"))
	h := e.with(f, map[string]handlerFunc{"POST /v1/x": func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, 200, map[string]string{})
	}})
	f.Fuzz(func(t *testing.T, origin, site string) {
		r := req("POST", "/v1/x", "")
		r.Header["Origin"] = []string{origin}
		r.Header.Set("Sec-Fetch-Site", site)
		w := do(h, r)
		allowed := origin == "https://app.example.com" || (origin == "https://auth.example.com" && site != "cross-site")
		if w.Code == 200 && !allowed {
			t.Fatalf("origin %q (site %q) passed", origin, site)
		}
		if w.Code != 200 && w.Code != 403 {
			t.Fatalf("status %d", w.Code)
		}
		if origin != "https://app.example.com" && w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("origin %q got ACAO", origin)
		}
	})
}

func FuzzNormalizeOrigin(f *testing.F) {
	for _, s := range []string{"https://app.example.com", "http://[::1]:80", "https://a.b:443/", "null", "https://*.x", "HTTP://A.B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeOrigin(s)
		if err != nil {
			return
		}
		again, err := NormalizeOrigin(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeOrigin(%q) = %q, which normalizes to %q, %v", s, n, again, err)
		}
		if !strings.HasPrefix(n, "http://") && !strings.HasPrefix(n, "https://") || strings.HasSuffix(n, "/") {
			t.Fatalf("NormalizeOrigin(%q) = %q", s, n)
		}
	})
}
