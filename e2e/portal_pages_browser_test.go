package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/httpapi"
)

// ---- emailed-link pages: opening one consumes nothing ----------------------

// linkAPI records every request the portal makes, with its body, and
// answers the link pages' posts as the server would on success.
type linkAPI struct {
	mu    sync.Mutex
	calls []string // "METHOD /path body"
	cfg   httpapi.CookieConfig
}

func (a *linkAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	a.mu.Lock()
	a.calls = append(a.calls, r.Method+" "+r.URL.Path+" "+string(b))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	tok := map[string]any{"token_type": "Bearer", "access_token": "fake-access", "expires_in": 900, "session_id": "s1", "csrf_token": "fake-csrf"}
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/auth/token", "POST /v1/auth/verify-email":
		a.cfg.SetSessionCookies(w, "fake-refresh", "fake-csrf")
		json.NewEncoder(w).Encode(tok)
	case "POST /v1/auth/password-reset/confirm", "POST /v1/auth/confirm-email":
		w.WriteHeader(http.StatusNoContent)
	case "POST /v1/invitations/accept":
		json.NewEncoder(w).Encode(map[string]any{"workspace_id": "w1", "role": "member"})
	case "POST /v1/auth/magic-link/verify":
		a.cfg.SetSessionCookies(w, "fake-refresh", "fake-csrf")
		json.NewEncoder(w).Encode(tok)
	case "GET /v1/me":
		json.NewEncoder(w).Encode(map[string]any{"id": "u1", "email": "ada@example.com", "status": "active"})
	case "POST /v1/auth/refresh":
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
	default:
		json.NewEncoder(w).Encode(map[string]any{})
	}
}

// posts returns the recorded requests other than GETs.
func (a *linkAPI) posts() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, c := range a.calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

func (a *linkAPI) reset() {
	a.mu.Lock()
	a.calls = nil
	a.mu.Unlock()
}

// TestBrowserLinkPagesConsumeNothing opens each page an emailed link leads
// to, lets its scripts run, and checks that nothing was posted and the
// token left the address bar; then it presses the page's button and checks
// that exactly one request carried the token, to the right route.
func TestBrowserLinkPagesConsumeNothing(t *testing.T) {
	b := newBrowser(t)
	watchCSP(t, b)
	api := &linkAPI{cfg: httpapi.CookieConfig{RefreshTTL: time.Hour}}
	origin := serveLocalhost(t, portalMux(api))
	ready := chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`)
	for _, tc := range []struct {
		path, route string
		before      []chromedp.Action[chromedp.Void] // what the person does before pressing the button
	}{
		{"/magic-link", "POST /v1/auth/magic-link/verify", nil},
		{"/verify-email", "POST /v1/auth/verify-email", nil},
		{"/confirm-email", "POST /v1/auth/confirm-email", nil},
		{"/reset-password", "POST /v1/auth/password-reset/confirm",
			[]chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS("#reset-password"), "a brand new long passphrase 5")}},
		{"/invitation", "POST /v1/invitations/accept", []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(chromedp.CSS("#invite-email"), "ada@example.com"),
			chromedp.SendKeys(chromedp.CSS("#invite-password"), "correct horse battery staple"),
			chromedp.Click(chromedp.CSS(`#invite-signin button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#link-go")),
		}},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			token := "link-token-" + strings.TrimPrefix(tc.path, "/")
			// The previous page may still be reloading after its button.
			pollAcross(t, b, `document.readyState === 'complete'`)
			api.reset()
			b.do(t, chromedp.Navigate(origin+tc.path+"?token="+token), ready)
			// Give any script that would post on load time to do so.
			time.Sleep(500 * time.Millisecond)
			// (A refresh of an earlier cookie session carries no token.)
			if p := api.posts(); slices.ContainsFunc(p, func(c string) bool {
				return strings.Contains(c, token) || strings.HasPrefix(c, tc.route+" ")
			}) {
				t.Fatalf("opening %s posted %v", tc.path, p)
			}
			if href := eval[string](t, b, `location.href`); strings.Contains(href, token) {
				t.Errorf("the token is still in the URL: %s", href)
			}
			if n := eval[int](t, b, `document.querySelectorAll('#link-go, #invite-signin').length`); n == 0 {
				t.Fatalf("%s shows no button", tc.path)
			}
			b.do(t, tc.before...)
			if p := api.posts(); slices.ContainsFunc(p, func(c string) bool { return strings.Contains(c, token) }) {
				t.Fatalf("the token was posted before the button was pressed: %v", p)
			}
			b.do(t, chromedp.Click(chromedp.CSS("#link-go")))
			pollAcross(t, b, `document.documentElement.dataset.ready === 'true'`)
			waitFor(t, func() bool {
				return slices.ContainsFunc(api.posts(), func(c string) bool { return strings.Contains(c, token) })
			}, "the token's post")
			time.Sleep(300 * time.Millisecond) // a reload after the post starts
			var with []string
			for _, c := range api.posts() {
				if strings.Contains(c, token) {
					with = append(with, c)
				}
			}
			if len(with) != 1 || !strings.HasPrefix(with[0], tc.route+" ") {
				t.Errorf("posts with the token: %v, want one %s", with, tc.route)
			}
		})
	}
	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}

// TestBrowserMagicLinkPageConsumesNothing: against the real server, a
// magic link opened in Chromium (scripts running, as some mail scanners do)
// still works afterwards for the person who presses the button.
func TestBrowserMagicLinkPageConsumesNothing(t *testing.T) {
	chromiumPath(t)
	gh := startGatehouse(t, nil)
	const email = "joan@example.com"
	gh.signup(t, email, "a long unusual passphrase for joan 4")
	if st := gh.call(t, "POST", "/v1/auth/magic-link", map[string]string{"email": email}, nil); st != http.StatusAccepted {
		t.Fatalf("magic link: %d", st)
	}
	link := mailedLink(t, gh)
	b := newBrowser(t)
	b.do(t, chromedp.Navigate(link), chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`))
	time.Sleep(500 * time.Millisecond)
	token := link[strings.Index(link, "token=")+len("token="):]
	var tok map[string]any
	if st := gh.call(t, "POST", "/v1/auth/magic-link/verify", map[string]string{"token": token}, &tok); st != 200 || tok["access_token"] == nil {
		t.Fatalf("the link no longer works after its page was opened: %d %v", st, tok)
	}
}

func mailedLink(t *testing.T, gh *gatehouseServer) string {
	t.Helper()
	var link string
	waitFor(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(gh.Dir, "gatehouse-data", "mail", "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			text := strings.ReplaceAll(strings.ReplaceAll(string(raw), "=\r\n", ""), "=3D", "=")
			if m := magicLinkRE.FindString(text); m != "" {
				link = m
				return true
			}
		}
		return false
	}, "the magic-link mail")
	return link
}

// ---- every page: axe-core, and screenshots -----------------------------------

// axeSource returns axe-core's script from e2e/axe/node_modules (installed
// by `npm ci` in e2e/axe, which .ci/run does). Without it the test skips,
// or fails under GATEHOUSE_TEST_REQUIRE_SERVICES=1.
func axeSource(t *testing.T) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(here), "axe", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(p)
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("axe-core is not installed (cd e2e/axe && npm ci): %v", err)
		}
		t.Skipf("axe-core is not installed (cd e2e/axe && npm ci): %v", err)
	}
	return string(b)
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// checkAxe runs axe-core on the page and fails the test on any serious or
// critical violation (WCAG 2.1 A and AA rules, and axe's best practices).
func checkAxe(t *testing.T, b *browser, src, name string) {
	t.Helper()
	if !eval[bool](t, b, `typeof window.axe !== 'undefined'`) {
		eval[bool](t, b, src+";true")
	}
	vs := eval[[]axeViolation](t, b, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
	  .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
	  .map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`)
	for _, v := range vs {
		t.Errorf("%s: axe %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Targets)
	}
}

// shot saves a full-page screenshot at desktop (1280) and phone (390) width
// into dir as NAME-desktop.png and NAME-phone.png.
func shot(t *testing.T, b *browser, dir, name string) {
	t.Helper()
	for _, vp := range []struct {
		suffix string
		w, h   int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		ctx := b.ctx
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.w, vp.h)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		if over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); err != nil || over > 0 {
			t.Errorf("%s at %d px: the page is %d px wider than the screen (%v)", name, vp.w, over, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+vp.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserPortalEveryPage walks every page of the portal against the real
// server — signed out (sign-in, forgot password, create account, the five
// emailed-link pages, 404), signed in as an instance admin (Account,
// Security, Workspaces, each tab of a workspace, Admin), the consent page and
// the authorize error page — and runs axe-core on each: no serious or
// critical violation. With GATEHOUSE_PORTAL_SCREENSHOTS=DIR it also saves
// each page at desktop and phone width (docs/portal/ holds them:
// `GATEHOUSE_PORTAL_SCREENSHOTS=$PWD/docs/portal go test ./e2e -run TestBrowserPortalEveryPage`).
func TestBrowserPortalEveryPage(t *testing.T) {
	chromiumPath(t)
	src := axeSource(t)
	shots := os.Getenv("GATEHOUSE_PORTAL_SCREENSHOTS")
	gh := startGatehouse(t, nil)
	const email, password = "ada@example.com", "a long and unusual passphrase 42"
	gh.signup(t, email, password)
	gh.signup(t, "grace@example.com", "another long unusual passphrase 9")
	gh.cli(t, "users", "set-admin", "--email", email)

	// Some data, through the API, so the pages have something to show.
	var tok map[string]any
	gh.call(t, "POST", "/v1/auth/token", map[string]string{"email": email, "password": password}, &tok)
	bearer, _ := tok["access_token"].(string)
	send := func(method, path string, body any, out any) int {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, strings.Replace(gh.Origin, "localhost", "127.0.0.1", 1)+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if out != nil {
			json.NewDecoder(res.Body).Decode(out)
		}
		return res.StatusCode
	}
	var ws map[string]any
	if st := send("POST", "/v1/workspaces", map[string]string{"name": "Acme"}, &ws); st != 201 {
		t.Fatalf("workspace: %d %v", st, ws)
	}
	wsID := ws["id"].(string)
	send("POST", "/v1/workspaces/"+wsID+"/members", map[string]string{"email": "grace@example.com", "role": "admin"}, nil)
	if st := send("POST", "/v1/workspaces/"+wsID+"/invitations", map[string]string{"email": "hedy@example.com", "role": "member"}, nil); st != 201 {
		t.Errorf("invitation: %d", st)
	}
	send("POST", "/v1/tokens", map[string]any{"name": "deploy script", "workspace_id": wsID, "scopes": []string{"workspaces:read"}}, nil)
	var client map[string]any
	const cb = "http://127.0.0.1:9/callback"
	if st := send("POST", "/v1/workspaces/"+wsID+"/clients", map[string]any{"name": "Acme dashboard", "public": true,
		"redirect_uris": []string{cb}, "scopes": []string{"profile:read", "audit:read"}}, &client); st != 201 {
		t.Fatalf("client: %d %v", st, client)
	}

	// Overlay scrollbars: a screenshot shows the whole layout width.
	b := newBrowser(t, chromedp.Flag("hide-scrollbars", true))
	watchCSP(t, b)
	// The emulated viewport is the desktop one unless a screenshot changes it.
	b.do(t, chromedp.EmulateViewport(1280, 800))
	ready := chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`)
	visit := func(name string) {
		t.Helper()
		checkAxe(t, b, src, name)
		// Nothing wider than a 360 px screen.
		b.do(t, chromedp.EmulateViewport(360, 740))
		if over := eval[int](t, b, `new Promise(r => requestAnimationFrame(() => r(document.documentElement.scrollWidth - window.innerWidth)))`); over > 0 {
			t.Errorf("%s at 360 px: the page is %d px wider than the screen", name, over)
		}
		b.do(t, chromedp.EmulateViewport(1280, 800))
		if shots != "" {
			shot(t, b, shots, name)
		}
	}

	// Signed out.
	b.do(t, chromedp.Navigate(gh.Origin+"/"), ready)
	// The check can fail: an unlabelled field and a nameless button are
	// critical violations it must report.
	eval[bool](t, b, src+";true")
	bad := eval[[]string](t, b, `(() => {
	  const d = document.createElement('div'); d.id = 'axe-probe';
	  d.append(document.createElement('input'), document.createElement('button'));
	  document.body.append(d);
	  return axe.run('#axe-probe').then(r => { d.remove(); return r.violations.filter(v => v.impact === 'critical').map(v => v.id); });
	})()`)
	if !slices.Contains(bad, "label") || !slices.Contains(bad, "button-name") {
		t.Fatalf("axe-core did not report an unlabelled field and a nameless button: %v", bad)
	}
	visit("signin")
	b.do(t, chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.Poll[chromedp.Void](`!document.getElementById('signin-email-error').hidden`))
	if f := eval[string](t, b, `document.activeElement.id`); f != "signin-email" {
		t.Errorf("after an empty submit the focus is on %q, want the first field with an error", f)
	}
	visit("signin-errors")
	b.do(t, chromedp.Navigate(gh.Origin+"/#/forgot"), ready)
	visit("forgot-password")
	b.do(t, chromedp.Navigate(gh.Origin+"/#/signup"), ready)
	visit("create-account")
	for _, p := range []string{"verify-email", "reset-password", "confirm-email", "invitation", "magic-link"} {
		b.do(t, chromedp.Navigate(gh.Origin+"/"+p+"?token=not-a-real-token"), ready)
		visit("link-" + p)
	}
	b.do(t, chromedp.Navigate(gh.Origin+"/no-such-page"))
	visit("not-found")
	b.do(t, chromedp.Navigate(gh.Origin+"/v1/oauth/authorize?client_id=nope&response_type=code"))
	visit("authorize-error")

	// Signed in.
	b.do(t, chromedp.Navigate(gh.Origin+"/"), ready,
		chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-in' && document.getElementById('view').dataset.page === 'account'`,
			chromedp.WithPollingTimeout(20*time.Second)))
	open := func(hash, name string) {
		t.Helper()
		b.do(t, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('view').dataset.loaded = ''; location.hash = %q`, hash)),
			chromedp.Poll[chromedp.Void](`document.getElementById('view').dataset.loaded !== ''`, chromedp.WithPollingTimeout(10*time.Second)))
		if msg := eval[string](t, b, `document.getElementById('status').className.includes('error') ? document.getElementById('status').textContent : ''`); msg != "" {
			t.Errorf("%s: the page reported %q", name, msg)
		}
		visit(name)
	}
	open("#/account", "account")
	// Keyboard: the first Tab reaches the skip link, the next ones the
	// header and the navigation, each with a visible focus ring.
	b.do(t, chromedp.Reload(), ready, chromedp.Poll[chromedp.Void](`document.getElementById('view').dataset.page === 'account'`,
		chromedp.WithPollingTimeout(20*time.Second)))
	for i, want := range []string{"Skip to content", "gatehouse", "Sign out", "Account"} {
		b.do(t, chromedp.KeyEvent("\t"))
		got := eval[map[string]string](t, b, `(() => { const a = document.activeElement, s = getComputedStyle(a);
		  return {text: a.textContent.trim(), outline: s.outlineStyle + ' ' + s.outlineWidth}; })()`)
		if got["text"] != want || strings.HasPrefix(got["outline"], "none") {
			t.Errorf("Tab %d: focus on %q with outline %q, want %q with a visible outline", i+1, got["text"], got["outline"], want)
		}
	}
	open("#/security", "security")
	if n := eval[int](t, b, `document.querySelectorAll('#sessions-body tr').length`); n < 1 {
		t.Error("no sessions listed")
	}
	if txt := eval[string](t, b, `document.getElementById('sessions-body').textContent`); !strings.Contains(txt, "this device") || !strings.Contains(txt, "approximate") || !strings.Contains(txt, "on Linux") {
		t.Errorf("sessions: %q", txt)
	}
	open("#/workspaces", "workspaces")
	open("#/workspaces/"+wsID+"/members", "workspace-members")
	if txt := eval[string](t, b, `document.getElementById('members-body').textContent`); !strings.Contains(txt, "grace@example.com") {
		t.Errorf("members show %q, want the addresses", txt)
	}
	open("#/workspaces/"+wsID+"/invitations", "workspace-invitations")
	if txt := eval[string](t, b, `document.getElementById('invitations-body')?.textContent || ''`); !strings.Contains(txt, "hedy@example.com") {
		t.Errorf("the invitations page lists %q", txt)
	}
	open("#/workspaces/"+wsID+"/apps", "workspace-apps")
	open("#/workspaces/"+wsID+"/audit", "workspace-audit")
	if txt := eval[string](t, b, `document.getElementById('audit-body').textContent`); !strings.Contains(txt, email+" added a member") {
		t.Errorf("audit shows %q, want people's addresses and words", txt)
	}
	// Two-step sign-in: the workspace's Settings (its owner may require two
	// factors; e2e/mfa_browser_test.go covers the other new states).
	open("#/workspaces/"+wsID+"/settings", "workspace-settings")
	if !eval[bool](t, b, `!!document.getElementById('require-mfa') && !document.getElementById('require-mfa').disabled`) {
		t.Error("the owner has no require-two-step toggle")
	}
	open("#/admin", "admin")
	if txt := eval[string](t, b, `document.getElementById('admin-body')?.textContent || ''`); !strings.Contains(txt, "grace@example.com") {
		t.Errorf("the admin page lists %q", txt)
	}

	// A confirmation in words, on a phone-sized screen too.
	b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/account'`),
		chromedp.Click(chromedp.CSS("#delete-account")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open]")))
	if txt := eval[string](t, b, `document.querySelector('dialog[open]').textContent`); !strings.Contains(txt, "Delete "+email+"?") {
		t.Errorf("the delete dialog says %q", txt)
	}
	visit("account-delete-confirm")
	b.do(t, chromedp.KeyEvent("\x1b"), chromedp.Poll[chromedp.Void](`document.querySelector('dialog') === null`))

	// A PAT shown once.
	open("#/security", "security")
	b.do(t, chromedp.SendKeys(chromedp.CSS("#token-name"), "ci"),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#new-token")))
	visit("security-new-token")

	// A confidential app: its secret shown once, gone after Done.
	open("#/workspaces/"+wsID+"/apps", "workspace-apps")
	b.do(t, chromedp.SendKeys(chromedp.CSS("#client-name"), "Acme backend"),
		chromedp.SendKeys(chromedp.CSS("#client-redirect"), "https://backend.example.com/callback"),
		chromedp.Click(chromedp.CSS(`#client-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#new-secret")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#clients-body tr').length === 2`, chromedp.WithPollingTimeout(10*time.Second)))
	secret := eval[string](t, b, `document.getElementById('new-secret-value').textContent`)
	if len(secret) < 20 || eval[bool](t, b, fmt.Sprintf(`document.getElementById('clients-body').textContent.includes(%q)`, secret)) {
		t.Errorf("the client secret shown: %q (and not in the list)", secret)
	}
	visit("workspace-apps-new-secret")
	b.do(t, chromedp.Click(chromedp.CSS("#new-secret-done")), chromedp.Poll[chromedp.Void](`document.getElementById('new-secret') === null`))
	if n := eval[int](t, b, fmt.Sprintf(`document.documentElement.outerHTML.split(%q).length - 1`, secret)); n != 0 {
		t.Error("the client secret is still in the page after Done")
	}

	// The consent page.
	q := url.Values{"response_type": {"code"}, "client_id": {client["client_id"].(string)}, "redirect_uri": {cb},
		"scope": {"profile:read audit:read"}, "state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"}}
	b.do(t, chromedp.Navigate(gh.Origin+"/v1/oauth/authorize?"+q.Encode()),
		chromedp.WaitVisible(chromedp.CSS(`button[name=decision][value=approve]`)))
	if txt := eval[string](t, b, `document.body.textContent`); !strings.Contains(txt, email) || !strings.Contains(txt, "Acme") ||
		!strings.Contains(txt, "See your email address") || !strings.Contains(txt, cb) {
		t.Errorf("the consent page says %q", txt)
	}
	if same := eval[bool](t, b, `(() => { const a = getComputedStyle(document.querySelector('button[value=approve]')), d = getComputedStyle(document.querySelector('button[value=deny]'));
	  return a.backgroundColor === d.backgroundColor && a.color === d.color; })()`); same {
		t.Error("Allow and Deny look alike")
	}
	visit("consent")

	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}

// mailLink returns the newest link to path (e.g. "/verify-email") in the
// mail gatehouse --dev wrote to the address to.
func mailLink(t *testing.T, gh *gatehouseServer, to, path string) string {
	t.Helper()
	re := regexp.MustCompile(`http://localhost:\d+` + regexp.QuoteMeta(path) + `\?token=[A-Za-z0-9_-]+`)
	var link string
	var newest time.Time
	waitFor(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(gh.Dir, "gatehouse-data", "mail", "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			text := strings.ReplaceAll(strings.ReplaceAll(string(raw), "=\r\n", ""), "=3D", "=")
			head, _, _ := strings.Cut(text, "\r\n\r\n")
			if !strings.Contains(strings.ToLower(head), strings.ToLower(to)) {
				continue
			}
			if m := re.FindString(text); m != "" {
				if fi, err := os.Stat(f); err == nil && !fi.ModTime().Before(newest) {
					newest, link = fi.ModTime(), m
				}
			}
		}
		return link != ""
	}, "a mail to "+to+" with a link to "+path)
	return link
}

// TestBrowserPortalAccountFlows runs the account flows through the portal
// against the real server with email verification required: create an
// account, confirm the address from the mailed link (signed in), create a
// workspace, invite a colleague, who accepts on the invitation page after
// signing in there, change the password, and sign out leaving nothing.
func TestBrowserPortalAccountFlows(t *testing.T) {
	chromiumPath(t)
	gh := startGatehouse(t, map[string]string{"GATEHOUSE_EMAIL_VERIFICATION": "required"})
	const ada, adaPass = "ada@example.com", "a long and unusual passphrase 42"
	const grace, gracePass = "grace@example.com", "another long unusual passphrase 9"
	ready := chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`)
	signedIn := `document.body.dataset.state === 'signed-in' && document.getElementById('view').dataset.loaded !== undefined`

	b := newBrowser(t)
	watchCSP(t, b)
	b.do(t, chromedp.Navigate(gh.Origin+"/"), ready,
		chromedp.Click(chromedp.CSS(`a[href="#/signup"]`)),
		chromedp.WaitVisible(chromedp.CSS("#signup-email")),
		chromedp.SendKeys(chromedp.CSS("#signup-email"), ada),
		chromedp.SendKeys(chromedp.CSS("#signup-password"), adaPass),
		chromedp.Click(chromedp.CSS(`#signup-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#signup-sent")))

	// The mailed link: opening it posts nothing; the button confirms and signs in.
	link := mailLink(t, gh, ada, "/verify-email")
	b.do(t, chromedp.Navigate(link), ready, chromedp.Click(chromedp.CSS("#link-go")))
	pollAcross(t, b, signedIn)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != ada {
		t.Fatalf("after verifying, signed in as %q", who)
	}

	// A workspace, then an invitation.
	b.do(t, chromedp.Click(chromedp.CSS(`#nav a[href="#/workspaces"]`)),
		chromedp.WaitVisible(chromedp.CSS("#workspace-name")),
		chromedp.SendKeys(chromedp.CSS("#workspace-name"), "Acme"),
		chromedp.Click(chromedp.CSS(`#workspace-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`location.hash.endsWith('/members')`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Click(chromedp.CSS(`#nav a[href$="/invitations"]`)),
		chromedp.WaitVisible(chromedp.CSS("#invite-to")),
		chromedp.SendKeys(chromedp.CSS("#invite-to"), grace),
		chromedp.Click(chromedp.CSS(`#invite-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`(document.getElementById('invitations-body')?.textContent || '').includes('grace@example.com')`,
			chromedp.WithPollingTimeout(10*time.Second)))

	// Grace has a confirmed account (through the API and her mailed link).
	if st := gh.call(t, "POST", "/v1/auth/signup", map[string]string{"email": grace, "password": gracePass}, nil); st != http.StatusAccepted {
		t.Fatalf("grace's signup: %d", st)
	}
	vl := mailLink(t, gh, grace, "/verify-email")
	if st := gh.call(t, "POST", "/v1/auth/verify-email", map[string]string{"token": vl[strings.Index(vl, "token=")+6:]}, nil); st != 200 {
		t.Fatalf("grace's verification: %d", st)
	}
	// She opens the invitation in her own browser, signs in there, accepts.
	inv := mailLink(t, gh, grace, "/invitation")
	g2 := newBrowser(t)
	g2.do(t, chromedp.Navigate(inv), ready,
		chromedp.SendKeys(chromedp.CSS("#invite-email"), grace),
		chromedp.SendKeys(chromedp.CSS("#invite-password"), gracePass),
		chromedp.Click(chromedp.CSS(`#invite-signin button[type=submit]`)),
		chromedp.Click(chromedp.CSS("#link-go")),
		chromedp.WaitVisible(chromedp.CSS("#link-done")))
	// Ada sees her as a member.
	b.do(t, chromedp.Click(chromedp.CSS(`#nav a[href$="/members"]`)),
		chromedp.Poll[chromedp.Void](`(document.getElementById('members-body')?.textContent || '').includes('grace@example.com')`,
			chromedp.WithPollingTimeout(10*time.Second)))

	// Change the password on the Account page; the new one signs in.
	const newPass = "a completely different passphrase 77"
	b.do(t, chromedp.Click(chromedp.CSS(`#nav a[href="#/account"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password-current")),
		chromedp.SendKeys(chromedp.CSS("#password-current"), adaPass),
		chromedp.SendKeys(chromedp.CSS("#password-new"), newPass),
		chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.includes('Password changed')`, chromedp.WithPollingTimeout(10*time.Second)))
	if st := gh.call(t, "POST", "/v1/auth/token", map[string]string{"email": ada, "password": newPass}, nil); st != 200 {
		t.Errorf("the new password does not sign in: %d", st)
	}

	// Sign out: no cookie, no storage, the pages gone.
	b.do(t, chromedp.Click(chromedp.CSS("#signout")),
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-out' && !window.gatehousePortal.signedIn()`))
	if rc, cc := gatehouseCookies(t, b); rc != nil || cc != nil {
		t.Errorf("cookies left after sign-out: %v", cookieNames(b.cookies(t)))
	}
	if n := eval[int](t, b, `localStorage.length + sessionStorage.length + document.getElementById('view').childElementCount`); n != 0 {
		t.Errorf("%d things left in storage or on the page after sign-out", n)
	}

	// Forgot password: the card, the mailed link, a new password.
	const resetPass = "the third long passphrase of ada 12"
	b.do(t, chromedp.Click(chromedp.CSS(`a[href="#/forgot"]`)),
		chromedp.WaitVisible(chromedp.CSS("#forgot-email")),
		chromedp.SendKeys(chromedp.CSS("#forgot-email"), ada),
		chromedp.Click(chromedp.CSS(`#forgot-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#forgot-sent")))
	reset := mailLink(t, gh, ada, "/reset-password")
	b.do(t, chromedp.Navigate(reset), ready,
		chromedp.SendKeys(chromedp.CSS("#reset-password"), resetPass),
		chromedp.Click(chromedp.CSS("#link-go")),
		chromedp.WaitVisible(chromedp.CSS("#link-done")))
	if st := gh.call(t, "POST", "/v1/auth/token", map[string]string{"email": ada, "password": resetPass}, nil); st != 200 {
		t.Errorf("the reset password does not sign in: %d", st)
	}
	// The same link again: used.
	b.do(t, chromedp.Navigate(reset), ready,
		chromedp.SendKeys(chromedp.CSS("#reset-password"), "yet another passphrase for ada 99"),
		chromedp.Click(chromedp.CSS("#link-go")),
		chromedp.Poll[chromedp.Void](`!document.getElementById('link-error').hidden`, chromedp.WithPollingTimeout(10*time.Second)))
	if msg := eval[string](t, b, `document.getElementById('link-error').textContent`); !strings.Contains(msg, "expired or was already used") {
		t.Errorf("a used reset link says %q", msg)
	}

	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
