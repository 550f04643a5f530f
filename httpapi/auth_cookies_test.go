package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// jar is a minimal cookie-mode implementation for these handler tests (the
// browser area's CookieConfig and CSRF are the real ones; their own tests
// cover the cookie attributes).
type jar struct{}

const (
	testRefreshCookie = "__Host-gatehouse_refresh"
	testCSRFCookie    = "__Host-gatehouse_csrf"
)

func (jar) SetSessionCookies(w http.ResponseWriter, refresh, csrf string) {
	http.SetCookie(w, &http.Cookie{Name: testRefreshCookie, Value: refresh, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	http.SetCookie(w, &http.Cookie{Name: testCSRFCookie, Value: csrf, Path: "/", Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
}

func (jar) ClearSessionCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: testRefreshCookie, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.SetCookie(w, &http.Cookie{Name: testCSRFCookie, Path: "/", Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

func (jar) RefreshCookie(r *http.Request) (string, error) {
	cs := r.CookiesNamed(testRefreshCookie)
	if len(cs) > 1 {
		return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "a gatehouse cookie appears more than once")
	}
	if len(cs) == 0 {
		return "", nil
	}
	return cs[0].Value, nil
}

// guard checks X-CSRF-Token against the sessions service's CSRF token and
// keeps the refusals.
type guard struct {
	token    func(string) string
	mu       sync.Mutex
	rejected []string
}

var errTestCSRF = gatehouse.Errorf(gatehouse.ECSRFFailed, "missing or invalid CSRF token")

func (g *guard) Precheck(r *http.Request) error {
	if len(r.CookiesNamed(testRefreshCookie)) > 0 && r.Header.Get("X-CSRF-Token") == "" {
		return errTestCSRF
	}
	return nil
}

func (g *guard) Verify(r *http.Request, sid string) error {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(g.token(sid))) != 1 {
		return errTestCSRF
	}
	return nil
}

func (g *guard) Reject(r *http.Request, sid string, err error) {
	g.mu.Lock()
	g.rejected = append(g.rejected, sid)
	g.mu.Unlock()
}

func withCookieMode(g *guard) option {
	return func(_ *Config, d *Deps) {
		d.Cookies, d.CSRF = jar{}, g
		g.token = d.Sessions.CSRFToken
	}
}

// browserCall sends a request from https://app.example.com with cookies and
// an optional CSRF header, and returns the response.
func browserCall(h http.Handler, path, body, csrf string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Origin", "https://app.example.com")
	if csrf != "" {
		r.Header.Set("X-CSRF-Token", csrf)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return do(h, r)
}

func setCookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return m
}

func TestCookieMode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := &guard{}
		e := newEnv(t, withSessions(t, db, t.TempDir()), withCookieMode(g))
		h := e.s
		bearerCall(t, h, "POST", "/v1/auth/signup", "", `{"email":"jane@example.com","password":"`+httpPassword+`"}`)

		// Sign-in from a browser: the refresh token only in the cookie.
		w := browserCall(h, "/v1/auth/token", `{"email":"jane@example.com","password":"`+httpPassword+`"}`, "")
		body := decode(t, w)
		rc := setCookie(t, w, testRefreshCookie)
		if w.Code != 200 || body["refresh_token"] != nil || body["csrf_token"] == nil || rc == nil || rc.Value == "" || !rc.HttpOnly {
			t.Fatalf("cookie-mode sign-in: %d %v %+v", w.Code, body, rc)
		}
		if strings.Contains(w.Body.String(), rc.Value) {
			t.Fatal("the refresh token is in the body in cookie mode")
		}
		csrf := body["csrf_token"].(string)
		if cc := setCookie(t, w, testCSRFCookie); cc == nil || cc.Value != csrf {
			t.Fatalf("CSRF cookie %+v", cc)
		}
		sid := body["session_id"].(string)

		// Refresh with the cookie but no CSRF header: 403, nothing changes.
		w = browserCall(h, "/v1/auth/refresh", "", "", rc)
		if w.Code != 403 || decode(t, w)["error"] != "csrf_failed" {
			t.Fatalf("refresh without CSRF: %d %s", w.Code, w.Body.String())
		}
		// With a wrong one (another session's): 403, and the refusal is recorded.
		w = browserCall(h, "/v1/auth/refresh", "", "AAAA"+csrf[4:], rc)
		if w.Code != 403 {
			t.Fatalf("refresh with a wrong CSRF token: %d", w.Code)
		}
		if len(g.rejected) != 2 || g.rejected[1] != sid {
			t.Fatalf("rejections %v", g.rejected)
		}
		// With it: a new cookie, the same CSRF token (it is per session).
		w = browserCall(h, "/v1/auth/refresh", "", csrf, rc)
		body = decode(t, w)
		rc2 := setCookie(t, w, testRefreshCookie)
		if w.Code != 200 || rc2 == nil || rc2.Value == rc.Value || body["csrf_token"] != csrf || body["refresh_token"] != nil {
			t.Fatalf("cookie refresh: %d %v", w.Code, body)
		}
		// Two refresh cookies: refused.
		w = browserCall(h, "/v1/auth/refresh", "", csrf, rc2, &http.Cookie{Name: testRefreshCookie, Value: "planted"})
		if w.Code != 400 {
			t.Fatalf("cookie tossing: %d", w.Code)
		}
		// Logout clears the cookies; the cookie then gets 401 even with a
		// valid CSRF header, and is cleared again.
		w = browserCall(h, "/v1/auth/logout", "", csrf, rc2)
		if w.Code != 204 {
			t.Fatalf("logout: %d %s", w.Code, w.Body.String())
		}
		if c := setCookie(t, w, testRefreshCookie); c == nil || c.MaxAge >= 0 {
			t.Fatalf("logout did not clear the refresh cookie: %+v", c)
		}
		w = browserCall(h, "/v1/auth/refresh", "", csrf, rc2)
		if w.Code != 401 || decode(t, w)["error"] != "invalid_grant" || setCookie(t, w, testRefreshCookie) == nil {
			t.Fatalf("refresh after logout: %d %s", w.Code, w.Body.String())
		}
		// No cookie, no body: 401 invalid_grant.
		w = browserCall(h, "/v1/auth/refresh", "", "")
		if w.Code != 401 {
			t.Fatalf("refresh with nothing: %d", w.Code)
		}
	})
}

