package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestFederationFailurePageForBrowsers: a failed callback or start reached
// by a browser's navigation (Accept: text/html) answers a page in words
// with the portal's headers and the same status, and no session; an API
// client (Accept: application/json) still gets the error body.
func TestFederationFailurePageForBrowsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		fl := e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-ada", "ada@example.org", true)

		nav := func(target, accept, cookie string) *httptest.ResponseRecorder {
			r := httptest.NewRequest("GET", target, nil)
			r.Header.Set("Accept", accept)
			if cookie != "" {
				r.AddCookie(&http.Cookie{Name: FederationCookie, Value: cookie})
			}
			return do(e.s, r)
		}
		const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

		// Another browser's binding: refused, as a page.
		w := nav(fl.callback, browser, "not-this-browsers-binding")
		if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("callback from a browser: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
		if b := w.Body.String(); !strings.Contains(b, "Sign-in failed") || !strings.Contains(b, "Go to gatehouse") || strings.Contains(b, `"error"`) {
			t.Errorf("the page says %s", b)
		}
		if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Frame-Options") == "" && !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("the page lacks the portal's security headers: %v", w.Header())
		}
		for _, ck := range w.Result().Cookies() {
			if (ck.Name == HostRefreshCookie || ck.Name == HostCSRFCookie) && ck.MaxAge > 0 {
				t.Fatalf("a refused callback set %s", ck.Name)
			}
		}

		// An API client keeps the JSON error body.
		refused(t, nav(fl.callback, "application/json", "not-this-browsers-binding"), http.StatusUnauthorized, "invalid_grant")

		// A start with a foreign return_to, from a browser: 400, as a page.
		w = nav("https://auth.example.com/v1/auth/providers/"+pid+"/start?return_to=https://evil.example/", browser, "")
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "return_to must be") || w.Header().Get("Location") != "" {
			t.Fatalf("start from a browser: %d %s", w.Code, w.Body.String())
		}
	})
}
