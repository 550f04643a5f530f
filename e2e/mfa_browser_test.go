package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-auth/gatehouse/httpapi"
)

// Second factors and passkeys in the portal (docs/mfa.md, docs/portal.md),
// against the real binary on http://localhost:PORT: a relying party id must
// be a host name, not an IP, and localhost is a secure context.

// virtualAuthenticator turns on Chromium's WebAuthn domain and adds a
// platform authenticator that keeps discoverable credentials and verifies
// its user (as a phone or a laptop with a fingerprint reader does).
func virtualAuthenticator(t *testing.T, b *browser) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	r, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return r.AuthenticatorID
}

const (
	signedInJS  = `document.body.dataset.state === 'signed-in' && document.getElementById('view').dataset.loaded !== undefined`
	signedOutJS = `document.body.dataset.state === 'signed-out' && !window.gatehousePortal.signedIn()`
)

// portalSignIn signs in on the portal's card with a password.
func portalSignIn(t *testing.T, b *browser, origin, email, password string) {
	t.Helper()
	b.do(t, chromedp.Navigate(origin+"/"), chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
}

func openSecurity(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/security'`),
		chromedp.Poll[chromedp.Void](`document.getElementById('view').dataset.page === 'security' && !!document.getElementById('factor-actions')?.childElementCount`,
			chromedp.WithPollingTimeout(15*time.Second)))
}

func signOut(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, chromedp.Click(chromedp.CSS("#signout")), chromedp.Poll[chromedp.Void](signedOutJS, chromedp.WithPollingTimeout(10*time.Second)))
}

// TestBrowserPortalPasskey: add a passkey on the Security page (a virtual
// authenticator answers navigator.credentials.create), sign out, sign in
// with "Sign in with a passkey" alone; then the password asks for the
// second step, which the passkey answers.
func TestBrowserPortalPasskey(t *testing.T) {
	chromiumPath(t)
	src := axeSource(t)
	shots := os.Getenv("GATEHOUSE_PORTAL_SCREENSHOTS")
	gh := startGatehouse(t, nil)
	const email, password = "ada@example.com", "a long and unusual passphrase 42"
	gh.signup(t, email, password)

	b := newBrowser(t, chromedp.Flag("hide-scrollbars", true))
	watchCSP(t, b)
	b.do(t, chromedp.EmulateViewport(1280, 800))
	virtualAuthenticator(t, b)

	portalSignIn(t, b, gh.Origin, email, password)
	pollAcross(t, b, signedInJS)
	openSecurity(t, b)
	if s := eval[string](t, b, `document.getElementById('mfa-state').textContent`); !strings.Contains(s, "Two-step sign-in is off") {
		t.Errorf("before any factor the section says %q", s)
	}
	b.do(t, chromedp.Click(chromedp.CSS("#add-passkey")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-name")),
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Test laptop"),
		chromedp.Click(chromedp.CSS(`#passkey-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`(document.getElementById('factors-body')?.textContent || '').includes('Test laptop')`,
			chromedp.WithPollingTimeout(15*time.Second)))
	if s := eval[string](t, b, `document.getElementById('mfa-state').textContent`); !strings.Contains(s, "Two-step sign-in is on (passkey)") {
		t.Errorf("with a passkey the section says %q", s)
	}
	if txt := eval[string](t, b, `document.getElementById('factors-body').textContent`); !strings.Contains(txt, "passkey") || !strings.Contains(txt, "just now") {
		t.Errorf("the factor row says %q", txt)
	}
	checkAxe(t, b, src, "security-factors")
	if shots != "" {
		shot(t, b, shots, "security-factors")
	}

	// Sign out: the sign-in card asks for a passkey with conditional
	// mediation (passkey autofill on the email field). Chromium's virtual
	// authenticator answers such a request at once, as a person picking
	// their passkey from the autofill would: signed in, no password typed.
	signOut(t, b)
	if ac := eval[string](t, b, `document.getElementById('signin-email').getAttribute('autocomplete')`); ac != "username webauthn" {
		t.Errorf("the email field's autocomplete is %q, want \"username webauthn\"", ac)
	}
	pollAcross(t, b, signedInJS)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != email {
		t.Fatalf("signed in through passkey autofill as %q", who)
	}

	// Without conditional mediation (a browser that lacks it), the button.
	eval[bool](t, b, `(PublicKeyCredential.isConditionalMediationAvailable = async () => false, true)`)
	signOut(t, b)
	if shots != "" {
		shot(t, b, shots, "signin-passkey")
	}
	checkAxe(t, b, src, "signin-passkey")
	b.do(t, chromedp.Click(chromedp.CSS("#passkey-signin")))
	pollAcross(t, b, signedInJS)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != email {
		t.Fatalf("signed in with the passkey button as %q", who)
	}

	// The password now needs the second step; the passkey answers it.
	signOut(t, b)
	var out map[string]any
	if st := gh.call(t, "POST", "/v1/auth/token", map[string]string{"email": email, "password": password}, &out); st != http.StatusForbidden || out["error"] != "mfa_required" {
		t.Fatalf("password sign-in with a passkey on the account: %d %v", st, out)
	}
	b.do(t, chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#mfa-step-passkey")))
	b.do(t, chromedp.Click(chromedp.CSS("#mfa-step-passkey")))
	pollAcross(t, b, signedInJS)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != email {
		t.Fatalf("signed in with password and passkey as %q", who)
	}

	// A fresh visit with no session: the card starts passkey autofill too.
	signOut(t, b)
	b.do(t, chromedp.Navigate(gh.Origin+"/"))
	pollAcross(t, b, signedInJS)
	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}

// TestBrowserPortalTOTP: enrol an authenticator app on the Security page —
// the QR code is drawn in the page, the key read from it, the code computed
// here — make recovery codes, sign out, and sign in with the password and
// then the code in the second-factor step.
func TestBrowserPortalTOTP(t *testing.T) {
	chromiumPath(t)
	src := axeSource(t)
	shots := os.Getenv("GATEHOUSE_PORTAL_SCREENSHOTS")
	gh := startGatehouse(t, nil)
	const email, password = "grace@example.com", "another long unusual passphrase 9"
	gh.signup(t, email, password)

	b := newBrowser(t, chromedp.Flag("hide-scrollbars", true))
	watchCSP(t, b)
	b.do(t, chromedp.EmulateViewport(1280, 800))
	portalSignIn(t, b, gh.Origin, email, password)
	pollAcross(t, b, signedInJS)
	openSecurity(t, b)
	b.do(t, chromedp.Click(chromedp.CSS("#add-totp")), chromedp.WaitVisible(chromedp.CSS("#totp-code")))
	secret := eval[string](t, b, `document.getElementById('totp-secret').textContent`)
	if len(secret) < 16 {
		t.Fatalf("the key shown: %q", secret)
	}
	// The QR code is an SVG drawn here, nothing loaded from elsewhere.
	if n := eval[int](t, b, `(document.querySelector('#totp-enrol svg.qr path')?.getAttribute('d') || '').split('M').length - 1`); n < 100 {
		t.Errorf("the QR code has %d dark modules", n)
	}
	checkAxe(t, b, src, "security-totp-enrol")
	if shots != "" {
		shot(t, b, shots, "security-totp-enrol")
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.do(t, chromedp.SendKeys(chromedp.CSS("#totp-code"), code),
		chromedp.Click(chromedp.CSS(`#totp-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('mfa-state').textContent.includes('Two-step sign-in is on (authenticator app)')`,
			chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.WaitVisible(chromedp.CSS("#offer-recovery-go")))

	// Recovery codes: a confirmation, then ten codes shown once.
	b.do(t, chromedp.Click(chromedp.CSS("#offer-recovery-go")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] button[type=submit]")),
		chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#recovery-box")))
	codes := eval[[]string](t, b, `[...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent)`)
	if len(codes) != 10 || !strings.Contains(codes[0], "-") {
		t.Errorf("recovery codes shown: %v", codes)
	}
	if !eval[bool](t, b, `!!document.getElementById('recovery-download') && !!document.getElementById('recovery-copy')`) {
		t.Error("no Copy or Download beside the recovery codes")
	}
	checkAxe(t, b, src, "security-recovery-codes")
	if shots != "" {
		shot(t, b, shots, "security-recovery-codes")
	}
	b.do(t, chromedp.Click(chromedp.CSS("#recovery-done")), chromedp.Poll[chromedp.Void](`document.getElementById('recovery-box') === null`))
	if n := eval[int](t, b, fmt.Sprintf(`document.documentElement.outerHTML.split(%q).length - 1`, codes[0])); n != 0 {
		t.Error("a recovery code is still in the page after Done")
	}

	// Sign out; the password then the code.
	signOut(t, b)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#mfa-step-code")))
	if ac := eval[string](t, b, `document.getElementById('mfa-step-code').autocomplete`); ac != "one-time-code" {
		t.Errorf("the code field's autocomplete is %q", ac)
	}
	checkAxe(t, b, src, "signin-mfa-step")
	if shots != "" {
		shot(t, b, shots, "signin-mfa-step")
	}
	// A wrong code is said in the dialog.
	b.do(t, chromedp.SendKeys(chromedp.CSS("#mfa-step-code"), "000000"),
		chromedp.Click(chromedp.CSS(`#mfa-step-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`!document.getElementById('mfa-step-code-error').hidden`, chromedp.WithPollingTimeout(10*time.Second)))
	// The code of the enrolment step was spent: the next step's code (one
	// step of drift is accepted).
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	b.do(t, chromedp.SetValue(chromedp.CSS("#mfa-step-code"), next),
		chromedp.Click(chromedp.CSS(`#mfa-step-form button[type=submit]`)))
	pollAcross(t, b, signedInJS)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != email {
		t.Fatalf("signed in with password and code as %q", who)
	}

	// Signed in with two factors, an owner requires them in a workspace.
	wsID := eval[string](t, b, `window.gatehouse.api('POST', '/v1/workspaces', {name: 'Strict'}).then(async w => { await window.gatehouse.reloadWorkspaces(); return w.id; })`)
	b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/workspaces/`+wsID+`/settings'`),
		chromedp.WaitVisible(chromedp.CSS("#require-mfa")))
	if txt := eval[string](t, b, `document.getElementById('require-mfa-state').textContent`); !strings.Contains(txt, "not required") {
		t.Errorf("the new workspace's policy says %q", txt)
	}
	checkAxe(t, b, src, "workspace-settings")
	b.do(t, chromedp.Click(chromedp.CSS("#require-mfa")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] button[type=submit]")),
		chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")),
		chromedp.Poll[chromedp.Void](`document.getElementById('require-mfa-state').textContent.includes('is required')`, chromedp.WithPollingTimeout(10*time.Second)))
	if !eval[bool](t, b, `window.gatehouse.api('GET', '/v1/workspaces/`+wsID+`').then(w => w.require_mfa === true)`) {
		t.Error("the workspace does not require two factors after the toggle")
	}
	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}

// reauthAPI answers as gatehouse would for a session whose sign-in is old:
// making recovery codes needs re-authentication until POST
// /v1/auth/reauthenticate took the right password; workspace w1 requires
// two factors the session lacks.
type reauthAPI struct {
	mu     sync.Mutex
	calls  []string
	fresh  bool
	cookie httpapi.CookieConfig
}

func (a *reauthAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, r.Method+" "+r.URL.Path+" "+string(b))
	w.Header().Set("Content-Type", "application/json")
	tok := map[string]any{"token_type": "Bearer", "access_token": "fake-access", "expires_in": 900, "session_id": "s1", "csrf_token": "fake-csrf"}
	fail := func(st int, code string) {
		w.WriteHeader(st)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": code})
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/auth/token":
		a.cookie.SetSessionCookies(w, "fake-refresh", "fake-csrf")
		json.NewEncoder(w).Encode(tok)
	case "POST /v1/auth/reauthenticate":
		if !strings.Contains(string(b), `"password":"right password"`) {
			fail(401, "invalid_grant")
			return
		}
		a.fresh = true
		tok["access_token"] = "fresh-access"
		json.NewEncoder(w).Encode(tok)
	case "POST /v1/mfa/recovery-codes":
		if !a.fresh || r.Header.Get("Authorization") != "Bearer fresh-access" {
			fail(403, "reauthentication_required")
			return
		}
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"codes": []string{"aaaa-bbbb-cccc", "dddd-eeee-ffff"}})
	case "GET /v1/me":
		json.NewEncoder(w).Encode(map[string]any{"id": "u1", "email": "ada@example.com", "status": "active"})
	case "GET /v1/workspaces":
		json.NewEncoder(w).Encode(map[string]any{"workspaces": []map[string]any{{"id": "w1", "name": "Strict", "created_at": "2026-01-01T00:00:00Z"}}})
	case "GET /v1/workspaces/w1/members", "GET /v1/workspaces/w1":
		fail(403, "mfa_required")
	case "GET /v1/auth/sessions":
		json.NewEncoder(w).Encode(map[string]any{"sessions": []any{}})
	case "GET /v1/mfa/factors":
		json.NewEncoder(w).Encode(map[string]any{"factors": []any{}})
	case "GET /v1/tokens":
		json.NewEncoder(w).Encode(map[string]any{"tokens": []any{}})
	case "POST /v1/auth/refresh":
		fail(401, "invalid_grant")
	default:
		json.NewEncoder(w).Encode(map[string]any{})
	}
}

// TestBrowserPortalReauthentication: a change answered 403
// reauthentication_required asks for the password in a dialog (a wrong one
// is said there), posts /v1/auth/reauthenticate, and retries the change
// with the new access token; a workspace answering 403 mfa_required says
// why on the page, with a link to Security.
func TestBrowserPortalReauthentication(t *testing.T) {
	src := axeSource(t)
	shots := os.Getenv("GATEHOUSE_PORTAL_SCREENSHOTS")
	b := newBrowser(t, chromedp.Flag("hide-scrollbars", true))
	watchCSP(t, b)
	b.do(t, chromedp.EmulateViewport(1280, 800))
	api := &reauthAPI{cookie: httpapi.CookieConfig{RefreshTTL: time.Hour}}
	origin := serveLocalhost(t, portalMux(api))
	portalSignIn(t, b, origin, "ada@example.com", "any password")
	pollAcross(t, b, signedInJS)
	openSecurity(t, b)
	b.do(t, chromedp.Click(chromedp.CSS("#make-recovery")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] button[type=submit]")),
		chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#reauth-password")))
	checkAxe(t, b, src, "security-reauthenticate")
	if shots != "" {
		shot(t, b, shots, "security-reauthenticate")
	}
	b.do(t, chromedp.SendKeys(chromedp.CSS("#reauth-password"), "wrong password"),
		chromedp.Click(chromedp.CSS(`#reauth-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`!document.getElementById('reauth-password-error').hidden`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.SendKeys(chromedp.CSS("#reauth-password"), "right password"),
		chromedp.Click(chromedp.CSS(`#reauth-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-box")))
	if codes := eval[[]string](t, b, `[...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent)`); len(codes) != 2 {
		t.Errorf("after re-authenticating, the codes shown: %v", codes)
	}
	api.mu.Lock()
	var seq []string
	for _, c := range api.calls {
		if strings.HasPrefix(c, "POST /v1/mfa/") || strings.HasPrefix(c, "POST /v1/auth/reauth") {
			seq = append(seq, strings.SplitN(c, " ", 3)[1])
		}
	}
	api.mu.Unlock()
	want := []string{"/v1/mfa/recovery-codes", "/v1/auth/reauthenticate", "/v1/auth/reauthenticate", "/v1/mfa/recovery-codes"}
	if !slices.Equal(seq, want) {
		t.Errorf("calls %v, want %v", seq, want)
	}

	// A workspace that requires two factors.
	b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/workspaces/w1/members'`),
		chromedp.WaitVisible(chromedp.CSS("#mfa-needed")))
	if txt := eval[string](t, b, `document.getElementById('mfa-needed').textContent`); !strings.Contains(txt, "requires two-step sign-in") ||
		!eval[bool](t, b, `!!document.querySelector('#mfa-needed a[href="#/security"]')`) {
		t.Errorf("the workspace says %q", txt)
	}
	checkAxe(t, b, src, "workspace-mfa-required")
	if shots != "" {
		shot(t, b, shots, "workspace-mfa-required")
	}
	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
