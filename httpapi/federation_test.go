package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/federation"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/go-jose/go-jose/v4"
	"github.com/miekg/dns"
)

// fakeOP is an OpenID Provider run in the test, on a loopback port: discovery,
// an authorization endpoint the test plays the person at, a token endpoint
// that checks PKCE, and a JWKS. tamper changes the id_token's claims (or the
// key that signs it) to play a hostile or broken provider.
type fakeOP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	other  *rsa.PrivateKey // a key not in the JWKS
	mu     sync.Mutex
	codes  map[string]opCode
	tamper func(claims map[string]any) *rsa.PrivateKey // nil: none
	kid    string                                      // the current key's id
	disco  atomic.Int32                                // discovery documents served
}

type opCode struct {
	claims    map[string]any
	challenge string
	clientID  string
}

func newFakeOP(t *testing.T) *fakeOP {
	op := &fakeOP{t: t, codes: map[string]opCode{}, kid: "k1"}
	var err error
	if op.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if op.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		op.disco.Add(1)
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": op.srv.URL, "authorization_endpoint": op.srv.URL + "/authorize", "token_endpoint": op.srv.URL + "/token",
			"jwks_uri": op.srv.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		defer op.mu.Unlock()
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: op.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		clientID := r.PostForm.Get("client_id")
		if id, _, ok := r.BasicAuth(); ok {
			clientID, _ = url.QueryUnescape(id)
		}
		op.mu.Lock()
		c, ok := op.codes[r.PostForm.Get("code")]
		delete(op.codes, r.PostForm.Get("code"))
		op.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge || clientID != c.clientID {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		op.mu.Lock()
		key, kid := op.key, op.kid
		op.mu.Unlock()
		if op.tamper != nil {
			if k := op.tamper(c.claims); k != nil {
				key = k
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": op.sign(key, kid, c.claims)})
	})
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) sign(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		op.t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		op.t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// authorize plays the person at the provider: it reads the authorization
// request gatehouse sent the browser to and returns the callback URL the
// provider would send it back to, with a code for sub and email.
func (op *fakeOP) authorize(authURL, sub, email string, verified bool) string {
	u, err := url.Parse(authURL)
	if err != nil || !strings.HasPrefix(authURL, op.srv.URL+"/authorize?") {
		op.t.Fatalf("authorization URL %q", authURL)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
		!strings.Contains(q.Get("scope"), "openid") {
		op.t.Fatalf("authorization request lacks PKCE S256, nonce, state or openid: %q", authURL)
	}
	code := base64.RawURLEncoding.EncodeToString([]byte(sub + q.Get("state")))[:20]
	now := time.Now()
	op.mu.Lock()
	op.codes[code] = opCode{challenge: q.Get("code_challenge"), clientID: q.Get("client_id"), claims: map[string]any{
		"iss": op.srv.URL, "sub": sub, "aud": q.Get("client_id"), "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"nonce": q.Get("nonce"), "email": email, "email_verified": verified,
	}}
	op.mu.Unlock()
	return q.Get("redirect_uri") + "?state=" + url.QueryEscape(q.Get("state")) + "&code=" + code
}

// fedEnv is a gatehouse with federation, cookie mode and a DNS server.
type fedEnv struct {
	*testEnv
	f   *auth.Federation
	op  *fakeOP
	dns *fakeDNS
	db  *sqlstore.DB
}

func withFederationDeps(t *testing.T, dnsAddr string, reauth time.Duration) option {
	return func(c *Config, d *Deps) {
		kek, err := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		res, err := federation.NewResolver(dnsAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns := &federation.Connectors{}
		d.Sessions.Core.ReauthMaxAge = reauth
		d.Federation, err = auth.NewFederation(d.Sessions.Core, d.Sessions, auth.FederationConfig{
			KEK: kek, Connect: conns.Connect, Resolver: res, PublicURL: c.PublicURL.String()})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func newFedEnv(t *testing.T, db *sqlstore.DB, reauth time.Duration) *fedEnv {
	dn := newFakeDNS(t)
	e := newEnv(t, withSessions(t, db, t.TempDir()),
		withCookieMode(t, CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: time.Hour}),
		withFederationDeps(t, dn.addr, reauth))
	return &fedEnv{testEnv: e, f: e.s.federation, op: newFakeOP(t), dns: dn, db: db}
}

func (e *fedEnv) provider(t *testing.T, name, workspace string, domains ...string) string {
	t.Helper()
	p, err := e.f.CreateProvider(context.Background(), auth.ProviderSpec{Name: name, Issuer: e.op.srv.URL, ClientID: "gatehouse-" + name,
		ClientSecret: "s3cret-" + name, WorkspaceID: workspace, Domains: domains})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// flow is one browser's run of the sign-in: its binding cookie and where
// the provider sent it back to.
type flow struct {
	cookie   string
	authURL  string
	callback string
}

// get sends a browser navigation (no Origin) with cookies.
func (e *fedEnv) get(target string, cookies map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	for k, v := range cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	return do(e.s, r)
}

func (e *fedEnv) start(t *testing.T, pid, returnTo string) flow {
	t.Helper()
	w := e.get("https://auth.example.com/v1/auth/providers/"+pid+"/start?return_to="+url.QueryEscape(returnTo), nil)
	if w.Code != http.StatusFound {
		t.Fatalf("start: %d %s", w.Code, w.Body.String())
	}
	var fl flow
	for _, ck := range w.Result().Cookies() {
		if ck.Name == FederationCookie {
			if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.MaxAge <= 0 || ck.MaxAge > 600 {
				t.Fatalf("binding cookie %+v", ck)
			}
			fl.cookie = ck.Value
		}
	}
	if fl.cookie == "" {
		t.Fatal("start set no binding cookie")
	}
	fl.authURL = w.Header().Get("Location")
	return fl
}

func (e *fedEnv) finish(fl flow, cookie string) *httptest.ResponseRecorder {
	cs := map[string]string{}
	if cookie != "" {
		cs[FederationCookie] = cookie
	}
	return e.get(fl.callback, cs)
}

// signedIn checks a callback answer is a cookie-mode sign-in to returnTo
// and returns the session's access-token claims (by refreshing it).
func (e *fedEnv) signedIn(t *testing.T, w *httptest.ResponseRecorder, returnTo string) map[string]any {
	t.Helper()
	if w.Code != http.StatusFound || w.Header().Get("Location") != returnTo {
		t.Fatalf("callback: %d %q %s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	jar := map[string]string{}
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge > 0 {
			jar[ck.Name] = ck.Value
		}
	}
	if jar[HostRefreshCookie] == "" || jar[HostCSRFCookie] == "" {
		t.Fatalf("callback set no session cookies: %q", w.Result().Header.Values("Set-Cookie"))
	}
	b := &browserClient{t: t, h: e.s, origin: "https://auth.example.com", jar: jar}
	a := b.do("POST", "/v1/auth/refresh", "application/json", "{}", map[string]string{"X-CSRF-Token": jar[HostCSRFCookie]})
	if a.code != 200 {
		t.Fatalf("refresh after federated sign-in: %d %v", a.code, a.body)
	}
	return jwtClaims(t, a.body["access_token"].(string))
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// refused checks a callback answer is a refusal with code and no session.
func refused(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body.String())
	}
	if b := errBody(t, w); b.Error != code {
		t.Fatalf("error %q, want %q (%s)", b.Error, code, b.Description)
	}
	for _, ck := range w.Result().Cookies() {
		if (ck.Name == HostRefreshCookie || ck.Name == HostCSRFCookie) && ck.MaxAge > 0 {
			t.Fatalf("a refused callback set %s", ck.Name)
		}
	}
}

func (e *fedEnv) countUsers(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow(`select count(*) from users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFederatedSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")

		// The public list.
		code, body := bearerCall(t, e.s, "GET", "/v1/auth/providers", "", "")
		if ps, _ := body["providers"].([]any); code != 200 || len(ps) != 1 || ps[0].(map[string]any)["id"] != pid || ps[0].(map[string]any)["name"] != "Acme ID" {
			t.Fatalf("providers: %d %v", code, body)
		}

		// A new person with a verified email: an account is made, signed in.
		fl := e.start(t, pid, "https://app.example.com/after?x=1")
		fl.callback = e.op.authorize(fl.authURL, "sub-ada", "Ada@Example.org", true)
		claims := e.signedIn(t, e.finish(fl, fl.cookie), "https://app.example.com/after?x=1")
		if amr, _ := claims["amr"].([]any); len(amr) != 1 || amr[0] != "fed" {
			t.Fatalf("amr %v, want [fed]", claims["amr"])
		}
		ada := claims["sub"].(string)

		// The same (provider, sub) signs in to the same account, even with
		// another email and no verified flag.
		fl = e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-ada", "other@example.org", false)
		if c := e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/"); c["sub"] != ada {
			t.Fatalf("second sign-in: sub %v, want %v", c["sub"], ada)
		}
		// The discovery document was fetched once for both sign-ins (cached).
		if n := e.op.disco.Load(); n != 1 {
			t.Fatalf("discovery fetched %d times, want 1", n)
		}
		// The provider rotates its signing key: the new key id makes
		// gatehouse fetch the JWKS again, and sign-ins go on.
		newKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		e.op.mu.Lock()
		e.op.key, e.op.kid = newKey, "k2"
		e.op.mu.Unlock()
		fl = e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-ada", "ada@example.org", true)
		if c := e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/"); c["sub"] != ada {
			t.Fatalf("after key rotation: sub %v", c["sub"])
		}
		if linked := storedEvents(t, db, "identity.linked"); linked != 1 {
			t.Fatalf("identity.linked events: %d", linked)
		}
	})
}

func TestFederationHostileCallbacks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		other := e.provider(t, "Other ID", "")
		users := e.countUsers(t)

		want := map[string]string{
			"tampered_state": "started in another browser", "no_binding_cookie": "started in another browser",
			"another_browser": "started in another browser", "other_provider_path": "started in another browser",
			"wrong_nonce": "nonce", "no_nonce": "nonce", "wrong_audience": "id_token is not valid",
			"wrong_azp": "issued to another client", "wrong_issuer": "id_token is not valid", "expired": "id_token is not valid",
			"signed_by_another_key": "id_token is not valid", "provider_error": "did not sign you in",
		}
		run := func(name string, tamper func(map[string]any) *rsa.PrivateKey, mutate func(*flow) string, status int, code string) {
			t.Run(name, func(t *testing.T) {
				e.op.tamper = tamper
				defer func() { e.op.tamper = nil }()
				fl := e.start(t, pid, "")
				fl.callback = e.op.authorize(fl.authURL, "sub-"+name, name+"@example.org", true)
				cookie := fl.cookie
				if mutate != nil {
					cookie = mutate(&fl)
				}
				w := e.finish(fl, cookie)
				refused(t, w, status, code)
				// Each is refused for its own reason, not by a failed exchange.
				if d := errBody(t, w).Description; !strings.Contains(d, want[name]) {
					t.Fatalf("refused with %q, want it to say %q", d, want[name])
				}
				if n := e.countUsers(t); n != users {
					t.Fatalf("a refused sign-in made an account (%d users, want %d)", n, users)
				}
			})
		}
		swapState := func(fl *flow) {
			u, _ := url.Parse(fl.callback)
			q := u.Query()
			s := []byte(q.Get("state"))
			if s[3] == 'A' {
				s[3] = 'B'
			} else {
				s[3] = 'A'
			}
			q.Set("state", string(s))
			u.RawQuery = q.Encode()
			fl.callback = u.String()
		}
		run("tampered_state", nil, func(fl *flow) string { swapState(fl); return fl.cookie }, 401, "invalid_grant")
		run("no_binding_cookie", nil, func(fl *flow) string { return "" }, 401, "invalid_grant")
		run("another_browser", nil, func(fl *flow) string {
			return e.start(t, pid, "").cookie // a binding of another sign-in
		}, 401, "invalid_grant")
		run("other_provider_path", nil, func(fl *flow) string {
			fl.callback = strings.Replace(fl.callback, "/providers/"+pid+"/", "/providers/"+other+"/", 1)
			return fl.cookie
		}, 401, "invalid_grant")
		run("wrong_nonce", func(c map[string]any) *rsa.PrivateKey { c["nonce"] = "not-this-one"; return nil }, nil, 401, "invalid_grant")
		run("no_nonce", func(c map[string]any) *rsa.PrivateKey { delete(c, "nonce"); return nil }, nil, 401, "invalid_grant")
		run("wrong_audience", func(c map[string]any) *rsa.PrivateKey { c["aud"] = "someone-else"; return nil }, nil, 401, "invalid_grant")
		run("wrong_azp", func(c map[string]any) *rsa.PrivateKey {
			c["aud"] = []string{c["aud"].(string), "someone-else"}
			c["azp"] = "someone-else"
			return nil
		}, nil, 401, "invalid_grant")
		run("wrong_issuer", func(c map[string]any) *rsa.PrivateKey { c["iss"] = "https://evil.example"; return nil }, nil, 401, "invalid_grant")
		run("expired", func(c map[string]any) *rsa.PrivateKey { c["exp"] = time.Now().Add(-time.Hour).Unix(); return nil }, nil, 401, "invalid_grant")
		run("signed_by_another_key", func(c map[string]any) *rsa.PrivateKey { return e.op.other }, nil, 401, "invalid_grant")
		run("provider_error", nil, func(fl *flow) string {
			u, _ := url.Parse(fl.callback)
			q := u.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			u.RawQuery = q.Encode()
			fl.callback = u.String()
			return fl.cookie
		}, 403, "forbidden")

		t.Run("replayed_state", func(t *testing.T) {
			fl := e.start(t, pid, "")
			fl.callback = e.op.authorize(fl.authURL, "sub-replay", "replay@example.org", true)
			e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/")
			// The same state again, even with a fresh code for it.
			fl.callback = e.op.authorize(fl.authURL, "sub-replay", "replay@example.org", true)
			refused(t, e.finish(fl, fl.cookie), 401, "invalid_grant")
		})
		t.Run("unverified_email", func(t *testing.T) {
			before := e.countUsers(t)
			fl := e.start(t, pid, "")
			fl.callback = e.op.authorize(fl.authURL, "sub-unverified", "unverified@example.org", false)
			refused(t, e.finish(fl, fl.cookie), 403, "forbidden")
			if e.countUsers(t) != before {
				t.Fatal("an unverified email made an account")
			}
		})
		t.Run("email_collision", func(t *testing.T) {
			signIn(t, e.s, "grace@example.org") // an account with a password
			fl := e.start(t, pid, "")
			fl.callback = e.op.authorize(fl.authURL, "sub-attacker", "GRACE@example.org", true)
			w := e.finish(fl, fl.cookie)
			refused(t, w, 409, "conflict")
			if !strings.Contains(errBody(t, w).Description, "link") {
				t.Fatalf("the refusal does not say to link from the portal: %s", w.Body.String())
			}
			var n int
			db.SQL().QueryRow(`select count(*) from identities where subject = 'sub-attacker'`).Scan(&n)
			if n != 0 {
				t.Fatal("an email collision linked the identity")
			}
		})
	})
}

func TestFederationReturnTo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		for _, bad := range []string{
			"//evil.example/x", "/relative", "https:evil.example", "https:/evil.example", "https://evil.example/",
			"https://auth.example.com@evil.example/", "https://user:pw@auth.example.com/", `https:\\evil.example`,
			`https://auth.example.com\@evil.example`, `\\evil.example`, "https://evil.example%2f@auth.example.com/",
			"https://auth.example.com%2f.evil.example/", "https://auth.example.com/%2f%2fevil.example", "https://auth.example.com/%5c%5cevil.example",
			"https://auth.example.com//evil.example", "javascript:alert(1)", "data:text/html,x", "https://app.example.com.evil.example/",
			"https://auth.example.com:8443/", "http://auth.example.com/", "https://auth.example.com/\nx", "ftp://auth.example.com/",
		} {
			w := e.get("https://auth.example.com/v1/auth/providers/"+pid+"/start?return_to="+url.QueryEscape(bad), nil)
			if w.Code != 400 || errBody(t, w).Error != "invalid_request" || len(w.Result().Cookies()) != 0 {
				t.Errorf("return_to %q: %d %s", bad, w.Code, w.Body.String())
			}
		}
		for _, good := range []string{"https://auth.example.com/", "https://auth.example.com/p?q=1#f", "https://app.example.com/cb", "https://APP.example.com:443/x"} {
			if w := e.get("https://auth.example.com/v1/auth/providers/"+pid+"/start?return_to="+url.QueryEscape(good), nil); w.Code != 302 {
				t.Errorf("return_to %q: %d %s", good, w.Code, w.Body.String())
			}
		}
		// An unknown provider: 404.
		if w := e.get("https://auth.example.com/v1/auth/providers/"+gatehouse.NewID(time.Now())+"/start", nil); w.Code != 404 {
			t.Errorf("unknown provider: %d", w.Code)
		}
	})
}

func TestFederationLinkAndUnlink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		tok := signIn(t, e.s, "lin@example.org")["access_token"].(string)

		code, body := bearerCall(t, e.s, "POST", "/v1/me/identities", tok, `{"provider_id":"`+pid+`"}`)
		link, _ := body["url"].(string)
		if code != 200 || !strings.HasPrefix(link, "https://auth.example.com/v1/auth/providers/"+pid+"/start?link=") {
			t.Fatalf("link: %d %v", code, body)
		}
		// The browser opens the URL: start turns the ticket into a state.
		w := e.get(link, nil)
		if w.Code != 302 {
			t.Fatalf("start with a link ticket: %d %s", w.Code, w.Body.String())
		}
		fl := flow{authURL: w.Header().Get("Location"), cookie: cookieOf(w, FederationCookie)}
		// The provider's address is not the account's: a link does not care.
		fl.callback = e.op.authorize(fl.authURL, "sub-lin", "lin.elsewhere@example.net", false)
		if w := e.finish(fl, fl.cookie); w.Code != 302 || w.Header().Get("Location") != "https://auth.example.com/" {
			t.Fatalf("link callback: %d %s", w.Code, w.Body.String())
		}
		// The ticket is single use.
		if w := e.get(link, nil); w.Code != 401 {
			t.Fatalf("ticket reuse: %d %s", w.Code, w.Body.String())
		}
		code, body = bearerCall(t, e.s, "GET", "/v1/me/identities", tok, "")
		ids, _ := body["identities"].([]any)
		if code != 200 || len(ids) != 1 || ids[0].(map[string]any)["provider_id"] != pid {
			t.Fatalf("identities: %d %v", code, body)
		}
		iid := ids[0].(map[string]any)["id"].(string)

		// Signing in with it now reaches the password account.
		fl = e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-lin", "whatever@example.net", false)
		e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/")

		// The same identity cannot be linked to a second account.
		tok2 := signIn(t, e.s, "second@example.org")["access_token"].(string)
		_, body = bearerCall(t, e.s, "POST", "/v1/me/identities", tok2, `{"provider_id":"`+pid+`"}`)
		w = e.get(body["url"].(string), nil)
		fl = flow{authURL: w.Header().Get("Location"), cookie: cookieOf(w, FederationCookie)}
		fl.callback = e.op.authorize(fl.authURL, "sub-lin", "x@example.net", true)
		refused(t, e.finish(fl, fl.cookie), 409, "conflict")

		// A password account may unlink.
		if code, body := bearerCall(t, e.s, "DELETE", "/v1/me/identities/"+iid, tok, ""); code != 204 {
			t.Fatalf("unlink: %d %v", code, body)
		}
		if n := storedEvents(t, db, "identity.unlinked"); n != 1 {
			t.Fatalf("identity.unlinked events: %d", n)
		}

		// An account made by a provider has no other way in: 409.
		fl = e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-only", "only@example.org", true)
		w = e.finish(fl, fl.cookie)
		e.signedIn(t, w, "https://auth.example.com/")
		b := &browserClient{t: t, h: e.s, origin: "https://auth.example.com", jar: map[string]string{}}
		for _, ck := range w.Result().Cookies() {
			b.jar[ck.Name] = ck.Value
		}
		// (signedIn rotated the refresh token; sign in again for a token.)
		fl = e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-only", "only@example.org", true)
		w = e.finish(fl, fl.cookie)
		b.jar = map[string]string{}
		for _, ck := range w.Result().Cookies() {
			b.jar[ck.Name] = ck.Value
		}
		a := b.do("POST", "/v1/auth/refresh", "application/json", "{}", map[string]string{"X-CSRF-Token": b.jar[HostCSRFCookie]})
		onlyTok := a.body["access_token"].(string)
		_, body = bearerCall(t, e.s, "GET", "/v1/me/identities", onlyTok, "")
		only := body["identities"].([]any)[0].(map[string]any)["id"].(string)
		if code, body := bearerCall(t, e.s, "DELETE", "/v1/me/identities/"+only, onlyTok, ""); code != 409 || body["error"] != "conflict" {
			t.Fatalf("unlinking the last way in: %d %v", code, body)
		}
		// Someone else's identity: 404.
		if code, _ := bearerCall(t, e.s, "DELETE", "/v1/me/identities/"+only, tok, ""); code != 404 {
			t.Fatalf("unlinking another's identity: %d", code)
		}
	})
}

func TestFederationLinkNeedsRecentSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, time.Nanosecond)
		pid := e.provider(t, "Acme ID", "")
		tok := signIn(t, e.s, "old@example.org")["access_token"].(string)
		time.Sleep(time.Millisecond)
		code, body := bearerCall(t, e.s, "POST", "/v1/me/identities", tok, `{"provider_id":"`+pid+`"}`)
		if code != 403 || body["error"] != "reauthentication_required" {
			t.Fatalf("link with an old sign-in: %d %v", code, body)
		}
	})
}

// fakeDNS is a DNS server on a loopback UDP port answering TXT records.
type fakeDNS struct {
	addr string
	mu   sync.Mutex
	txt  map[string][]string
}

func newFakeDNS(t *testing.T) *fakeDNS {
	f := &fakeDNS{txt: map[string][]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		f.mu.Lock()
		vals, ok := f.txt[strings.ToLower(q.Name)]
		f.mu.Unlock()
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, v := range vals {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}})
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return f
}

func (f *fakeDNS) publish(name string, vals ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txt[dns.Fqdn(strings.ToLower(name))] = vals
}

func TestWorkspaceSSO(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		ownerA := signIn(t, e.s, "owner-a@corp.example")["access_token"].(string)
		ownerB := signIn(t, e.s, "owner-b@other.example")["access_token"].(string)
		_, wa := bearerCall(t, e.s, "POST", "/v1/workspaces", ownerA, `{"name":"A"}`)
		_, wb := bearerCall(t, e.s, "POST", "/v1/workspaces", ownerB, `{"name":"B"}`)
		A, B := wa["id"].(string), wb["id"].(string)

		// A claims corp.example; the proof is missing, then wrong, then right.
		code, d := bearerCall(t, e.s, "POST", "/v1/workspaces/"+A+"/domains", ownerA, `{"domain":"Corp.Example"}`)
		if code != 201 || d["id"] == nil || d["token"] == nil || d["domain"] != "corp.example" {
			t.Fatalf("add domain: %d %v", code, d)
		}
		verify := "/v1/workspaces/" + A + "/domains/" + d["id"].(string) + "/verify"
		if code, body := bearerCall(t, e.s, "POST", verify, ownerA, ""); code != 403 {
			t.Fatalf("verify without a record: %d %v", code, body)
		}
		e.dns.publish("_gatehouse.corp.example", "gatehouse-verify=wrong", "v=spf1 -all")
		if code, body := bearerCall(t, e.s, "POST", verify, ownerA, ""); code != 403 {
			t.Fatalf("verify with a wrong record: %d %v", code, body)
		}
		// B (not a member of A) cannot even see A's domain.
		if code, _ := bearerCall(t, e.s, "POST", verify, ownerB, ""); code != 404 {
			t.Fatalf("verify by another workspace's owner: %d", code)
		}
		e.dns.publish("_gatehouse.corp.example", "gatehouse-verify=wrong", "gatehouse-verify="+d["token"].(string))
		if code, body := bearerCall(t, e.s, "POST", verify, ownerA, ""); code != 200 || body["verified"] != true {
			t.Fatalf("verify: %d %v", code, body)
		}
		if n := storedEvents(t, db, "domain.verified"); n != 1 {
			t.Fatalf("domain.verified events: %d", n)
		}

		// B claims the same domain and even publishes its token: A proved it
		// first, so B's proof is refused.
		_, db2 := bearerCall(t, e.s, "POST", "/v1/workspaces/"+B+"/domains", ownerB, `{"domain":"corp.example"}`)
		e.dns.publish("_gatehouse.corp.example", "gatehouse-verify="+d["token"].(string), "gatehouse-verify="+db2["token"].(string))
		if code, body := bearerCall(t, e.s, "POST", "/v1/workspaces/"+B+"/domains/"+db2["id"].(string)+"/verify", ownerB, ""); code != 409 {
			t.Fatalf("a second workspace proving the same domain: %d %v", code, body)
		}

		pa := e.provider(t, "Corp SSO", A, "corp.example", "unproven.example")
		pb := e.provider(t, "B SSO", B, "corp.example")

		// A's provider signs a corp.example person in and into A, as a member.
		fl := e.start(t, pa, "")
		fl.callback = e.op.authorize(fl.authURL, "corp-bob", "bob@corp.example", true)
		claims := e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/")
		var role string
		if err := db.Tx(context.Background(), gatehouse.Scope{WorkspaceID: A}, func(tx gatehouse.Tx) error {
			m, err := tx.Member(context.Background(), A, claims["sub"].(string))
			if err == nil {
				role = string(m.Role)
			}
			return err
		}); err != nil || role != "member" {
			t.Fatalf("bob in A: %q %v", role, err)
		}
		// But nowhere else.
		if err := db.Tx(context.Background(), gatehouse.Scope{WorkspaceID: B}, func(tx gatehouse.Tx) error {
			_, err := tx.Member(context.Background(), B, claims["sub"].(string))
			return err
		}); err == nil {
			t.Fatal("A's provider put bob in B")
		}

		refuse := func(name, pid, sub, email string, verified bool) {
			t.Run(name, func(t *testing.T) {
				users := e.countUsers(t)
				fl := e.start(t, pid, "")
				fl.callback = e.op.authorize(fl.authURL, sub, email, verified)
				refused(t, e.finish(fl, fl.cookie), 403, "forbidden")
				if e.countUsers(t) != users {
					t.Fatal("a refused workspace sign-in made an account")
				}
			})
		}
		refuse("unproven_domain", pa, "u1", "eve@unproven.example", true)
		refuse("domain_not_the_providers", pa, "u2", "eve@elsewhere.example", true)
		// On a proven domain the workspace's directory is the authority:
		// no email_verified needed (Entra ID sends none).
		fl = e.start(t, pa, "")
		fl.callback = e.op.authorize(fl.authURL, "corp-carol", "carol@corp.example", false)
		e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/")
		// An existing account of a proven domain is still never linked by
		// email: owner-a@corp.example has a password account.
		t.Run("existing_account_of_the_domain", func(t *testing.T) {
			fl := e.start(t, pa, "")
			fl.callback = e.op.authorize(fl.authURL, "corp-owner", "owner-a@corp.example", true)
			refused(t, e.finish(fl, fl.cookie), 409, "conflict")
		})
		// B's provider names corp.example but B never proved it: it can
		// neither sign in corp.example people nor reach A's.
		refuse("other_workspace_domain", pb, "corp-bob", "bob@corp.example", true)
		refuse("other_workspace_new_person", pb, "corp-dan", "dan@corp.example", true)

		// A state started at A's provider cannot finish at B's.
		fl = e.start(t, pa, "")
		fl.callback = e.op.authorize(fl.authURL, "corp-bob", "bob@corp.example", true)
		fl.callback = strings.Replace(fl.callback, "/providers/"+pa+"/", "/providers/"+pb+"/", 1)
		refused(t, e.finish(fl, fl.cookie), 401, "invalid_grant")
	})
}

// fakeGitHub is GitHub's OAuth and API endpoints, on a loopback port.
type fakeGitHub struct {
	srv    *httptest.Server
	emails []map[string]any
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	g := &fakeGitHub{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("code") != "gh-code" || r.PostForm.Get("code_verifier") == "" || r.PostForm.Get("client_secret") != "gh-secret" {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "gho_x", "token_type": "bearer"})
	})
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_x" {
			w.WriteHeader(401)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": 4242, "login": "octo"})
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(g.emails)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func TestGitHubSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		gh := newFakeGitHub(t)
		p, err := e.f.CreateProvider(context.Background(), auth.ProviderSpec{Name: "GitHub", Kind: "github", Issuer: gh.srv.URL, ClientID: "gh-client",
			ClientSecret: "gh-secret", AuthURL: gh.srv.URL + "/login/oauth/authorize", TokenURL: gh.srv.URL + "/login/oauth/access_token", APIURL: gh.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		callback := func(fl flow) string {
			u, _ := url.Parse(fl.authURL)
			if u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("client_id") != "gh-client" {
				t.Fatalf("GitHub authorization URL %q", fl.authURL)
			}
			return u.Query().Get("redirect_uri") + "?code=gh-code&state=" + url.QueryEscape(u.Query().Get("state"))
		}
		// A verified address that is not the primary one does not count.
		gh.emails = []map[string]any{{"email": "octo@primary.example", "primary": true, "verified": false}, {"email": "octo@second.example", "primary": false, "verified": true}}
		fl := e.start(t, p.ID, "")
		fl.callback = callback(fl)
		refused(t, e.finish(fl, fl.cookie), 403, "forbidden")

		gh.emails[0]["verified"] = true
		fl = e.start(t, p.ID, "")
		fl.callback = callback(fl)
		claims := e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/")
		var email string
		db.SQL().QueryRow(`select email from users where id = $1`, claims["sub"]).Scan(&email)
		if email != "octo@primary.example" {
			t.Fatalf("GitHub account email %q", email)
		}
	})
}

// storedEvents counts the audit events of type typ, in every workspace.
func storedEvents(t *testing.T, db *sqlstore.DB, typ string) int {
	t.Helper()
	n := 0
	err := db.Tx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.EventType(typ), Limit: 200})
		n = len(evs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cookieOf(w *httptest.ResponseRecorder, name string) string {
	for _, ck := range w.Result().Cookies() {
		if ck.Name == name && ck.MaxAge > 0 {
			return ck.Value
		}
	}
	return ""
}

// TestFederationLinkTicketBoundToBrowser: asked from a browser (cookie
// mode), a link ticket works only in that browser, with its link cookie: a
// ticket URL that leaks is of no use to anyone else.
func TestFederationLinkTicketBoundToBrowser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		tok := signIn(t, e.s, "bound@example.org")["access_token"].(string)
		ask := func() (string, string) {
			r := httptest.NewRequest("POST", "https://auth.example.com/v1/me/identities", strings.NewReader(`{"provider_id":"`+pid+`"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Origin", "https://auth.example.com")
			r.Header.Set("Authorization", "Bearer "+tok)
			w := do(e.s, r)
			var body map[string]string
			json.Unmarshal(w.Body.Bytes(), &body)
			c := cookieOf(w, LinkCookie)
			if w.Code != 200 || body["url"] == "" || c == "" {
				t.Fatalf("link from a browser: %d %s %q", w.Code, w.Body.String(), w.Result().Header.Values("Set-Cookie"))
			}
			return body["url"], c
		}
		u, c := ask()
		if w := e.get(u, nil); w.Code != 401 {
			t.Fatalf("a browser ticket opened without its cookie: %d %s", w.Code, w.Body.String())
		}
		// (The ticket is spent by that attempt.) A fresh one, in the right browser:
		u, c = ask()
		if w := e.get(u, map[string]string{LinkCookie: "x" + c[1:]}); w.Code != 401 {
			t.Fatalf("a browser ticket opened with another cookie: %d", w.Code)
		}
		u, c = ask()
		w := e.get(u, map[string]string{LinkCookie: c})
		if w.Code != 302 || cookieOf(w, FederationCookie) == "" {
			t.Fatalf("a browser ticket in its browser: %d %s", w.Code, w.Body.String())
		}
	})
}

// TestFederationRateLimitsAndFailures: start and callback are limited per
// IP (the headers of the IETF draft, 429 with Retry-After past the limit),
// a refused callback records login.failed with its reason and counts as a
// failed authentication of the IP, and an IP past its failed-auth ceiling
// is refused before any state is looked up.
func TestFederationRateLimitsAndFailures(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		b := memory.New(memory.Options{})
		dn := newFakeDNS(t)
		e := &fedEnv{testEnv: limitEnv(t, b, "federation_start.ip=3/1m, federation_callback.ip=100/1m, failed_auth.ip=2/15m",
			withSessions(t, db, t.TempDir()), withCookieMode(t, CookieConfig{RefreshTTL: time.Hour}), withFederationDeps(t, dn.addr, 0)),
			op: newFakeOP(t), dns: dn, db: db}
		e.f = e.s.federation
		pid := e.provider(t, "Acme ID", "")

		fl := e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "rl", "rl@example.org", true)
		w := e.finish(fl, "")
		refused(t, w, 401, "invalid_grant")
		if w.Header().Get("RateLimit-Policy") == "" {
			t.Fatal("the callback carries no RateLimit-Policy")
		}
		if n := storedEvents(t, db, "login.failed"); n != 1 {
			t.Fatalf("login.failed events: %d", n)
		}
		fl2 := e.start(t, pid, "")
		fl2.callback = e.op.authorize(fl2.authURL, "rl", "rl@example.org", true)
		refused(t, e.finish(fl2, "x"+fl2.cookie[1:]), 401, "invalid_grant")
		// Two failures: the IP's ceiling is reached; a start (and a
		// callback) from it is refused before any look-up.
		if w := e.get("https://auth.example.com/v1/auth/providers/"+pid+"/start", nil); w.Code != 429 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("start past the failed-auth ceiling: %d %s", w.Code, w.Body.String())
		}
		if w := e.finish(fl2, fl2.cookie); w.Code != 429 {
			t.Fatalf("callback past the failed-auth ceiling: %d %s", w.Code, w.Body.String())
		}

		// federation_start.ip: two starts a minute here.
		e2 := limitEnv(t, memory.New(memory.Options{}), "federation_start.ip=2/1m",
			withSessions(t, db, t.TempDir()), withCookieMode(t, CookieConfig{RefreshTTL: time.Hour}), withFederationDeps(t, dn.addr, 0))
		for i, want := range []int{302, 302, 429} {
			w := do(e2.s, httptest.NewRequest("GET", "https://auth.example.com/v1/auth/providers/"+pid+"/start", nil))
			if w.Code != want || w.Header().Get("RateLimit") == "" {
				t.Fatalf("start %d: %d, want %d (RateLimit %q)", i+1, w.Code, want, w.Header().Get("RateLimit"))
			}
		}
	})
}
