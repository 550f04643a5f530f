package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserConnectedAppsAndSignInAgain, against the real server in
// Chromium: an application signed in with openid is listed under Security,
// Connected apps (axe on the section and its revoke confirmation); an
// authorization request with prompt=login and login_hint while signed in
// shows the sign-in form with the address filled in, and signing in goes
// back to the consent page and then to the application, whose new id_token
// carries the new auth_time; Revoke ends the grant (its refresh token gets
// invalid_grant); the RP-initiated logout confirmation and its result are
// axe-clean and in the portal's design. With GATEHOUSE_PORTAL_SCREENSHOTS it
// saves those pages as TestBrowserPortalEveryPage does.
func TestBrowserConnectedAppsAndSignInAgain(t *testing.T) {
	chromiumPath(t)
	src := axeSource(t)
	shots := os.Getenv("GATEHOUSE_PORTAL_SCREENSHOTS")
	gh := startGatehouse(t, nil)
	const email, password = "ada@example.com", "a long and unusual passphrase 42"
	gh.signup(t, email, password)
	send := func(method, path, contentType, bearer, body string) (int, map[string]any) {
		t.Helper()
		return gh.send(t, method, path, contentType, bearer, body)
	}
	const js = "application/json"
	_, tok := send("POST", "/v1/auth/token", js, "", `{"email":"`+email+`","password":"`+password+`"}`)
	bearer, _ := tok["access_token"].(string)
	st, ws := send("POST", "/v1/workspaces", js, bearer, `{"name":"Acme"}`)
	if st != 201 {
		t.Fatalf("workspace: %d %v", st, ws)
	}

	app := newCallbackApp(t)
	cb := app.url
	st, c := send("POST", "/v1/workspaces/"+ws["id"].(string)+"/clients", js, bearer,
		`{"name":"Notes","public":true,"redirect_uris":["`+cb+`"]}`)
	if st != 201 {
		t.Fatalf("client: %d %v", st, c)
	}
	clientID := c["client_id"].(string)
	verifier := strings.Repeat("browser-verifier-", 3)
	sum := sha256.Sum256([]byte(verifier))
	authorize := func(extra url.Values) string {
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {cb}, "scope": {"openid email"},
			"state": {"xyz"}, "nonce": {"n1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			q[k] = v
		}
		return gh.Origin + "/v1/oauth/authorize?" + q.Encode()
	}
	b := newBrowser(t, chromedp.Flag("hide-scrollbars", true))
	watchCSP(t, b)
	b.do(t, chromedp.EmulateViewport(1280, 800))
	visit := func(name string) {
		t.Helper()
		checkAxe(t, b, src, name)
		b.do(t, chromedp.EmulateViewport(360, 740))
		if over := eval[int](t, b, `new Promise(r => requestAnimationFrame(() => r(document.documentElement.scrollWidth - window.innerWidth)))`); over > 0 {
			t.Errorf("%s at 360 px: the page is %d px wider than the screen", name, over)
		}
		b.do(t, chromedp.EmulateViewport(1280, 800))
		if shots != "" {
			shot(t, b, shots, name)
		}
	}
	// approve clicks Allow on the consent page and exchanges the code.
	approve := func() map[string]any {
		t.Helper()
		pollAcross(t, b, `location.pathname === '/v1/oauth/authorize' && document.querySelector('button[name=decision][value=approve]') !== null`)
		app.forget()
		b.do(t, chromedp.Click(chromedp.CSS(`button[name=decision][value=approve]`)))
		pollAcross(t, b, `document.getElementById('done') !== null`)
		got := app.landed()
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {got.Get("code")},
			"redirect_uri": {cb}, "code_verifier": {verifier}}
		st, tr := send("POST", "/v1/oauth/token", "application/x-www-form-urlencoded", "", form.Encode())
		if st != 200 || tr["id_token"] == nil {
			t.Fatalf("exchange: %d %v", st, tr)
		}
		return tr
	}
	authTime := func(tr map[string]any) float64 {
		t.Helper()
		parts := strings.Split(tr["id_token"].(string), ".")
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		json.Unmarshal(raw, &claims)
		at, _ := claims["auth_time"].(float64)
		return at
	}

	// Sign in on the way to the consent page (signed out).
	b.do(t, chromedp.Navigate(authorize(nil)),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true' && document.body.dataset.state === 'signed-out'`,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
	first := approve()
	firstAuth := authTime(first)
	time.Sleep(1100 * time.Millisecond) // auth_time is in seconds

	// prompt=login while signed in: the form, the address filled in.
	b.do(t, chromedp.Navigate(authorize(url.Values{"prompt": {"login"}, "login_hint": {email}})))
	pollAcross(t, b, `location.pathname === '/' && document.documentElement.dataset.ready === 'true' && document.body.dataset.state === 'signed-out'`)
	if v := eval[string](t, b, `document.getElementById('signin-email').value`); v != email {
		t.Fatalf("the email field holds %q, want the login_hint %q", v, email)
	}
	if why := eval[string](t, b, `document.getElementById('signin-why').textContent`); !strings.Contains(why, "sign in again") {
		t.Errorf("the sign-in card says %q", why)
	}
	visit("signin-again")
	b.do(t, chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
	second := approve()
	if secondAuth := authTime(second); secondAuth <= firstAuth {
		t.Fatalf("auth_time after prompt=login is %v, want later than %v", secondAuth, firstAuth)
	}

	// Connected apps: two grants of Notes (one per sign-in).
	b.do(t, chromedp.Navigate(gh.Origin+"/#/security"))
	pollAcross(t, b, `document.getElementById('view') && document.getElementById('view').dataset.page === 'security' && document.querySelector('#apps-table') !== null`)
	if txt := eval[string](t, b, `document.getElementById('apps-table').textContent`); !strings.Contains(txt, "Notes") || !strings.Contains(txt, "Acme") ||
		!strings.Contains(txt, "See your email address") || !strings.Contains(txt, "Know who you are") {
		t.Errorf("connected apps: %q", txt)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#apps-table tbody tr').length`); n != 2 {
		t.Errorf("%d connected apps listed, want 2", n)
	}
	b.do(t, chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-section=apps]').scrollIntoView()`))
	visit("security-connected-apps")
	b.do(t, chromedp.Click(chromedp.CSS(`#apps-table tbody tr:first-child button`)), chromedp.WaitVisible(chromedp.CSS("dialog[open]")))
	if txt := eval[string](t, b, `document.querySelector('dialog[open]').textContent`); !strings.Contains(txt, "Revoke Notes?") {
		t.Errorf("the revoke dialog says %q", txt)
	}
	visit("security-connected-apps-revoke")
	b.do(t, chromedp.Click(chromedp.CSS(`dialog[open] button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#apps-table tbody tr').length === 1`, chromedp.WithPollingTimeout(10*time.Second)))
	// The newest grant was revoked: its refresh token is dead, the older one lives.
	refresh := func(tr map[string]any) int {
		st, _ := send("POST", "/v1/oauth/token", "application/x-www-form-urlencoded", "",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tr["refresh_token"].(string)}}.Encode())
		return st
	}
	if st := refresh(second); st != 400 {
		t.Errorf("the revoked grant's refresh: %d, want 400 invalid_grant", st)
	}
	if st := refresh(first); st != 200 {
		t.Errorf("the other grant's refresh: %d, want 200", st)
	}

	// RP-initiated logout without a hint: the confirmation, then the result.
	b.do(t, chromedp.Navigate(gh.Origin+"/v1/oauth/logout?client_id="+clientID),
		chromedp.WaitVisible(chromedp.CSS(`#logout button[type=submit]`)))
	if txt := eval[string](t, b, `document.body.textContent`); !strings.Contains(txt, "Notes asks to sign you out") {
		t.Errorf("the logout page says %q", txt)
	}
	visit("logout-confirm")
	b.do(t, chromedp.Click(chromedp.CSS(`#logout button[type=submit]`)))
	pollAcross(t, b, `document.querySelector('h1') !== null && document.querySelector('h1').textContent === 'Signed out'`)
	visit("logout-done")
	if st := refresh(first); st != 400 {
		t.Errorf("the client's grant after the confirmed logout: %d, want 400", st)
	}
	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
