package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/web"
)

// TestPortalRoutes serves the web portal through the real server: every file
// of web.Paths at its path with the portal's headers, other one-segment names
// its 404, and the API and operations routes untouched.
func TestPortalRoutes(t *testing.T) {
	e := newEnv(t)
	for _, p := range web.Paths() {
		w := do(e.s, req("GET", p, ""))
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("GET %s: %d", p, w.Code)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		if w.Header().Get("Referrer-Policy") != "no-referrer" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", p, w.Header())
		}
	}
	w := do(e.s, req("GET", "/magic-link?token=abc", ""))
	if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("GET /magic-link?token=: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if w := do(e.s, req("GET", "/no-such-file", "")); w.Code != http.StatusNotFound {
		t.Errorf("GET /no-such-file: %d", w.Code)
	}
	if w := do(e.s, req("HEAD", "/", "")); w.Code != http.StatusOK {
		t.Errorf("HEAD /: %d", w.Code)
	}
	// Not the portal's: a state change on a page, the API, operations.
	if w := do(e.s, req("POST", "/", "")); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", w.Code)
	}
	if w := do(e.s, req("GET", "/healthz", "")); w.Code != http.StatusOK || w.Header().Get("Content-Security-Policy") != "" {
		t.Errorf("GET /healthz: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
	w = do(e.s, req("GET", "/v1/no-such-thing", ""))
	if b := errBody(t, w); w.Code != http.StatusNotFound || b.Error != "not_found" {
		t.Errorf("GET /v1/no-such-thing: %d %+v", w.Code, b)
	}
}
