package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// withCookieMode turns cookie mode on, wired as serve wires it: the cookie
// settings, and the CSRF check keyed by the sessions service's own token
// derivation, recording through its core. Put it after withSessions.
func withCookieMode(t testing.TB, cc CookieConfig) option {
	return func(c *Config, d *Deps) {
		g, err := NewCSRF(CSRFConfig{Token: d.Sessions.CSRFToken, Record: d.Sessions.Record, Log: d.Logger})
		if err != nil {
			t.Fatal(err)
		}
		d.Cookies, d.CSRF = cc, g
	}
}

// browserClient is a minimal cookie jar and request maker for one origin.
type browserClient struct {
	t      *testing.T
	h      http.Handler
	origin string
	jar    map[string]string
}

type answer struct {
	code    int
	body    map[string]any
	cookies []string // Set-Cookie lines
}

func (b *browserClient) do(method, path, contentType, body string, hdr map[string]string) answer {
	b.t.Helper()
	r := httptest.NewRequest(method, "https://auth.example.com"+path, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if b.origin != "" {
		r.Header.Set("Origin", b.origin)
		r.Header.Set("Sec-Fetch-Site", "same-site")
	}
	var pairs []string
	for k, v := range b.jar {
		pairs = append(pairs, k+"="+v)
	}
	if len(pairs) > 0 {
		r.Header.Set("Cookie", strings.Join(pairs, "; "))
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := do(b.h, r)
	a := answer{code: w.Code, cookies: w.Result().Header.Values("Set-Cookie")}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &a.body); err != nil {
			b.t.Fatalf("%s %s: body %q", method, path, w.Body.String())
		}
	}
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(b.jar, ck.Name)
		} else {
			b.jar[ck.Name] = ck.Value
		}
	}
	return a
}

func (b *browserClient) post(path string, hdr map[string]string) answer {
	b.t.Helper()
	return b.do("POST", path, "application/json", "{}", hdr)
}

// csrfRejections returns the csrf.rejected events stored so far.
func csrfRejections(t *testing.T, s *auth.Sessions) []*gatehouse.AuditEvent {
	t.Helper()
	var evs []*gatehouse.AuditEvent
	err := s.InTx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx *auth.Tx) error {
		var err error
		evs, err = tx.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.EventCSRFRejected, Limit: 50})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// attrsOf returns a Set-Cookie line's attributes without the value and
// Max-Age, for comparing a set with its clear.
func attrsOf(t *testing.T, line string) (name string, maxAge string, rest map[string]string) {
	name, _, attrs := setCookieAttrs(t, line)
	maxAge = attrs["max-age"]
	delete(attrs, "max-age")
	return name, maxAge, attrs
}

// TestCookieModeHTTP is docs/reference.md §§3–4 through the real server and
// sessions service, on both stores and both cookie-domain settings.
func TestCookieModeHTTP(t *testing.T) {
	configs := map[string]CookieConfig{
		"host-only": {SameSite: http.SameSiteStrictMode, RefreshTTL: 720 * time.Hour},
		"domain":    {Domain: "example.com", SameSite: http.SameSiteLaxMode, RefreshTTL: 720 * time.Hour},
	}
	for cname, cc := range configs {
		t.Run(cname, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
				var sessions *auth.Sessions
				e := newEnv(t, withSessions(t, db, t.TempDir()), withCookieMode(t, cc),
					func(_ *Config, d *Deps) { sessions = d.Sessions })
				if code, _ := call(t, e.s, "POST", "/v1/auth/signup", "", `{"email":"ada@example.com","password":"`+httpPassword+`"}`); code != 201 {
					t.Fatalf("signup: %d", code)
				}
				app := &browserClient{t: t, h: e.s, origin: "https://app.example.com", jar: map[string]string{}}

				// Sign-in from a browser: cookie mode.
				a := app.do("POST", "/v1/auth/token", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`, nil)
				if a.code != 200 || a.body["csrf_token"] == nil || a.body["access_token"] == nil {
					t.Fatalf("token: %d %v", a.code, a.body)
				}
				if _, ok := a.body["refresh_token"]; ok {
					t.Fatal("cookie mode put the refresh token in the body")
				}
				csrf := a.body["csrf_token"].(string)
				sid := a.body["session_id"].(string)
				if len(a.cookies) != 2 {
					t.Fatalf("Set-Cookie %q", a.cookies)
				}
				set := map[string]map[string]string{}
				for _, line := range a.cookies {
					name, maxAge, attrs := attrsOf(t, line)
					if maxAge != "2592000" {
						t.Errorf("%s Max-Age %s", name, maxAge)
					}
					set[name] = attrs
				}
				if set[cc.RefreshCookieName()] == nil || set[cc.CSRFCookieName()] == nil {
					t.Fatalf("cookie names %v", set)
				}
				if app.jar[cc.CSRFCookieName()] != csrf {
					t.Errorf("CSRF cookie %q, body %q", app.jar[cc.CSRFCookieName()], csrf)
				}
				rt0 := app.jar[cc.RefreshCookieName()]

				// Refresh with the header: rotation, same CSRF token (bound to the session).
				a = app.post("/v1/auth/refresh", map[string]string{"X-CSRF-Token": csrf})
				if a.code != 200 || a.body["csrf_token"] != csrf || a.body["session_id"] != sid || app.jar[cc.RefreshCookieName()] == rt0 {
					t.Fatalf("refresh: %d %v", a.code, a.body)
				}
				if _, ok := a.body["refresh_token"]; ok {
					t.Fatal("refresh put the refresh token in the body")
				}
				rt1 := app.jar[cc.RefreshCookieName()]

				// Refusals: each 4xx, no Set-Cookie, nothing changes.
				otherCSRF := sessions.CSRFToken(gatehouse.NewID(time.Now()))
				refusals := []struct {
					name        string
					method, ct  string
					body        string
					hdr         map[string]string
					status      int
					code        string
					csrfEvent   bool
					extraCookie string
				}{
					{"no header", "POST", "application/json", "{}", nil, 403, "csrf_failed", true, ""},
					{"another session's token", "POST", "application/json", "{}", map[string]string{"X-CSRF-Token": otherCSRF}, 403, "csrf_failed", true, ""},
					{"the CSRF cookie's name as the value", "POST", "application/json", "{}", map[string]string{"X-CSRF-Token": cc.CSRFCookieName()}, 403, "csrf_failed", true, ""},
					{"form-encoded", "POST", "application/x-www-form-urlencoded", "a=b", map[string]string{"X-CSRF-Token": csrf}, 415, "unsupported_media_type", false, ""},
					{"text/plain", "POST", "text/plain", "{}", map[string]string{"X-CSRF-Token": csrf}, 415, "unsupported_media_type", false, ""},
					{"state change through GET", "GET", "", "", map[string]string{"X-CSRF-Token": csrf}, 405, "invalid_request", false, ""},
					{"cookie tossing", "POST", "application/json", "{}", map[string]string{"X-CSRF-Token": csrf}, 400, "invalid_request", false, cc.RefreshCookieName() + "=tossed"},
				}
				for _, path := range []string{"/v1/auth/refresh", "/v1/auth/logout"} {
					for _, rf := range refusals {
						before := len(csrfRejections(t, sessions))
						hdr := map[string]string{}
						for k, v := range rf.hdr {
							hdr[k] = v
						}
						if rf.extraCookie != "" {
							hdr["Cookie"] = cc.RefreshCookieName() + "=" + rt1 + "; " + rf.extraCookie
						}
						a = app.do(rf.method, path, rf.ct, rf.body, hdr)
						if a.code != rf.status || a.body["error"] != rf.code || len(a.cookies) != 0 {
							t.Errorf("%s %s: %d %v Set-Cookie %q; want %d %s", path, rf.name, a.code, a.body, a.cookies, rf.status, rf.code)
						}
						after := csrfRejections(t, sessions)
						if rf.csrfEvent && (len(after) != before+1 || after[0].Target != "session:"+sid || after[0].Details["path"] != path) {
							t.Errorf("%s %s: csrf.rejected events %d → %d %+v", path, rf.name, before, len(after), after)
						}
						if !rf.csrfEvent && len(after) != before {
							t.Errorf("%s %s: recorded csrf.rejected", path, rf.name)
						}
						if app.jar[cc.RefreshCookieName()] != rt1 {
							t.Fatalf("%s %s changed the refresh cookie", path, rf.name)
						}
					}
				}
				// The session survived every refusal.
				a = app.post("/v1/auth/refresh", map[string]string{"X-CSRF-Token": csrf})
				if a.code != 200 {
					t.Fatalf("refresh after the refusals: %d %v", a.code, a.body)
				}
				rt2 := app.jar[cc.RefreshCookieName()]

				// Logout clears both cookies with exactly the attributes of the set.
				a = app.post("/v1/auth/logout", map[string]string{"X-CSRF-Token": csrf})
				if a.code != 204 || len(a.cookies) != 2 {
					t.Fatalf("logout: %d Set-Cookie %q", a.code, a.cookies)
				}
				for _, line := range a.cookies {
					name, maxAge, attrs := attrsOf(t, line)
					if maxAge != "0" {
						t.Errorf("clear of %s: Max-Age %q", name, maxAge)
					}
					want := set[name]
					if want == nil || len(want) != len(attrs) {
						t.Errorf("clear of %s: %v, set %v", name, attrs, want)
					}
					for k, v := range want {
						if attrs[k] != v {
							t.Errorf("clear of %s: %s=%q, set %q", name, k, attrs[k], v)
						}
					}
				}
				if len(app.jar) != 0 {
					t.Errorf("jar after logout: %v", app.jar)
				}

				// The dead cookie, even with its valid CSRF header: 401
				// invalid_grant, and the cookies are cleared again.
				app.jar[cc.RefreshCookieName()] = rt2
				a = app.post("/v1/auth/refresh", map[string]string{"X-CSRF-Token": csrf})
				if a.code != 401 || a.body["error"] != "invalid_grant" {
					t.Fatalf("refresh with a revoked cookie: %d %v", a.code, a.body)
				}
				if len(a.cookies) != 2 || len(app.jar) != 0 {
					t.Errorf("a dead cookie was not cleared: %q", a.cookies)
				}
				// No cookie at all in cookie mode: 401 invalid_grant.
				if a = app.post("/v1/auth/refresh", map[string]string{"X-CSRF-Token": csrf}); a.code != 401 || a.body["error"] != "invalid_grant" {
					t.Fatalf("refresh without a cookie: %d %v", a.code, a.body)
				}

				// A native client (no Origin) gets body mode and no cookies.
				native := &browserClient{t: t, h: e.s, jar: map[string]string{}}
				a = native.do("POST", "/v1/auth/token", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`, nil)
				if a.code != 200 || a.body["refresh_token"] == nil || a.body["csrf_token"] != nil || len(a.cookies) != 0 {
					t.Fatalf("body mode: %d %v %q", a.code, a.body, a.cookies)
				}
			})
		})
	}
}

// TestCookieTossingAnywhere: a duplicated gatehouse cookie is refused on any
// API route, not only where a handler reads it; other cookies and the
// portal's pages are left alone.
func TestCookieTossingAnywhere(t *testing.T) {
	for _, cc := range []CookieConfig{{RefreshTTL: time.Hour}, {Domain: "example.com", RefreshTTL: time.Hour}} {
		e := newEnv(t, func(_ *Config, d *Deps) { d.Cookies = cc; d.CSRF = &CSRF{} })
		for _, tt := range []struct {
			path, cookie string
			status       int
		}{
			{"/v1/me", cc.RefreshCookieName() + "=a; " + cc.RefreshCookieName() + "=b", 400},
			{"/v1/workspaces", cc.CSRFCookieName() + "=a; " + cc.CSRFCookieName() + "=b", 400},
			{"/v1/me", "other=a; other=b; " + cc.RefreshCookieName() + "=a", 401},
			{"/", cc.RefreshCookieName() + "=a; " + cc.RefreshCookieName() + "=b", 200},
		} {
			w := do(e.s, req("GET", tt.path, "", "Cookie", tt.cookie))
			if w.Code != tt.status {
				t.Errorf("%s with %q: %d, want %d", tt.path, tt.cookie, w.Code, tt.status)
			}
			if tt.status == 400 {
				if b := errBody(t, w); b.Error != "invalid_request" {
					t.Errorf("%s: %+v", tt.path, b)
				}
			}
		}
	}
}
