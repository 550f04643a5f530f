package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"
)

// upstreamOP is an OpenID Provider run in the test on a loopback port (as
// the provider a person signs in with): discovery, an authorization
// endpoint that approves at once as the person next() names, a token
// endpoint that checks PKCE S256 and the client, and its JWKS.
type upstreamOP struct {
	t      *testing.T
	url    string
	key    *rsa.PrivateKey
	mu     sync.Mutex
	codes  map[string]map[string]any // code → claims, with "challenge" and "client"
	person func() (sub, email string)
}

func startUpstreamOP(t *testing.T) *upstreamOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &upstreamOP{t: t, key: key, codes: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": op.url, "authorization_endpoint": op.url + "/authorize", "token_endpoint": op.url + "/token",
			"jwks_uri": op.url + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" {
			http.Error(w, "PKCE S256, nonce and state are required", http.StatusBadRequest)
			return
		}
		sub, email := op.person()
		b := make([]byte, 16)
		rand.Read(b)
		code := base64.RawURLEncoding.EncodeToString(b)
		now := time.Now()
		op.mu.Lock()
		op.codes[code] = map[string]any{"iss": op.url, "sub": sub, "aud": q.Get("client_id"), "exp": now.Add(5 * time.Minute).Unix(),
			"iat": now.Unix(), "nonce": q.Get("nonce"), "email": email, "email_verified": true,
			"challenge": q.Get("code_challenge"), "client": q.Get("client_id")}
		op.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?state="+url.QueryEscape(q.Get("state"))+"&code="+code, http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		client := r.PostForm.Get("client_id")
		if id, _, ok := r.BasicAuth(); ok {
			client, _ = url.QueryUnescape(id)
		}
		op.mu.Lock()
		c, ok := op.codes[r.PostForm.Get("code")]
		delete(op.codes, r.PostForm.Get("code"))
		op.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c["challenge"] || client != c["client"] {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		delete(c, "challenge")
		delete(c, "client")
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: op.key, KeyID: "k1"}}, nil)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		raw, _ := json.Marshal(c)
		jws, _ := s.Sign(raw)
		idt, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": idt})
	})
	// On 127.0.0.1, another site than the portal's localhost: the callback
	// is a cross-site navigation, as with a real provider.
	origin, closeFn := serveLocalhostClosable(t, mux)
	t.Cleanup(closeFn)
	op.url = strings.Replace(origin, "localhost", "127.0.0.1", 1)
	return op
}

// createProvider registers the upstream with `gatehouse providers create`,
// the secret on standard input, and returns its id.
func createProvider(t *testing.T, gh *gatehouseServer, name, issuer string, extra ...string) string {
	t.Helper()
	args := append([]string{"providers", "create", "--name", name, "--issuer", issuer, "--client-id", "gatehouse-e2e", "--client-secret-stdin"}, extra...)
	cmd := exec.Command(gatehouseBinary(t), append(args, "--dev")...)
	cmd.Dir, cmd.Env = gh.Dir, gh.Env
	cmd.Stdin = strings.NewReader("e2e-client-secret\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gatehouse providers create: %v\n%s", err, out)
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out[strings.Index(string(out), "{"):], &p); err != nil || p.ID == "" {
		t.Fatalf("providers create printed %q: %v", out, err)
	}
	return p.ID
}

// TestBrowserFederatedSignIn: in Chromium against the real server, the
// signed-out card offers "Sign in with Acme ID"; clicking it goes through
// the upstream provider (in the test, approving at once) and back, and the
// portal shows the person signed in; the Security page lists the linked
// account. A second person, signed in with a password, links the provider
// from the Security page. A workspace owner adds a domain on the Sign-on tab
// and sees the TXT record to publish. A failed callback shows a page in
// words. Each of these pages passes axe-core (no serious or critical
// violation) and fits a 360 px screen; with GATEHOUSE_PORTAL_SCREENSHOTS=DIR
// each is saved at desktop and phone width.
func TestBrowserFederatedSignIn(t *testing.T) {
	chromiumPath(t)
	src := axeSource(t)
	shots := os.Getenv("GATEHOUSE_PORTAL_SCREENSHOTS")
	op := startUpstreamOP(t)
	gh := startGatehouse(t, nil)
	pid := createProvider(t, gh, "Acme ID", op.url)
	var (
		pmu  sync.Mutex
		sub  = "acme-sub-1"
		mail = "lin@example.org"
	)
	op.person = func() (string, string) { pmu.Lock(); defer pmu.Unlock(); return sub, mail }

	b := newBrowser(t, chromedp.Flag("hide-scrollbars", true))
	watchCSP(t, b)
	b.do(t, chromedp.EmulateViewport(1280, 800))
	ready := chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === 'true'`)
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
	openPage := func(hash, name string) {
		t.Helper()
		b.do(t, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('view').dataset.loaded = ''; location.hash = %q`, hash)),
			chromedp.Poll[chromedp.Void](`document.getElementById('view').dataset.loaded !== ''`, chromedp.WithPollingTimeout(10*time.Second)))
		if msg := eval[string](t, b, `document.getElementById('status').className.includes('error') ? document.getElementById('status').textContent : ''`); msg != "" {
			t.Errorf("%s: the page reported %q", name, msg)
		}
		visit(name)
	}

	// Signed out: the provider's button.
	b.do(t, chromedp.Navigate(gh.Origin+"/"), ready,
		chromedp.WaitVisible(chromedp.CSS(`#signin-providers a[data-provider="`+pid+`"]`)))
	if txt := eval[string](t, b, `document.getElementById('signin-providers').textContent`); !strings.Contains(txt, "Sign in with Acme ID") {
		t.Fatalf("the sign-in card offers %q", txt)
	}
	visit("signin-providers")

	// Click: to the provider and back, signed in (cookie mode).
	b.do(t, chromedp.Click(chromedp.CSS(`#signin-providers a[data-provider="`+pid+`"]`)))
	pollAcross(t, b, `location.origin === `+jsString(gh.Origin)+` && document.body.dataset.state === 'signed-in' && document.getElementById('view').dataset.page === 'account'`)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != mail {
		t.Fatalf("after signing in with Acme ID the portal shows %q, want %q", who, mail)
	}
	if rc, cc := gatehouseCookies(t, b); rc == nil || cc == nil || !rc.HTTPOnly {
		t.Fatalf("no session cookies after the callback: %v", cookieNames(b.cookies(t)))
	}

	// The Security page lists the linked account.
	openPage("#/security", "security-linked-accounts")
	if txt := eval[string](t, b, `document.getElementById('identities-body')?.textContent || ''`); !strings.Contains(txt, "Acme ID") || !strings.Contains(txt, mail) {
		t.Fatalf("Linked accounts lists %q", txt)
	}
	// It is the only way in: unlinking is refused, in words.
	b.do(t, chromedp.Click(chromedp.CSS(`#identities-body button`)), chromedp.WaitVisible(chromedp.CSS("dialog[open]")),
		chromedp.Click(chromedp.CSS(`dialog[open] button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.includes('last way to sign in')`, chromedp.WithPollingTimeout(10*time.Second)))
	if n := eval[int](t, b, `document.querySelectorAll('#identities-body tr').length`); n != 1 {
		t.Errorf("after a refused unlink %d identities are listed", n)
	}

	// A workspace owner proves a domain: the Sign-on tab shows the record.
	b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/workspaces'`),
		chromedp.WaitVisible(chromedp.CSS("#workspace-name")),
		chromedp.SendKeys(chromedp.CSS("#workspace-name"), "Acme"),
		chromedp.Click(chromedp.CSS(`#workspace-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`location.hash.endsWith('/members')`, chromedp.WithPollingTimeout(10*time.Second)))
	wsID := eval[string](t, b, `location.hash.split('/')[2]`)
	openPage("#/workspaces/"+wsID+"/sign-on", "workspace-sign-on")
	b.do(t, chromedp.SendKeys(chromedp.CSS("#domain-name"), "acme.example"),
		chromedp.Click(chromedp.CSS(`#domain-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`(document.getElementById('domains-body')?.textContent || '').includes('_gatehouse.acme.example')`,
			chromedp.WithPollingTimeout(10*time.Second)))
	if txt := eval[string](t, b, `document.getElementById('domains-body').textContent`); !strings.Contains(txt, "gatehouse-verify=") || !strings.Contains(txt, "not verified") {
		t.Errorf("the domain row says %q", txt)
	}
	// The "Added" notice fades by itself; cleared here for the screenshot.
	eval[bool](t, b, `(document.getElementById('status').textContent = '', true)`)
	visit("workspace-sign-on-domain")

	// A second person, with a password, links Acme ID from the Security page.
	b.do(t, chromedp.Click(chromedp.CSS("#signout")), chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-out'`))
	const ada, adaPass = "ada@example.com", "a long and unusual passphrase 42"
	gh.signup(t, ada, adaPass)
	pmu.Lock()
	sub, mail = "acme-sub-ada", "ada.acme@example.org"
	pmu.Unlock()
	b.do(t, chromedp.SendKeys(chromedp.CSS("#signin-email"), ada),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), adaPass),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.body.dataset.state === 'signed-in'`, chromedp.WithPollingTimeout(20*time.Second)))
	openPage("#/security", "security-linked-accounts-none")
	b.do(t, chromedp.Click(chromedp.CSS(`button[data-link-provider="`+pid+`"]`)))
	pollAcross(t, b, `location.origin === `+jsString(gh.Origin)+` && document.body.dataset.state === 'signed-in' && document.getElementById('view').dataset.page === 'account'`)
	if who := eval[string](t, b, `document.getElementById('whoami').textContent`); who != ada {
		t.Fatalf("after linking the portal shows %q, want %q", who, ada)
	}
	openPage("#/security", "security-linked-accounts-linked")
	if txt := eval[string](t, b, `document.getElementById('identities-body')?.textContent || ''`); !strings.Contains(txt, "ada.acme@example.org") {
		t.Fatalf("after linking, Linked accounts lists %q", txt)
	}

	// A failed callback (a state this browser never started): a page in words.
	b.do(t, chromedp.Navigate(gh.Origin+"/v1/auth/providers/"+pid+"/callback?state=forged&code=x"),
		chromedp.WaitVisible(chromedp.CSS("#fed-error")))
	if txt := eval[string](t, b, `document.body.textContent`); !strings.Contains(txt, "Sign-in failed") || strings.Contains(txt, `"error"`) {
		t.Errorf("the failed callback shows %q", txt)
	}
	visit("signin-provider-failed")

	if v := eval[[]string](t, b, `window.__csp || []`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
