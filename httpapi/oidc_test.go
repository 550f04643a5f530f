package httpapi

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// jwtPart decodes the header (0) or payload (1) of a compact JWS.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOpenIDConnectCodeFlow: a client that registered no OIDC scope asks
// for openid and email with a nonce; the code exchange answers an id_token
// (typ JWT, aud the client, the access token's sub, nonce, at_hash, sid,
// auth_time, amr, email), the refresh another; userinfo answers sub and
// email for that access token and insufficient_scope for one without
// openid; the id_token is no Bearer token; prompt=none without a session
// is login_required and with one consent_required; request is
// request_not_supported; select_account is refused.
func TestOpenIDConnectCodeFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		var keys *auth.Keys
		e := newEnv(t, withSessions(t, db, t.TempDir()),
			withCookieMode(t, CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: 720 * time.Hour}),
			func(_ *Config, d *Deps) {
				core := auth.NewCore(db, d.Logger)
				d.Clients = &auth.Clients{Core: core}
				d.OAuth = &auth.OAuth{Core: core, Keys: d.Keys, Sessions: d.Sessions}
				keys = d.Keys
			})
		api := func(method, path, bearer, body string) (int, map[string]any, http.Header) {
			t.Helper()
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			w := do(e.s, r)
			var v map[string]any
			json.Unmarshal(w.Body.Bytes(), &v)
			return w.Code, v, w.Header()
		}
		api("POST", "/v1/auth/signup", "", `{"email":"ada@example.com","password":"`+httpPassword+`"}`)
		_, tok, _ := api("POST", "/v1/auth/token", "", `{"email":"ada@example.com","password":"`+httpPassword+`"}`)
		bearer, _ := tok["access_token"].(string)
		_, ws, _ := api("POST", "/v1/workspaces", bearer, `{"name":"acme"}`)
		const cb = "https://app.example.com/cb"
		st, pub, _ := api("POST", "/v1/workspaces/"+ws["id"].(string)+"/clients", bearer,
			`{"name":"app","public":true,"redirect_uris":["`+cb+`"],"scopes":["profile:read"]}`)
		if st != 201 {
			t.Fatalf("client: %d %v", st, pub)
		}
		clientID := pub["client_id"].(string)
		verifier := strings.Repeat("v3r1f13r-", 6)
		authz := func(extra url.Values) string {
			q := url.Values{"client_id": {clientID}, "redirect_uri": {cb}, "response_type": {"code"}, "state": {"s1"},
				"code_challenge": {pkce(verifier)}, "code_challenge_method": {"S256"}, "scope": {"openid email profile:read"},
				"nonce": {"n-0S6_WzA2Mj"}, "unknown_param": {"ignored"}}
			for k, v := range extra {
				q[k] = v
			}
			return "/v1/oauth/authorize?" + q.Encode()
		}
		br := &browser{t: t, h: e.s, jar: map[string]string{}}
		redirectErr := func(name, target, want string) {
			t.Helper()
			w := br.send("GET", target, "", "")
			loc, _ := url.Parse(w.Header().Get("Location"))
			if w.Code != 303 || loc.Query().Get("error") != want || loc.Query().Get("state") != "s1" || loc.Query().Get("iss") != "https://auth.example.com" {
				t.Fatalf("%s: %d %q, want error %s", name, w.Code, w.Header().Get("Location"), want)
			}
		}
		redirectErr("prompt=none signed out", authz(url.Values{"prompt": {"none"}}), "login_required")
		redirectErr("request object", authz(url.Values{"request": {"e30.e30."}}), "request_not_supported")
		redirectErr("select_account", authz(url.Values{"prompt": {"select_account"}}), "account_selection_required")

		// Signed out with a login_hint: the portal gets the hint.
		w := br.send("GET", authz(url.Values{"login_hint": {"ada@example.com"}}), "", "")
		if lu, _ := url.Parse(w.Header().Get("Location")); w.Code != 303 || lu.Query().Get("login_hint") != "ada@example.com" ||
			!strings.HasPrefix(lu.Query().Get("next"), "/v1/oauth/authorize?") {
			t.Fatalf("login_hint: %d %q", w.Code, w.Header().Get("Location"))
		}
		if w := br.send("POST", "/v1/auth/token", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`); w.Code != 200 {
			t.Fatalf("portal sign-in: %d", w.Code)
		}
		redirectErr("prompt=none without remembered consent", authz(url.Values{"prompt": {"none"}}), "consent_required")
		// prompt=login with a session: sign in again, and the request that
		// comes back does not loop.
		w = br.send("GET", authz(url.Values{"prompt": {"login"}}), "", "")
		lu, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != 303 || lu.Query().Get("prompt") != "login" || !strings.Contains(lu.Query().Get("next"), "auth_after=") {
			t.Fatalf("prompt=login: %d %q", w.Code, w.Header().Get("Location"))
		}

		// Signing in again satisfies the request that came back: the new
		// session's auth_time is after auth_after.
		next := lu.Query().Get("next")
		// auth_after is bound to its request by a MAC: one made up (which
		// would skip prompt=login) or moved to another request is refused.
		nu, _ := url.Parse(next)
		for name, edit := range map[string]func(url.Values){
			"made-up auth_after":            func(v url.Values) { v.Set("auth_after", "1.AAAA") },
			"auth_after without a MAC":      func(v url.Values) { v.Set("auth_after", strings.Split(v.Get("auth_after"), ".")[0]) },
			"auth_after of another request": func(v url.Values) { v.Set("state", "another") },
		} {
			v := nu.Query()
			edit(v)
			if w := br.send("GET", "/v1/oauth/authorize?"+v.Encode(), "", ""); !strings.Contains(w.Header().Get("Location"), "error=invalid_request") {
				t.Fatalf("%s: %d %q, want invalid_request", name, w.Code, w.Header().Get("Location"))
			}
		}
		if w := br.send("GET", next, "", ""); !strings.Contains(w.Header().Get("Location"), "error=login_required") {
			t.Fatalf("auth_after before signing in again: %d %q (want login_required, not a loop)", w.Code, w.Header().Get("Location"))
		}
		time.Sleep(2 * time.Millisecond) // auth_after has a resolution of a millisecond
		if w := br.send("POST", "/v1/auth/token", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`); w.Code != 200 {
			t.Fatalf("second sign-in: %d", w.Code)
		}
		w = br.send("GET", next, "", "")
		if w.Code != 200 {
			t.Fatalf("after signing in again: %d %q", w.Code, w.Header().Get("Location"))
		}
		// max_age: 0 asks for a new sign-in, an hour does not.
		if w := br.send("GET", authz(url.Values{"max_age": {"0"}}), "", ""); w.Code != 303 || !strings.Contains(w.Header().Get("Location"), "prompt=login") {
			t.Fatalf("max_age=0: %d %q", w.Code, w.Header().Get("Location"))
		}
		redirectErr("max_age malformed", authz(url.Values{"max_age": {"-1"}}), "invalid_request")

		w = br.send("GET", authz(url.Values{"max_age": {"3600"}}), "", "")
		if w.Code != 200 {
			t.Fatalf("consent page: %d %s", w.Code, w.Body)
		}
		if page := w.Body.String(); !strings.Contains(page, "Know who you are") || !strings.Contains(page, "See your email address") ||
			!strings.Contains(page, "<code>profile:read</code>") {
			t.Fatalf("consent page does not say the OpenID Connect scopes in words:\n%s", page)
		}
		fields := consentForm(t, w.Body.String())
		fields.Set("decision", "approve")
		w = br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", fields.Encode())
		al, _ := url.Parse(w.Header().Get("Location"))
		code := al.Query().Get("code")
		if code == "" {
			t.Fatalf("approve: %d %q", w.Code, w.Header().Get("Location"))
		}
		fw := form(e.s, "/v1/oauth/token", "grant_type=authorization_code&client_id="+clientID+"&redirect_uri="+url.QueryEscape(cb)+
			"&code="+code+"&code_verifier="+verifier)
		got := jsonOf(t, fw)
		idt, _ := got["id_token"].(string)
		at, _ := got["access_token"].(string)
		if fw.Code != 200 || idt == "" || got["scope"] != "email openid profile:read" {
			t.Fatalf("exchange: %d %v", fw.Code, got)
		}
		hdr, cl := jwtPart(t, idt, 0), jwtPart(t, idt, 1)
		atc := jwtPart(t, at, 1)
		h := sha512.Sum512([]byte(at))
		if hdr["typ"] != "JWT" || hdr["alg"] != "EdDSA" || cl["iss"] != "https://auth.example.com" || cl["aud"] != clientID ||
			cl["sub"] != atc["sub"] || cl["nonce"] != "n-0S6_WzA2Mj" || cl["email"] != "ada@example.com" || cl["sid"] == nil ||
			cl["auth_time"] == nil || cl["exp"] == nil || cl["iat"] == nil || cl["at_hash"] != base64.RawURLEncoding.EncodeToString(h[:32]) {
			t.Fatalf("id_token header %v claims %v", hdr, cl)
		}
		if amr, _ := cl["amr"].([]any); len(amr) == 0 {
			t.Fatalf("amr %v", cl["amr"])
		}

		// userinfo, GET and POST.
		for _, m := range []string{"GET", "POST"} {
			st, ui, _ := api(m, "/v1/oauth/userinfo", at, "")
			if st != 200 || ui["sub"] != cl["sub"] || ui["email"] != "ada@example.com" {
				t.Fatalf("userinfo %s: %d %v", m, st, ui)
			}
		}
		// The id_token is not a Bearer token.
		if st, _, _ := api("GET", "/v1/oauth/userinfo", idt, ""); st != 401 {
			t.Fatalf("id_token as Bearer: %d", st)
		}
		// The access token is not an id_token_hint.
		if _, err := keys.VerifyIDTokenHint(at); err == nil {
			t.Fatal("an access token passed as id_token_hint")
		}
		if c, err := keys.VerifyIDTokenHint(idt); err != nil || c.Subject != cl["sub"] {
			t.Fatalf("id_token_hint: %v %v", c, err)
		}

		// Refresh: another id_token, without the nonce.
		fw = form(e.s, "/v1/oauth/token", "grant_type=refresh_token&client_id="+clientID+"&refresh_token="+got["refresh_token"].(string))
		r1 := jsonOf(t, fw)
		if fw.Code != 200 || r1["id_token"] == nil {
			t.Fatalf("refresh: %d %v", fw.Code, r1)
		}
		if c := jwtPart(t, r1["id_token"].(string), 1); c["sub"] != cl["sub"] || c["nonce"] != nil || c["sid"] != cl["sid"] {
			t.Fatalf("refreshed id_token %v", c)
		}
		// Narrowed to no openid: no id_token, and userinfo refuses its token.
		fw = form(e.s, "/v1/oauth/token", "grant_type=refresh_token&client_id="+clientID+"&refresh_token="+r1["refresh_token"].(string)+"&scope=profile:read")
		r2 := jsonOf(t, fw)
		if fw.Code != 200 || r2["id_token"] != nil {
			t.Fatalf("narrowed refresh: %d %v", fw.Code, r2)
		}
		st, v, h2 := api("GET", "/v1/oauth/userinfo", r2["access_token"].(string), "")
		if st != 403 || v["error"] != "insufficient_scope" || !strings.Contains(h2.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Fatalf("userinfo without openid: %d %v %v", st, v, h2)
		}
	})
}

// TestOpenIDDiscovery checks the discovery document against OpenID Connect
// Discovery 1.0 section 3's required and recommended members.
func TestOpenIDDiscovery(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()), func(_ *Config, d *Deps) {
			d.OAuth = &auth.OAuth{Core: auth.NewCore(db, d.Logger), Keys: d.Keys, Sessions: d.Sessions}
		})
		w := do(e.s, httptest.NewRequest("GET", "/.well-known/openid-configuration", nil))
		d := jsonOf(t, w)
		for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
			"scopes_supported", "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
			"claims_supported", "code_challenge_methods_supported", "grant_types_supported", "response_modes_supported",
			"token_endpoint_auth_methods_supported", "authorization_response_iss_parameter_supported", "end_session_endpoint",
			"backchannel_logout_supported", "request_uri_parameter_supported"} {
			if d[k] == nil {
				t.Errorf("discovery lacks %s", k)
			}
		}
		has := func(k, v string) bool {
			l, _ := d[k].([]any)
			return slices.Contains(l, any(v))
		}
		if !has("id_token_signing_alg_values_supported", "RS256") || !has("scopes_supported", "openid") ||
			!has("subject_types_supported", "public") || !has("response_types_supported", "code") || len(d["response_types_supported"].([]any)) != 1 ||
			d["backchannel_logout_supported"] != true || d["authorization_response_iss_parameter_supported"] != true ||
			d["end_session_endpoint"] != "https://auth.example.com/v1/oauth/logout" || d["userinfo_endpoint"] != "https://auth.example.com/v1/oauth/userinfo" ||
			!has("code_challenge_methods_supported", "S256") || len(d["code_challenge_methods_supported"].([]any)) != 1 {
			t.Errorf("discovery %v", d)
		}
		for _, c := range []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "at_hash", "email"} {
			if !has("claims_supported", c) {
				t.Errorf("claims_supported lacks %s", c)
			}
		}
	})
}

// oidcRP is a signed-in browser and a registered public client with a
// post-logout redirect URI, for the logout tests.
type oidcRP struct {
	e        *testEnv
	keys     *auth.Keys
	br       *browser
	clientID string
	verifier string
}

const (
	rpCallback = "https://app.example.com/cb"
	rpLoggedIn = "https://app.example.com/bye"
)

func newOIDCRP(t testing.TB, db *sqlstore.DB) *oidcRP {
	t.Helper()
	rp := &oidcRP{verifier: strings.Repeat("v3r1f13r-", 6)}
	rp.e = newEnv(t, withSessions(t, db, t.TempDir()),
		withCookieMode(t, CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: 720 * time.Hour}),
		func(_ *Config, d *Deps) {
			core := auth.NewCore(db, d.Logger)
			d.Clients = &auth.Clients{Core: core}
			d.OAuth = &auth.OAuth{Core: core, Keys: d.Keys, Sessions: d.Sessions}
			rp.keys = d.Keys
		})
	api := func(method, path, bearer, body string) (int, map[string]any) {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := do(rp.e.s, r)
		var v map[string]any
		json.Unmarshal(w.Body.Bytes(), &v)
		return w.Code, v
	}
	api("POST", "/v1/auth/signup", "", `{"email":"ada@example.com","password":"`+httpPassword+`"}`)
	_, tok := api("POST", "/v1/auth/token", "", `{"email":"ada@example.com","password":"`+httpPassword+`"}`)
	bearer, _ := tok["access_token"].(string)
	_, ws := api("POST", "/v1/workspaces", bearer, `{"name":"acme"}`)
	st, pub := api("POST", "/v1/workspaces/"+ws["id"].(string)+"/clients", bearer,
		`{"name":"app","public":true,"scopes":["profile:read"],"redirect_uris":["`+rpCallback+`"],"post_logout_redirect_uris":["`+rpLoggedIn+`"],"id_token_signed_response_alg":"RS256"}`)
	if st != 201 || pub["id_token_signed_response_alg"] != "RS256" {
		t.Fatalf("client: %d %v", st, pub)
	}
	rp.clientID = pub["client_id"].(string)
	rp.br = &browser{t: t, h: rp.e.s, jar: map[string]string{}}
	if w := rp.br.send("POST", "/v1/auth/token", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`); w.Code != 200 {
		t.Fatalf("portal sign-in: %d", w.Code)
	}
	return rp
}

// code runs the authorization request with scope (PKCE, a nonce) and the
// approval, and returns the code.
func (rp *oidcRP) code(t testing.TB, scope string) string {
	t.Helper()
	q := url.Values{"client_id": {rp.clientID}, "redirect_uri": {rpCallback}, "response_type": {"code"}, "state": {"s"},
		"code_challenge": {pkce(rp.verifier)}, "code_challenge_method": {"S256"}, "scope": {scope}, "nonce": {"n"}}
	w := rp.br.send("GET", "/v1/oauth/authorize?"+q.Encode(), "", "")
	fields := consentForm(t, w.Body.String())
	fields.Set("decision", "approve")
	w = rp.br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", fields.Encode())
	al, _ := url.Parse(w.Header().Get("Location"))
	return al.Query().Get("code")
}

// tokens runs the code flow with scope and returns the token response.
func (rp *oidcRP) tokens(t testing.TB, scope string) map[string]any {
	t.Helper()
	fw := form(rp.e.s, "/v1/oauth/token", "grant_type=authorization_code&client_id="+rp.clientID+"&redirect_uri="+url.QueryEscape(rpCallback)+
		"&code="+rp.code(t, scope)+"&code_verifier="+rp.verifier)
	got := jsonOf(t, fw)
	if fw.Code != 200 {
		t.Fatalf("exchange: %d %v", fw.Code, got)
	}
	return got
}

// signIn runs the code flow with openid and returns the token response.
func (rp *oidcRP) signIn(t testing.TB) map[string]any {
	t.Helper()
	got := rp.tokens(t, "openid")
	if got["id_token"] == nil {
		t.Fatalf("no id_token: %v", got)
	}
	return got
}

// TestRPInitiatedLogout: with a valid id_token_hint (RS256, as the client
// registered), GET /v1/oauth/logout ends the session and the client's
// grant (its refresh token is invalid_grant) and redirects to the exact
// registered URI with state; an unregistered URI or an access token as
// the hint is an error page that ends nothing; without a hint a signed-in
// person gets a form, a forged form token ends nothing, and the confirmed
// form ends the session.
func TestRPInitiatedLogout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rp := newOIDCRP(t, db)
		got := rp.signIn(t)
		idt := got["id_token"].(string)
		if h := jwtPart(t, idt, 0); h["alg"] != "RS256" {
			t.Fatalf("id_token alg %v, want the registered RS256", h["alg"])
		}
		refresh := func(rt string) int {
			return form(rp.e.s, "/v1/oauth/token", "grant_type=refresh_token&client_id="+rp.clientID+"&refresh_token="+rt).Code
		}
		logout := func(q url.Values) *httptest.ResponseRecorder {
			return rp.br.send("GET", "/v1/oauth/logout?"+q.Encode(), "", "")
		}
		for name, q := range map[string]url.Values{
			"unregistered URI":         {"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://app.example.com/elsewhere"}},
			"access token as the hint": {"id_token_hint": {got["access_token"].(string)}, "post_logout_redirect_uri": {rpLoggedIn}},
			"another client_id":        {"id_token_hint": {idt}, "client_id": {"00000000-0000-4000-8000-000000000000"}},
		} {
			if w := logout(q); w.Code != 400 || w.Header().Get("Location") != "" {
				t.Fatalf("%s: %d %q", name, w.Code, w.Header().Get("Location"))
			}
		}
		rt := got["refresh_token"].(string)
		fw := form(rp.e.s, "/v1/oauth/token", "grant_type=refresh_token&client_id="+rp.clientID+"&refresh_token="+rt)
		if fw.Code != 200 {
			t.Fatalf("refresh before logout: %d", fw.Code)
		}
		rt = jsonOf(t, fw)["refresh_token"].(string)

		w := logout(url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {rpLoggedIn}, "state": {"xyz"}})
		if w.Code != 303 || w.Header().Get("Location") != rpLoggedIn+"?state=xyz" {
			t.Fatalf("logout: %d %q", w.Code, w.Header().Get("Location"))
		}
		if st := refresh(rt); st != 400 {
			t.Fatalf("the client's refresh token after logout: %d, want invalid_grant", st)
		}
		// The browser's session was the hint's: it is signed out.
		q := url.Values{"client_id": {rp.clientID}, "redirect_uri": {rpCallback}, "response_type": {"code"},
			"code_challenge": {pkce(rp.verifier)}, "code_challenge_method": {"S256"}, "scope": {"openid"}, "prompt": {"none"}}
		if w := rp.br.send("GET", "/v1/oauth/authorize?"+q.Encode(), "", ""); !strings.Contains(w.Header().Get("Location"), "error=login_required") {
			t.Fatalf("after logout: %d %q", w.Code, w.Header().Get("Location"))
		}

		// Without a hint: a confirmation form, never a GET that ends it.
		rp2 := newOIDCRP(t, db)
		w = rp2.br.send("GET", "/v1/oauth/logout?"+url.Values{"client_id": {rp2.clientID}, "post_logout_redirect_uri": {rpLoggedIn}, "state": {"s2"}}.Encode(), "", "")
		page := w.Body.String()
		if w.Code != 200 || !strings.Contains(page, `action="/v1/oauth/logout"`) {
			t.Fatalf("confirmation page: %d %s", w.Code, page)
		}
		fields := url.Values{}
		for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
			fields.Set(m[1], html.UnescapeString(m[2]))
		}
		forged := url.Values{}
		for k, v := range fields {
			forged[k] = v
		}
		forged.Set("logout_token", strings.Repeat("A", 43))
		if w := rp2.br.send("POST", "/v1/oauth/logout", "application/x-www-form-urlencoded", forged.Encode()); w.Code != 403 {
			t.Fatalf("forged logout form: %d", w.Code)
		}
		if _, sid, _ := rp2.e.s.browserSession(cookieRequest(rp2.br)); sid == "" {
			t.Fatal("a forged form ended the session")
		}
		kept := &browser{t: t, h: rp2.e.s, jar: map[string]string{}} // the cookies as they were: the session itself must end
		for k, v := range rp2.br.jar {
			kept.jar[k] = v
		}
		w = rp2.br.send("POST", "/v1/oauth/logout", "application/x-www-form-urlencoded", fields.Encode())
		if w.Code != 303 || w.Header().Get("Location") != rpLoggedIn+"?state=s2" {
			t.Fatalf("confirmed logout: %d %q", w.Code, w.Header().Get("Location"))
		}
		if _, sid, _ := rp2.e.s.browserSession(cookieRequest(kept)); sid != "" {
			t.Fatal("the confirmed form left the session")
		}
	})
}

// cookieRequest is a request carrying b's cookies.
func cookieRequest(b *browser) *http.Request {
	r := httptest.NewRequest("GET", "https://auth.example.com/", nil)
	for k, v := range b.jar {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	return r
}
