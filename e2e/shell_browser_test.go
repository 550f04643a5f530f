package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/gatehouse-auth/gatehouse/web"
)

// TestSecureCookiesOnLocalhost checks the premise of the browser tests:
// Chromium treats http://localhost as a secure context, so it keeps the
// contract's Secure, __Host- cookies there; it sends SameSite=Strict cookies
// to another port of localhost (same site) on a credentialed CORS fetch; and
// a clear with the set's attributes removes them from the jar.
func TestSecureCookiesOnLocalhost(t *testing.T) {
	b := newBrowser(t)
	cfg := httpapi.CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: time.Hour}
	var appOrigin string
	var mu sync.Mutex
	var seen []string
	api := serveLocalhost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == appOrigin {
			w.Header().Set("Access-Control-Allow-Origin", appOrigin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Vary", "Origin")
		}
		switch r.URL.Path {
		case "/set":
			cfg.SetSessionCookies(w, "refresh-value", "csrf-value")
		case "/clear":
			cfg.ClearSessionCookies(w)
		case "/echo":
			rt, _ := cfg.RefreshCookie(r)
			mu.Lock()
			seen = append(seen, rt)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>ok</title>")
	}))
	appOrigin = serveLocalhost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>app</title>")
	}))

	// Same origin: a navigation sets both cookies.
	b.do(t, chromedp.Navigate(api+"/set"))
	cks := b.cookies(t)
	rc, cc := findCookie(cks, httpapi.HostRefreshCookie), findCookie(cks, httpapi.HostCSRFCookie)
	if rc == nil || cc == nil {
		t.Fatalf("Chromium dropped the Secure __Host- cookies on http://localhost: %v", cookieNames(cks))
	}
	if !rc.Secure || !rc.HTTPOnly || rc.SameSite != network.CookieSameSiteStrict || rc.Path != "/" || rc.Domain != "localhost" {
		t.Errorf("refresh cookie %+v", rc)
	}
	if !cc.Secure || cc.HTTPOnly || cc.Path != "/" {
		t.Errorf("csrf cookie %+v", cc)
	}
	// Script sees the CSRF cookie, never the refresh cookie.
	if dc := eval[string](t, b, "document.cookie"); dc != httpapi.HostCSRFCookie+"=csrf-value" {
		t.Errorf("document.cookie = %q", dc)
	}

	// Another port of localhost is another origin but the same site: a
	// credentialed CORS fetch carries the SameSite=Strict refresh cookie.
	b.do(t, chromedp.Navigate(appOrigin+"/"))
	status := eval[int](t, b, fmt.Sprintf(`fetch(%q, {method: 'POST', credentials: 'include'}).then(r => r.status)`, api+"/echo"))
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	if status != 200 || len(got) != 1 || got[0] != "refresh-value" {
		t.Fatalf("cross-port fetch: status %d, refresh cookie seen %q", status, got)
	}

	// The clear, sent to a credentialed CORS fetch, empties the jar.
	status = eval[int](t, b, fmt.Sprintf(`fetch(%q, {method: 'POST', credentials: 'include'}).then(r => r.status)`, api+"/clear"))
	if status != 200 {
		t.Fatalf("clear: status %d", status)
	}
	if cks := b.cookies(t); findCookie(cks, httpapi.HostRefreshCookie) != nil || findCookie(cks, httpapi.HostCSRFCookie) != nil {
		t.Fatalf("cookies left after the clear: %v", cookieNames(cks))
	}
}

func cookieNames(cks []*network.Cookie) []string {
	var out []string
	for _, c := range cks {
		out = append(out, c.Name+"@"+c.Domain+c.Path)
	}
	return out
}

// fakeAPI answers the few /v1/ calls the portal makes, so that the portal's
// own behaviour (what it sends, what it keeps, what its service worker
// caches) can be checked before the real server is wired in. It is not a
// stand-in for the server's logic: TestBrowser* against the real server do that.
type fakeAPI struct {
	mu    sync.Mutex
	n     int
	calls []fakeCall
	cfg   httpapi.CookieConfig
}

type fakeCall struct {
	Method, Path, CSRF, Auth, ContentType string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.calls = append(f.calls, fakeCall{r.Method, r.URL.Path, r.Header.Get("X-CSRF-Token"), r.Header.Get("Authorization"), r.Header.Get("Content-Type")})
	f.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/auth/token":
		f.cfg.SetSessionCookies(w, "fake-refresh", "fake-csrf-cookie")
		reply(200, map[string]any{"token_type": "Bearer", "access_token": "fake-access", "expires_in": 900,
			"session_id": "s1", "csrf_token": "fake-csrf"})
	case "POST /v1/auth/logout":
		f.cfg.ClearSessionCookies(w)
		w.WriteHeader(http.StatusNoContent)
	case "POST /v1/auth/refresh", "POST /v1/auth/magic-link/verify":
		reply(401, map[string]string{"error": "invalid_grant", "error_description": "no"})
	case "GET /v1/me":
		reply(200, map[string]any{"id": "u1", "email": "ada@example.com", "status": "active"})
	case "GET /v1/auth/sessions":
		reply(200, map[string]any{"sessions": []map[string]any{{"id": "s1", "created_at": "2026-11-28T07:00:00Z",
			"last_used_at": "2026-11-28T07:00:00Z", "ip": "127.0.0.0", "user_agent": "Chromium", "current": true}}})
	case "GET /v1/workspaces":
		reply(200, map[string]any{"workspaces": []any{}})
	default:
		reply(200, map[string]any{"n": n})
	}
}

func (f *fakeAPI) log() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// portalMux serves the portal at its paths and h for everything else.
func portalMux(h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	p := web.Handler()
	for _, path := range web.Paths() {
		if path == "/" {
			mux.Handle("GET /{$}", p)
		} else {
			mux.Handle("GET "+path, p)
		}
	}
	mux.Handle("/v1/", h)
	mux.Handle("/.well-known/", h)
	return mux
}

// watchCSP makes every page the tab loads collect its CSP violations in
// window.__csp, before any of the page's own scripts run.
func watchCSP(t *testing.T, b *browser) {
	t.Helper()
	_, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	if err != nil {
		t.Fatal(err)
	}
}

const cacheListJS = `(async () => {
  const out = [];
  for (const k of await caches.keys()) {
    const c = await caches.open(k);
    for (const r of await c.keys()) { const u = new URL(r.url); out.push(k + ' ' + u.pathname + u.search); }
  }
  return out;
})()`

func shellCacheCheck(t *testing.T, b *browser) {
	t.Helper()
	entries := eval[[]string](t, b, cacheListJS)
	if len(entries) == 0 {
		t.Fatal("the service worker cached nothing: the shell is missing")
	}
	var shell []string
	for _, p := range web.Paths() {
		if p != "/sw.js" {
			shell = append(shell, p)
		}
	}
	for _, e := range entries {
		name, path, _ := strings.Cut(e, " ")
		if !strings.HasPrefix(name, "gatehouse-shell-") || !slices.Contains(shell, path) {
			t.Errorf("cache entry %q is not the static shell", e)
		}
		if strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/.well-known/") || strings.Contains(path, "?") {
			t.Errorf("cache entry %q holds an API response or a query", e)
		}
	}
}

// TestPortalShellInBrowser loads the portal in Chromium: the signed-out form
// is in the page's own DOM, nothing breaks the CSP, the service worker
// caches only the shell (not API responses, not the magic-link token), the
// magic-link token leaves the URL, and signing in and out sends what the
// contract's cookie mode asks and leaves nothing behind.
func TestPortalShellInBrowser(t *testing.T) {
	b := newBrowser(t)
	watchCSP(t, b)
	api := &fakeAPI{cfg: httpapi.CookieConfig{RefreshTTL: time.Hour}}
	origin, stop := serveLocalhostClosable(t, portalMux(api))

	b.do(t, chromedp.Navigate(origin+"/"),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`))

	// The form, visible, in the document itself (no shadow root, no frame).
	form := eval[map[string]bool](t, b, `(() => {
	  const f = document.querySelector('form');
	  const e = document.querySelector('form input[type=email]');
	  const p = document.querySelector('form input[type=password]');
	  const vis = (n) => !!n && n.getClientRects().length > 0 && getComputedStyle(n).visibility !== 'hidden';
	  return {form: !!f, email: vis(e), password: vis(p), sameForm: !!e && !!p && e.form === p.form,
	          frames: window.frames.length > 0, signedIn: window.gatehousePortal.signedIn()};
	})()`)
	if !form["form"] || !form["email"] || !form["password"] || !form["sameForm"] || form["frames"] || form["signedIn"] {
		t.Fatalf("signed-out page: %v", form)
	}

	// The service worker installs, activates and takes control of the page.
	b.do(t, chromedp.Poll[chromedp.Void](`navigator.serviceWorker.controller !== null`, chromedp.WithPollingTimeout(20*time.Second)))

	// API calls through the controlled page reach the network every time.
	ns := eval[[]int](t, b, `(async () => {
	  const out = [];
	  for (const p of ['/v1/ping', '/v1/ping', '/.well-known/jwks.json', '/.well-known/jwks.json']) {
	    const r = await fetch(p, {credentials: 'include'});
	    out.push((await r.json()).n);
	  }
	  return out;
	})()`)
	if len(ns) != 4 || ns[0] == ns[1] || ns[2] == ns[3] {
		t.Errorf("API responses came from a cache: %v", ns)
	}

	// The magic-link page: the token leaves the address bar and history,
	// and gets posted when the button is pressed (the fake answers 401).
	b.do(t, chromedp.Navigate(origin+"/magic-link?token=secret-link-token"),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`),
		chromedp.Click(chromedp.CSS("#link-go")),
		chromedp.Poll[chromedp.Void](`document.getElementById('magic-title').textContent.includes('expired')`))
	if href := eval[string](t, b, `location.href`); strings.Contains(href, "token") {
		t.Errorf("the magic-link token is still in the URL: %s", href)
	}
	if msg := eval[string](t, b, `document.getElementById('magic-title').textContent`); !strings.Contains(msg, "expired") {
		t.Errorf("magic-link page says %q", msg)
	}
	shellCacheCheck(t, b)

	// Sign in through the form.
	b.do(t, chromedp.Navigate(origin+"/"),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), "correct horse battery staple"),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-in'`),
		chromedp.Click(chromedp.CSS(`#nav a[href="#/security"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#sessions-body tr').length === 1`),
	)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != "ada@example.com" {
		t.Errorf("whoami %q", who)
	}
	// Nothing in web storage, the password field emptied.
	if n := eval[int](t, b, `localStorage.length + sessionStorage.length + document.getElementById('signin-password').value.length`); n != 0 {
		t.Errorf("portal left %d things in storage or the form", n)
	}

	b.do(t, chromedp.Click(chromedp.CSS("#signout")),
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-out' && !window.gatehousePortal.signedIn()`))
	shellCacheCheck(t, b)
	if n := eval[int](t, b, `localStorage.length + sessionStorage.length`); n != 0 {
		t.Errorf("web storage holds %d items after sign-out", n)
	}
	if cks := b.cookies(t); findCookie(cks, httpapi.HostRefreshCookie) != nil || findCookie(cks, httpapi.HostCSRFCookie) != nil {
		t.Errorf("cookies left after sign-out: %v", cookieNames(cks))
	}

	// What the portal sent: JSON bodies, the bearer token on API reads, and
	// X-CSRF-Token (from the token response) on logout.
	var sawLogout, sawMe bool
	for _, c := range api.log() {
		switch c.Method + " " + c.Path {
		case "POST /v1/auth/token":
			if c.ContentType != "application/json" || c.Auth != "" {
				t.Errorf("token request %+v", c)
			}
		case "GET /v1/me":
			sawMe = c.Auth == "Bearer fake-access"
		case "POST /v1/auth/logout":
			sawLogout = true
			if c.CSRF != "fake-csrf" || c.ContentType != "application/json" {
				t.Errorf("logout request %+v", c)
			}
		}
	}
	if !sawLogout || !sawMe {
		t.Errorf("calls %+v", api.log())
	}
	if v := eval[[]string](t, b, `window.__csp`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
	if l := b.consoleLog(); strings.Contains(l, "Content Security Policy") || strings.Contains(l, "exception") {
		t.Errorf("console:\n%s", l)
	}

	// Another site cannot frame the portal (frame-ancestors 'none').
	framer := serveLocalhost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><iframe id="f" src="%s/"></iframe>`, origin)
	}))
	b.do(t, chromedp.Navigate(framer+"/"))
	waitFor(t, func() bool { return strings.Contains(b.consoleLog(), "frame-ancestors") },
		"Chromium's refusal to frame the portal")

	// Offline, the installed shell still opens: the service worker serves
	// the static files from its cache, and the page shows the sign-in form.
	stop()
	b.do(t, chromedp.Navigate(origin+"/"),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`))
	if n := eval[int](t, b, `document.querySelectorAll('form input[type=password]').length`); n == 0 {
		t.Error("the offline shell has no sign-in form")
	}
}
