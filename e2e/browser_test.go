package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/httpapi"
)

// spaPage is a single-page app on a second origin. It talks to gatehouse the
// way docs/browser.md tells an SPA to: fetch with credentials 'include', the
// access and CSRF tokens in memory, X-CSRF-Token on refresh and logout.
const spaPage = `<!doctype html>
<meta charset="utf-8">
<title>second-origin app</title>
<script>
const GH = %q;
let access = null, csrf = null;
async function call(path, {body, headers = {}} = {}) {
  const h = Object.assign({'Content-Type': 'application/json'}, headers);
  const r = await fetch(GH + path, {method: 'POST', credentials: 'include', headers: h, body: JSON.stringify(body || {})});
  let j = null;
  try { j = await r.json(); } catch (e) {}
  return {status: r.status, body: j};
}
window.app = {
  async login(email, password) {
    const r = await call('/v1/auth/token', {body: {email, password}});
    if (r.status === 200) { access = r.body.access_token; csrf = r.body.csrf_token; }
    return r;
  },
  async refresh(withCSRF) {
    const r = await call('/v1/auth/refresh', {headers: withCSRF ? {'X-CSRF-Token': csrf} : {}});
    if (r.status === 200) { access = r.body.access_token; csrf = r.body.csrf_token; }
    return r;
  },
  async logout() {
    const r = await call('/v1/auth/logout', {headers: {'X-CSRF-Token': csrf}});
    access = null; csrf = null;
    return r;
  },
  async sessions() {
    const r = await fetch(GH + '/v1/auth/sessions', {credentials: 'include', headers: {'Authorization': 'Bearer ' + access}});
    return {status: r.status, body: await r.json()};
  },
  async formPost() {
    // What a cross-site <form> could send: form-encoded, no custom header.
    const r = await fetch(GH + '/v1/auth/refresh', {method: 'POST', credentials: 'include',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'a=b'});
    return {status: r.status, body: await r.json().catch(() => null)};
  },
  hasAccess: () => access !== null,
};
</script>
<p>app</p>`

type apiResult struct {
	Status int            `json:"status"`
	Body   map[string]any `json:"body"`
}

func gatehouseCookies(t *testing.T, b *browser) (refresh, csrf *network.Cookie) {
	t.Helper()
	cks := b.cookies(t)
	return findCookie(cks, httpapi.HostRefreshCookie), findCookie(cks, httpapi.HostCSRFCookie)
}

// TestBrowserSecondOriginCookieMode is the contract's browser test (issue 4,
// item 8): a page on a second origin of localhost (another port, listed in
// GATEHOUSE_CORS_ORIGINS) logs in with credentials 'include', refreshes with
// the CSRF header, is refused without it, and logs out, after which the
// cookies are gone from Chromium's cookie jar.
func TestBrowserSecondOriginCookieMode(t *testing.T) {
	chromiumPath(t) // skip before building anything
	var ghOrigin string
	appOrigin := serveLocalhost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, spaPage, ghOrigin)
	}))
	gh := startGatehouse(t, map[string]string{"GATEHOUSE_CORS_ORIGINS": appOrigin})
	ghOrigin = gh.Origin
	const email, password = "ada@example.com", "a long and unusual passphrase 7"
	gh.signup(t, email, password)

	b := newBrowser(t)
	b.do(t, chromedp.Navigate(appOrigin+"/"))

	// Log in: cookie mode. The refresh token is only in the HttpOnly cookie.
	r := eval[apiResult](t, b, fmt.Sprintf(`app.login(%q, %q)`, email, password))
	if r.Status != 200 || r.Body["access_token"] == nil || r.Body["csrf_token"] == nil || r.Body["session_id"] == nil {
		t.Fatalf("login: %+v", r)
	}
	if _, ok := r.Body["refresh_token"]; ok {
		t.Fatalf("cookie mode put the refresh token in the body: %v", keys(r.Body))
	}
	rc, cc := gatehouseCookies(t, b)
	if rc == nil || cc == nil {
		t.Fatalf("after login the jar holds %v", cookieNames(b.cookies(t)))
	}
	if !rc.HTTPOnly || !rc.Secure || rc.Path != "/" || rc.SameSite != network.CookieSameSiteStrict || rc.Domain != "localhost" {
		t.Errorf("refresh cookie %+v", rc)
	}
	if cc.HTTPOnly || !cc.Secure || cc.Value != r.Body["csrf_token"] {
		t.Errorf("csrf cookie %+v (token response %v)", cc, r.Body["csrf_token"])
	}
	sid := r.Body["session_id"]

	// The access token works from the second origin (CORS, Bearer).
	s := eval[apiResult](t, b, `app.sessions()`)
	if s.Status != 200 || !strings.Contains(fmt.Sprint(s.Body["sessions"]), fmt.Sprint(sid)) {
		t.Fatalf("sessions: %+v", s)
	}

	// Refresh with the CSRF header: rotation.
	r = eval[apiResult](t, b, `app.refresh(true)`)
	if r.Status != 200 || r.Body["access_token"] == nil || r.Body["session_id"] != sid {
		t.Fatalf("refresh with the CSRF header: %+v", r)
	}
	if _, ok := r.Body["refresh_token"]; ok {
		t.Fatal("refresh put the refresh token in the body")
	}
	rc2, _ := gatehouseCookies(t, b)
	if rc2 == nil || rc2.Value == rc.Value {
		t.Fatalf("the refresh cookie did not rotate: %v", rc2)
	}

	// Refresh without it: 403 csrf_failed, and nothing changes.
	r = eval[apiResult](t, b, `app.refresh(false)`)
	if r.Status != http.StatusForbidden || r.Body["error"] != "csrf_failed" {
		t.Fatalf("refresh without the CSRF header: %+v", r)
	}
	if rc3, _ := gatehouseCookies(t, b); rc3 == nil || rc3.Value != rc2.Value {
		t.Fatalf("a refused refresh changed the refresh cookie: %v", rc3)
	}
	// A cross-site form's request is refused too.
	r = eval[apiResult](t, b, `app.formPost()`)
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("form-encoded POST with the cookie: %+v", r)
	}
	if rc3, _ := gatehouseCookies(t, b); rc3 == nil || rc3.Value != rc2.Value {
		t.Fatalf("a refused form post changed the refresh cookie: %v", rc3)
	}
	// The session still works with the header.
	if r = eval[apiResult](t, b, `app.refresh(true)`); r.Status != 200 {
		t.Fatalf("refresh after the refusals: %+v", r)
	}
	waitFor(t, func() bool { return strings.Contains(gh.Output.String(), `"audit_event":"csrf.rejected"`) },
		"a csrf.rejected audit line in the server's log")

	// Log out: 204, and the cookies leave the jar.
	r = eval[apiResult](t, b, `app.logout()`)
	if r.Status != http.StatusNoContent {
		t.Fatalf("logout: %+v", r)
	}
	if rc, cc := gatehouseCookies(t, b); rc != nil || cc != nil {
		t.Fatalf("cookies left after logout: %v", cookieNames(b.cookies(t)))
	}
	// And there is no session left to refresh.
	if r = eval[apiResult](t, b, `app.refresh(true)`); r.Status != http.StatusUnauthorized || r.Body["error"] != "invalid_grant" {
		t.Fatalf("refresh after logout: %+v", r)
	}
}

// TestBrowserPortal signs in through the real portal's form, survives a
// reload (the cookie session comes back through a refresh that reads the
// CSRF cookie), lists its session, and signs out, leaving no cookie, no web
// storage and no cache but the static shell.
func TestBrowserPortal(t *testing.T) {
	chromiumPath(t)
	gh := startGatehouse(t, nil)
	const email, password = "grace@example.com", "another long unusual passphrase 9"
	gh.signup(t, email, password)
	// Another session of the same account, from a native client.
	var other map[string]any
	if st := gh.call(t, "POST", "/v1/auth/token", map[string]string{"email": email, "password": password}, &other); st != 200 {
		t.Fatalf("native sign-in: %d %v", st, other)
	}
	b := newBrowser(t)
	watchCSP(t, b)

	ready := chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`)
	b.do(t, chromedp.Navigate(gh.Origin+"/"), ready)
	if n := eval[int](t, b, `document.querySelectorAll('form input[type=email]').length * document.querySelectorAll('form input[type=password]').length`); n == 0 {
		t.Fatal("no sign-in form on /")
	}
	b.do(t,
		chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-in'`, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Click(chromedp.CSS(`#nav a[href="#/security"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#sessions-body tr').length === 2`, chromedp.WithPollingTimeout(20*time.Second)),
	)
	// Revoke the other session from the list (after saying yes in the
	// dialog); this one stays.
	b.do(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#sessions-body tr[data-session=%q] button`, other["session_id"]))),
		confirmDialog(),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#sessions-body tr').length === 1 && document.getElementById('sessions-body').textContent.includes('this device')`))
	var after map[string]any
	if st := gh.call(t, "POST", "/v1/auth/refresh", map[string]any{"refresh_token": other["refresh_token"]}, &after); st != 401 {
		t.Errorf("the revoked session still refreshes: %d %v", st, after)
	}
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != email {
		t.Errorf("whoami %q", who)
	}
	if rc, cc := gatehouseCookies(t, b); rc == nil || cc == nil {
		t.Fatalf("portal sign-in set no cookies: %v", cookieNames(b.cookies(t)))
	}

	// Reload: memory is gone; the cookie session comes back.
	b.do(t, chromedp.Reload(), ready,
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-in'`, chromedp.WithPollingTimeout(20*time.Second)))

	// A workspace, then a personal access token: shown once, listed without
	// its secret, revoked.
	b.do(t,
		chromedp.Click(chromedp.CSS(`#nav a[href="#/workspaces"]`)),
		chromedp.WaitVisible(chromedp.CSS("#workspace-name")),
		chromedp.SendKeys(chromedp.CSS("#workspace-name"), "Acme"),
		chromedp.Click(chromedp.CSS(`#workspace-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`location.hash.endsWith('/members') && document.querySelectorAll('#members-body tr').length === 1`,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Click(chromedp.CSS(`#nav a[href="#/security"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#token-workspace option').length === 1`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.SendKeys(chromedp.CSS("#token-name"), "ci"),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('new-token') !== null && document.querySelectorAll('#tokens-body tr').length === 1`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	pat := eval[string](t, b, `document.getElementById('new-token-value').textContent`)
	if !strings.HasPrefix(pat, "gth_") {
		t.Fatalf("the new token shown is %q", pat)
	}
	if row := eval[string](t, b, `document.getElementById('tokens-body').textContent`); strings.Contains(row, pat[4:20]) {
		t.Errorf("the token list shows the secret: %q", row)
	}
	b.do(t, chromedp.Click(chromedp.CSS("#new-token-done")),
		chromedp.Poll[chromedp.Void](`document.getElementById('new-token') === null`))
	if n := eval[int](t, b, fmt.Sprintf(`document.documentElement.outerHTML.split(%q).length - 1`, pat)); n != 0 {
		t.Errorf("the token is still in the page after Done")
	}
	b.do(t, chromedp.Click(chromedp.CSS(`#tokens-body button.danger-outline`)), confirmDialog(),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#tokens-body tr').length === 0`))
	// The workspace's audit trail shows what happened.
	b.do(t, chromedp.Click(chromedp.CSS(`#nav a[href$="/audit"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('audit-body')?.textContent.includes('pat.created')`,
			chromedp.WithPollingTimeout(10*time.Second)))

	b.do(t, chromedp.Poll[chromedp.Void](`navigator.serviceWorker.controller !== null`, chromedp.WithPollingTimeout(20*time.Second)))
	b.do(t, chromedp.Click(chromedp.CSS("#signout")),
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-out' && !window.gatehousePortal.signedIn()`))
	if rc, cc := gatehouseCookies(t, b); rc != nil || cc != nil {
		t.Fatalf("cookies left after sign-out: %v", cookieNames(b.cookies(t)))
	}
	if n := eval[int](t, b, `localStorage.length + sessionStorage.length`); n != 0 {
		t.Errorf("web storage holds %d items after sign-out", n)
	}
	shellCacheCheck(t, b)
	if v := eval[[]string](t, b, `window.__csp`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
	// After a reload, signed out stays signed out.
	b.do(t, chromedp.Reload(), ready)
	if st := eval[string](t, b, `document.body.dataset.state`); st != "signed-out" {
		t.Errorf("after sign-out and reload the portal is %q", st)
	}
}

// confirmDialog says yes in the portal's confirmation dialog (Click waits
// for the button to be there).
func confirmDialog() chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`dialog[open] button[type=submit]`))
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var magicLinkRE = regexp.MustCompile(`http://localhost:\d+/magic-link\?token=[A-Za-z0-9_-]+`)

// TestBrowserPortalMagicLink asks for a link through the portal, opens the
// link from the mail gatehouse wrote, and is signed in, with the token gone
// from the address bar and the history; a second use of the link fails.
func TestBrowserPortalMagicLink(t *testing.T) {
	chromiumPath(t)
	gh := startGatehouse(t, nil)
	const email = "hedy@example.com"
	gh.signup(t, email, "yet another long unusual passphrase 3")
	b := newBrowser(t)
	ready := chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`)
	b.do(t, chromedp.Navigate(gh.Origin+"/"), ready,
		chromedp.Click(chromedp.CSS("#magic-open")),
		chromedp.SendKeys(chromedp.CSS("#magic-email"), email),
		chromedp.Click(chromedp.CSS(`#magic-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.includes('on its way')`))

	var link string
	waitFor(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(gh.Dir, "gatehouse-data", "mail", "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			// The link may be folded by quoted-printable encoding.
			text := strings.ReplaceAll(strings.ReplaceAll(string(raw), "=\r\n", ""), "=3D", "=")
			if m := magicLinkRE.FindString(text); m != "" {
				link = m
				return true
			}
		}
		return false
	}, "the magic-link mail")

	// The link's page posts the token only when the button is pressed; the
	// portal then reloads, signed in.
	b.do(t, chromedp.Navigate(link), ready, chromedp.Click(chromedp.CSS("#link-go")))
	pollAcross(t, b, `document.body.dataset.state === 'signed-in'`)
	if href := eval[string](t, b, `location.href`); strings.Contains(href, "token") {
		t.Errorf("the token is still in the URL: %s", href)
	}
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != email {
		t.Errorf("whoami %q", who)
	}
	// The link again: it was single-use.
	b.do(t, chromedp.Navigate(link), ready, chromedp.Click(chromedp.CSS("#link-go")),
		chromedp.Poll[chromedp.Void](`document.getElementById('magic-title').textContent.includes('already used')`))
	if msg := eval[string](t, b, `document.getElementById('magic-title').textContent`); !strings.Contains(msg, "already used") {
		t.Errorf("second use of the link: %q", msg)
	}
}
