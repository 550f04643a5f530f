package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAuthorizationCode runs the authorization-code grant in a real
// browser against `gatehouse serve --dev`: the application sends the browser
// to /v1/oauth/authorize; signed out, the portal signs the person in and
// goes back; the consent page's approve button (name=decision
// value=approve) is clicked; the browser lands on the application's
// loopback redirect URI with a code (the consent page's CSP lets the form's
// redirect go there), which the application exchanges with its PKCE
// verifier.
func TestBrowserAuthorizationCode(t *testing.T) {
	chromiumPath(t)
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
	st, ws := send("POST", "/v1/workspaces", js, bearer, `{"name":"acme"}`)
	if st != 201 {
		t.Fatalf("workspace: %d %v", st, ws)
	}

	app := newCallbackApp(t)
	cb := app.url

	st, c := send("POST", "/v1/workspaces/"+ws["id"].(string)+"/clients", js, bearer,
		`{"name":"Acme app","public":true,"redirect_uris":["`+cb+`"],"scopes":["profile:read"]}`)
	if st != 201 {
		t.Fatalf("client: %d %v", st, c)
	}
	clientID := c["client_id"].(string)
	verifier := strings.Repeat("browser-verifier-", 3)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {cb}, "scope": {"profile:read"},
		"state": {"xyz"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}

	b := newBrowser(t)
	watchCSP(t, b)
	b.do(t,
		chromedp.Navigate(gh.Origin+"/v1/oauth/authorize?"+q.Encode()),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true' && document.body.dataset.state === 'signed-out'`,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
	)
	// The portal navigates away by itself: poll across the navigation.
	pollAcross(t, b, `location.pathname === '/v1/oauth/authorize' && document.querySelector('button[name=decision][value=approve]') !== null`)
	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations on the way to the consent page: %v", v)
	}
	b.do(t, chromedp.Click(chromedp.CSS(`button[name=decision][value=approve]`)))
	pollAcross(t, b, `document.getElementById('done') !== null`)
	got := app.landed()
	if got.Get("code") == "" || got.Get("state") != "xyz" || got.Get("iss") != gh.Origin {
		t.Fatalf("the redirect URI got %v", got)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {got.Get("code")},
		"redirect_uri": {cb}, "code_verifier": {verifier}}
	st, tr := send("POST", "/v1/oauth/token", "application/x-www-form-urlencoded", "", form.Encode())
	if st != 200 || tr["access_token"] == nil || tr["refresh_token"] == nil || tr["scope"] != "profile:read" {
		t.Fatalf("exchange: %d %v", st, tr)
	}
}

// pollAcross evaluates cond until it is true, for up to 20 seconds, through
// navigations (an evaluation that a navigation interrupts is tried again).
func pollAcross(t *testing.T, b *browser, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			where, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href`))
			t.Fatalf("still not %s at %s", cond, where)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// callbackApp is an application's redirect URI for the browser tests: a
// loopback server whose /callback keeps the query it was sent and shows a
// page with #done.
type callbackApp struct {
	url string // the /callback URL
	mu  sync.Mutex
	q   url.Values
}

func newCallbackApp(t *testing.T) *callbackApp {
	a := &callbackApp{}
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r) // the browser also asks for /favicon.ico
			return
		}
		a.mu.Lock()
		a.q = r.URL.Query()
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>app</title><p id="done">signed in</p>`))
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.Listener = l
	app.Start()
	t.Cleanup(app.Close)
	a.url = app.URL + "/callback"
	return a
}

// landed is the query of the last request to /callback (nil: none since
// forget).
func (a *callbackApp) landed() url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.q
}

func (a *callbackApp) forget() {
	a.mu.Lock()
	a.q = nil
	a.mu.Unlock()
}
