package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/web"
)

// browser is a hand-driven browser for the authorization-code flow: it
// keeps cookies in a jar and never follows redirects by itself.
type browser struct {
	t   testing.TB
	h   http.Handler
	jar map[string]string
}

func (b *browser) send(method, target, contentType, body string, hdr ...string) *httptest.ResponseRecorder {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = "https://auth.example.com" + target
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if method != "GET" {
		r.Header.Set("Origin", "https://auth.example.com")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	var pairs []string
	for k, v := range b.jar {
		pairs = append(pairs, k+"="+v)
	}
	if len(pairs) > 0 {
		r.Header.Set("Cookie", strings.Join(pairs, "; "))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := do(b.h, r)
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(b.jar, ck.Name)
		} else {
			b.jar[ck.Name] = ck.Value
		}
	}
	return w
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// consentForm returns the hidden fields of a consent page.
func consentForm(t testing.TB, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("consent_token") == "" {
		t.Fatalf("no consent token in %s", page)
	}
	return v
}

func pkce(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// TestAuthorizationCodeFlow drives the authorization-code grant through the
// HTTP API as a browser and an application would, by hand: authorize →
// sign in at the portal → consent (approve) → code → token → refresh, and
// the refusals: PKCE plain, an unknown redirect URI (an error page, no
// redirect), a forged consent form, a wrong verifier, code reuse (which
// revokes what the code issued).
func TestAuthorizationCodeFlow(t *testing.T) {
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
		api := func(method, path, bearer, body string) (int, map[string]any) {
			t.Helper()
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			w := do(e.s, r)
			var v map[string]any
			json.Unmarshal(w.Body.Bytes(), &v)
			return w.Code, v
		}
		tokenReq := func(body string, hdr ...string) (int, map[string]any) {
			t.Helper()
			w := form(e.s, "/v1/oauth/token", body, hdr...)
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
				t.Errorf("token endpoint caching headers %v", w.Header())
			}
			return w.Code, jsonOf(t, w)
		}

		// Ada owns a workspace with a public client and a confidential one.
		if st, v := api("POST", "/v1/auth/signup", "", `{"email":"ada@example.com","password":"`+httpPassword+`"}`); st != 201 {
			t.Fatalf("signup: %d %v", st, v)
		}
		_, tok := api("POST", "/v1/auth/token", "", `{"email":"ada@example.com","password":"`+httpPassword+`"}`)
		bearer, _ := tok["access_token"].(string)
		st, ws := api("POST", "/v1/workspaces", bearer, `{"name":"acme"}`)
		if st != 201 {
			t.Fatalf("workspace: %d %v", st, ws)
		}
		wsID := ws["id"].(string)
		const cb = "https://app.example.com/cb?tenant=1"
		st, pub := api("POST", "/v1/workspaces/"+wsID+"/clients", bearer,
			`{"name":"Acme <SPA>","public":true,"redirect_uris":["`+cb+`"],"scopes":["profile:read","workspaces:read"]}`)
		if st != 201 || pub["client_secret"] != nil {
			t.Fatalf("public client: %d %v", st, pub)
		}
		st, conf := api("POST", "/v1/workspaces/"+wsID+"/clients", bearer,
			`{"name":"web","redirect_uris":["http://127.0.0.1:9000/cb"],"scopes":["audit:read"]}`)
		if st != 201 {
			t.Fatalf("confidential client: %d %v", st, conf)
		}
		pubID, confID, confSecret := pub["client_id"].(string), conf["client_id"].(string), conf["client_secret"].(string)

		verifier := strings.Repeat("v3r1f13r-", 6)
		authz := func(clientID, redirect string, extra url.Values) string {
			q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"st&ate=1"},
				"code_challenge": {pkce(verifier)}, "code_challenge_method": {"S256"}}
			for k, v := range extra {
				if v[0] == "" {
					q.Del(k)
				} else {
					q[k] = v
				}
			}
			return "/v1/oauth/authorize?" + q.Encode()
		}
		br := &browser{t: t, h: e.s, jar: map[string]string{}}

		// Before the client and redirect URI are known good: an error page,
		// no redirect.
		for name, target := range map[string]string{
			"unknown redirect_uri":           authz(pubID, "https://evil.example.com/cb", nil),
			"redirect_uri without its query": authz(pubID, "https://app.example.com/cb", nil),
			"unknown client":                 authz("00000000-0000-4000-8000-000000000000", cb, nil),
			"malformed client":               authz("nope", cb, nil),
			"no redirect_uri":                authz(pubID, "", url.Values{"redirect_uri": {""}}),
			"redirect_uri twice":             authz(pubID, cb, url.Values{"redirect_uri": {cb, cb}}),
		} {
			w := br.send("GET", target, "", "")
			if w.Code != 400 || w.Header().Get("Location") != "" || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d Location %q", name, w.Code, w.Header().Get("Location"))
			}
		}

		// After: error redirects with state.
		errorRedirect := func(name, target, want string) {
			t.Helper()
			w := br.send("GET", target, "", "")
			loc, err := url.Parse(w.Header().Get("Location"))
			if w.Code != 303 || err != nil || !strings.HasPrefix(loc.String(), cb+"&") {
				t.Fatalf("%s: %d Location %q", name, w.Code, w.Header().Get("Location"))
			}
			q := loc.Query()
			if q.Get("error") != want || q.Get("state") != "st&ate=1" || q.Get("tenant") != "1" || q.Get("code") != "" || q.Get("iss") != "https://auth.example.com" {
				t.Errorf("%s: redirect query %v, want error %s", name, q, want)
			}
		}
		errorRedirect("PKCE plain", authz(pubID, cb, url.Values{"code_challenge_method": {"plain"}, "code_challenge": {verifier}}), "invalid_request")
		errorRedirect("no method (plain)", authz(pubID, cb, url.Values{"code_challenge_method": {""}}), "invalid_request")
		errorRedirect("no challenge", authz(pubID, cb, url.Values{"code_challenge": {""}}), "invalid_request")
		errorRedirect("response_type token", authz(pubID, cb, url.Values{"response_type": {"token"}}), "unsupported_response_type")
		errorRedirect("scope beyond the client's", authz(pubID, cb, url.Values{"scope": {"audit:read"}}), "invalid_scope")

		// Not signed in: to the portal and back.
		w := br.send("GET", authz(pubID, cb, url.Values{"scope": {"profile:read"}}), "", "")
		loc := w.Header().Get("Location")
		if w.Code != 303 || !strings.HasPrefix(loc, "/?next=") {
			t.Fatalf("signed out: %d %q", w.Code, loc)
		}
		lu, _ := url.Parse(loc)
		next := lu.Query().Get("next")
		if !strings.HasPrefix(next, "/v1/oauth/authorize?") {
			t.Fatalf("next %q", next)
		}
		if w := br.send("POST", "/v1/auth/token", "application/json", `{"email":"ada@example.com","password":"`+httpPassword+`"}`); w.Code != 200 {
			t.Fatalf("portal sign-in: %d %s", w.Code, w.Body)
		}

		// Signed in: the consent page.
		w = br.send("GET", next, "", "")
		page := w.Body.String()
		csp := w.Header().Get("Content-Security-Policy")
		if w.Code != 200 || !strings.Contains(page, `<button type="submit" name="decision" value="approve">`) ||
			!strings.Contains(page, `name="decision" value="deny"`) || !strings.Contains(page, "Acme &lt;SPA&gt;") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "form-action 'self' https://app.example.com;") || strings.Contains(page, "<script") ||
			w.Header().Get("Referrer-Policy") != "same-origin" || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Fatalf("consent page: %d CSP %q\n%s", w.Code, csp, page)
		}
		// It says who is signed in, which workspace, and each scope in words.
		for _, want := range []string{"Signed in as <strong>ada@example.com</strong>", "See your email address and account id <code>profile:read</code>", "in the workspace <strong>"} {
			if !strings.Contains(page, want) {
				t.Errorf("the consent page lacks %q:\n%s", want, page)
			}
		}
		fields := consentForm(t, page)

		// A forged or missing consent token: 403, no redirect, nothing issued.
		forged := url.Values{}
		for k, v := range fields {
			forged[k] = v
		}
		forged.Set("consent_token", strings.Repeat("A", 43))
		forged.Set("decision", "approve")
		if w := br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", forged.Encode()); w.Code != 403 || w.Header().Get("Location") != "" {
			t.Fatalf("forged consent: %d %q", w.Code, w.Header().Get("Location"))
		}
		// The token is bound to the request: another scope does not pass.
		widened := url.Values{}
		for k, v := range fields {
			widened[k] = v
		}
		widened.Set("scope", "profile:read workspaces:read")
		widened.Set("decision", "approve")
		if w := br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", widened.Encode()); w.Code != 403 {
			t.Fatalf("consent token reused for another scope: %d", w.Code)
		}
		// Without the session cookie: refused.
		anon := &browser{t: t, h: e.s, jar: map[string]string{}}
		fields.Set("decision", "approve")
		if w := anon.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", fields.Encode()); w.Code != 401 || w.Header().Get("Location") != "" {
			t.Fatalf("consent without a session: %d", w.Code)
		}

		// Deny.
		deny := url.Values{}
		for k, v := range fields {
			deny[k] = v
		}
		deny.Set("decision", "deny")
		w = br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", deny.Encode())
		if dl, _ := url.Parse(w.Header().Get("Location")); w.Code != 303 || dl.Query().Get("error") != "access_denied" || dl.Query().Get("state") != "st&ate=1" {
			t.Fatalf("deny: %d %q", w.Code, w.Header().Get("Location"))
		}

		// Approve: a code and the state.
		approve := func(fields url.Values) string {
			t.Helper()
			w := br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", fields.Encode())
			al, err := url.Parse(w.Header().Get("Location"))
			if w.Code != 303 || err != nil || al.Query().Get("code") == "" || al.Query().Get("state") != "st&ate=1" || al.Query().Get("error") != "" {
				t.Fatalf("approve: %d %q", w.Code, w.Header().Get("Location"))
			}
			return al.Query().Get("code")
		}
		code := approve(fields)

		// The token request: the verifier, the exact redirect URI, the client.
		exchange := "grant_type=authorization_code&client_id=" + pubID + "&redirect_uri=" + url.QueryEscape(cb) + "&code=" + code
		if st, v := tokenReq(exchange + "&code_verifier=" + strings.Repeat("x", 43)); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("wrong verifier: %d %v", st, v)
		}
		// The wrong verifier used the code up.
		if st, v := tokenReq(exchange + "&code_verifier=" + verifier); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("code after a failed exchange: %d %v", st, v)
		}
		code = approve(fields)
		exchange = "grant_type=authorization_code&client_id=" + pubID + "&redirect_uri=" + url.QueryEscape(cb) + "&code=" + code
		if st, v := tokenReq("grant_type=authorization_code&client_id=" + confID + "&client_secret=" + confSecret +
			"&redirect_uri=" + url.QueryEscape(cb) + "&code=" + code + "&code_verifier=" + verifier); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("another client's code: %d %v", st, v)
		}
		code = approve(fields)
		exchange = "grant_type=authorization_code&client_id=" + pubID + "&redirect_uri=" + url.QueryEscape(cb) + "&code=" + code
		st, got := tokenReq(exchange + "&code_verifier=" + verifier)
		if st != 200 || got["token_type"] != "Bearer" || got["scope"] != "profile:read" || got["refresh_token"] == nil {
			t.Fatalf("exchange: %d %v", st, got)
		}
		cl, err := keys.VerifyAccessToken(got["access_token"].(string))
		if err != nil || cl.ClientID != pubID || cl.WorkspaceID != wsID || cl.Scope != "profile:read" || cl.SessionID != "" || !gatehouse.ValidID(cl.Subject) {
			t.Fatalf("access token claims %+v, %v", cl, err)
		}
		adaClaims, _ := keys.VerifyAccessToken(bearer)
		if cl.Subject != adaClaims.Subject {
			t.Fatalf("sub %q, want Ada %q", cl.Subject, adaClaims.Subject)
		}

		// Refresh: rotation; narrowing the scope only.
		rt0 := got["refresh_token"].(string)
		st, r1 := tokenReq("grant_type=refresh_token&client_id=" + pubID + "&refresh_token=" + rt0)
		if st != 200 || r1["refresh_token"] == nil || r1["refresh_token"] == rt0 || r1["scope"] != "profile:read" {
			t.Fatalf("refresh: %d %v", st, r1)
		}
		rt1 := r1["refresh_token"].(string)
		if st, v := tokenReq("grant_type=refresh_token&client_id=" + pubID + "&refresh_token=" + rt1 + "&scope=workspaces:read"); st != 400 || v["error"] != "invalid_scope" {
			t.Fatalf("widening refresh: %d %v", st, v)
		}
		if st, v := tokenReq("grant_type=refresh_token&client_id="+confID+"&refresh_token="+rt1, "Authorization", basicAuth(confID, confSecret)); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("refresh by another client: %d %v", st, v)
		}
		// A people's refresh endpoint knows nothing of it.
		if st, _ := api("POST", "/v1/auth/refresh", "", `{"refresh_token":"`+rt1+`"}`); st != 401 {
			t.Fatalf("OAuth refresh token at /v1/auth/refresh: %d", st)
		}

		// The code again: invalid_grant, and what it issued is revoked.
		if st, v := tokenReq(exchange + "&code_verifier=" + verifier); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("code reuse: %d %v", st, v)
		}
		if st, v := tokenReq("grant_type=refresh_token&client_id=" + pubID + "&refresh_token=" + rt1); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("refresh after code reuse: %d %v", st, v)
		}

		// The confidential client's redirect URI is loopback http: any port
		// matches (RFC 8252 section 7.3), everything else exactly.
		for _, bad := range []string{"http://127.0.0.1.evil.com:9000/cb", "http://127.0.0.1:9000@evil.com/cb", "http://u@127.0.0.1:9000/cb",
			"http://127.0.0.1:9001/cb/", "http://127.0.0.1:9001/other", "http://127.0.0.1:9001/cb?x=1", "https://127.0.0.1:9000/cb",
			"http://localhost:9000/cb", "http://[::1]:9000/cb"} {
			if w := br.send("GET", authz(confID, bad, nil), "", ""); w.Code != 400 || w.Header().Get("Location") != "" {
				t.Errorf("loopback trick %s: %d %q", bad, w.Code, w.Header().Get("Location"))
			}
		}
		w = br.send("GET", authz(confID, "http://127.0.0.1:51234/cb", nil), "", "")
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "form-action 'self' http://127.0.0.1:51234;") {
			t.Fatalf("loopback with another port: %d CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
		}
		pf := consentForm(t, w.Body.String())
		pf.Set("decision", "approve")
		w = br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", pf.Encode())
		ploc, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != 303 || !strings.HasPrefix(ploc.String(), "http://127.0.0.1:51234/cb?") || ploc.Query().Get("code") == "" {
			t.Fatalf("approve at another port: %d %q", w.Code, w.Header().Get("Location"))
		}
		// The code request must name the redirect URI the authorization
		// request used (RFC 6749 section 4.1.3), port included.
		for _, redirect := range []string{"http://127.0.0.1:9000/cb", "http://127.0.0.1:51234/cb"} {
			st, v := tokenReq("grant_type=authorization_code&redirect_uri="+url.QueryEscape(redirect)+"&code="+ploc.Query().Get("code")+
				"&code_verifier="+verifier, "Authorization", basicAuth(confID, confSecret))
			if redirect == "http://127.0.0.1:9000/cb" && (st != 400 || v["error"] != "invalid_grant") {
				t.Fatalf("a code for port 51234 exchanged with the registered port: %d %v", st, v)
			}
			if redirect != "http://127.0.0.1:9000/cb" && st != 400 {
				t.Fatalf("the code after a failed exchange: %d %v", st, v) // it stays used
			}
		}
		w = br.send("GET", authz(confID, "http://127.0.0.1:51234/cb", nil), "", "")
		pf = consentForm(t, w.Body.String())
		pf.Set("decision", "approve")
		w = br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", pf.Encode())
		ploc, _ = url.Parse(w.Header().Get("Location"))
		if st, v := tokenReq("grant_type=authorization_code&redirect_uri="+url.QueryEscape("http://127.0.0.1:51234/cb")+"&code="+ploc.Query().Get("code")+
			"&code_verifier="+verifier, "Authorization", basicAuth(confID, confSecret)); st != 200 {
			t.Fatalf("a code for port 51234 exchanged with it: %d %v", st, v)
		}

		w = br.send("GET", authz(confID, "http://127.0.0.1:9000/cb", nil), "", "")
		if w.Code != 200 {
			t.Fatalf("confidential consent: %d", w.Code)
		}
		cf := consentForm(t, w.Body.String())
		cf.Set("decision", "approve")
		w = br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", cf.Encode())
		cloc, _ := url.Parse(w.Header().Get("Location"))
		ccode := cloc.Query().Get("code")
		cex := "grant_type=authorization_code&redirect_uri=" + url.QueryEscape("http://127.0.0.1:9000/cb") + "&code=" + ccode + "&code_verifier=" + verifier
		if st, v := tokenReq(cex + "&client_id=" + confID); st != 401 || v["error"] != "invalid_client" {
			t.Fatalf("confidential client without its secret: %d %v", st, v)
		}
		st, cv := tokenReq(cex, "Authorization", basicAuth(confID, confSecret))
		if st != 200 || cv["scope"] != "audit:read" || cv["refresh_token"] == nil {
			t.Fatalf("confidential exchange: %d %v", st, cv)
		}

		// Revocation (RFC 7009) ends a grant, only for its own client.
		crt := cv["refresh_token"].(string)
		if w := form(e.s, "/v1/oauth/revoke", "client_id="+pubID+"&token="+crt); w.Code != 200 {
			t.Fatalf("revoke by a public client: %d %s", w.Code, w.Body)
		}
		st, cr := tokenReq("grant_type=refresh_token&refresh_token="+crt, "Authorization", basicAuth(confID, confSecret))
		if st != 200 {
			t.Fatalf("another client's revocation ended the grant: %d %v", st, cr)
		}
		if w := form(e.s, "/v1/oauth/revoke", "token="+cr["refresh_token"].(string), "Authorization", basicAuth(confID, confSecret)); w.Code != 200 {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		if st, v := tokenReq("grant_type=refresh_token&refresh_token="+cr["refresh_token"].(string), "Authorization", basicAuth(confID, confSecret)); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("refresh after revocation: %d %v", st, v)
		}
		if w := form(e.s, "/v1/oauth/revoke", "client_id="+confID+"&token=x"); w.Code != 401 {
			t.Fatalf("a confidential client revoking without its secret: %d", w.Code)
		}

		// A public client revokes its own grant with its client_id alone
		// (token_endpoint_auth_method none at the revocation endpoint), but
		// not a PAT of its workspace: its client_id proves nothing.
		code = approve(fields)
		exchange = "grant_type=authorization_code&client_id=" + pubID + "&redirect_uri=" + url.QueryEscape(cb) + "&code=" + code
		st, pg := tokenReq(exchange + "&code_verifier=" + verifier)
		if st != 200 || pg["refresh_token"] == nil {
			t.Fatalf("public exchange: %d %v", st, pg)
		}
		if w := form(e.s, "/v1/oauth/revoke", "client_id="+pubID+"&token="+pg["refresh_token"].(string)); w.Code != 200 {
			t.Fatalf("revoke by the public client of its own grant: %d %s", w.Code, w.Body)
		}
		if st, v := tokenReq("grant_type=refresh_token&client_id=" + pubID + "&refresh_token=" + pg["refresh_token"].(string)); st != 400 || v["error"] != "invalid_grant" {
			t.Fatalf("refresh after the public client's revocation: %d %v", st, v)
		}
		st, pat := api("POST", "/v1/tokens", bearer, `{"name":"ci","workspace_id":"`+wsID+`"}`)
		if st != 201 {
			t.Fatalf("pat: %d %v", st, pat)
		}
		if w := form(e.s, "/v1/oauth/revoke", "client_id="+pubID+"&token="+pat["token"].(string)); w.Code != 200 {
			t.Fatalf("revoke of a PAT by a public client: %d %s", w.Code, w.Body)
		}
		if st, _ := api("GET", "/v1/workspaces/"+wsID, pat["token"].(string), ""); st != 200 {
			t.Fatalf("a public client revoked a PAT with its client_id alone: %d", st)
		}

		// token.issued for each exchange, in the workspace's trail.
		if n := countEventsIn(t, db, wsID, gatehouse.EventTokenIssued); n != 4 {
			t.Errorf("token.issued in the workspace: %d, want 4", n)
		}
		if n := countEventsIn(t, db, wsID, gatehouse.EventRefreshRotated); n != 2 {
			t.Errorf("refresh.rotated in the workspace: %d, want 2", n)
		}
	})
}

// FuzzAuthorizeRedirect: for any query an authorization request arrives
// with, and any registered redirect URI, the parameters read once each and
// the redirect built from them goes to exactly that URI, keeps its own
// query, and carries the state back unchanged.
func FuzzAuthorizeRedirect(f *testing.F) {
	f.Add("state=abc&scope=x", "https://app.example.com/cb", "code-1")
	f.Add("state=%26error%3Dx&state=y", "https://app.example.com/cb?a=1&b=2", "")
	f.Add("client_id=%00&redirect_uri=https://evil.example.com", "http://127.0.0.1:8080/", "c")
	f.Add("state=%ff%fe", "https://app.example.com/cb?", "c")
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.cfg.PublicURL, _ = url.Parse("https://auth.example.com")
	f.Fuzz(func(t *testing.T, query, redirect, code string) {
		if auth.ValidRedirectURI(redirect) != nil {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, _ := authorizeRequest(q)
		req.RedirectURI = redirect
		w := httptest.NewRecorder()
		v := url.Values{}
		if code != "" {
			v.Set("code", code)
		}
		s.authorizeRedirect(w, httptest.NewRequest("GET", "/v1/oauth/authorize", nil), req, v, nil)
		loc := w.Header().Get("Location")
		if w.Code != 303 || !strings.HasPrefix(loc, redirect) {
			t.Fatalf("%d Location %q for %q", w.Code, loc, redirect)
		}
		rest := loc[len(redirect):]
		if rest == "" || (rest[0] != '?' && rest[0] != '&') {
			t.Fatalf("Location %q does not extend %q with a query", loc, redirect)
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("Location %q: %v", loc, err)
		}
		got := u.Query()
		if got.Get("state") != req.State || (code != "" && got.Get("code") != code) || got.Get("iss") != "https://auth.example.com" {
			t.Fatalf("Location %q lost state %q or code %q", loc, req.State, code)
		}
	})
}

// TestRedirectURIHostsAtRegistration: the API refuses a redirect URI whose
// host is not a DNS name or IP literal (a ; in it reached the consent
// page's CSP).
func TestRedirectURIHostsAtRegistration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ce := newCredsEnv(t, db, withOAuth(db))
		c, owner := newClient(t, ce, db, "owner@example.com", "audit:read")
		for _, bad := range []string{
			"https://app.example.com;script-src-elem/cb",
			"https://app.example.com%3Bscript-src%20*/cb",
			`https://app.example.com\"/cb`,
			"https://app.example.com'/cb",
			"https://app example.com/cb",
			"https://app.example.com%20x/cb",
			"https://app.example.com<svg>/cb",
			"https://app.exämple.com/cb",
			"https://app.ex%C3%A4mple.com/cb",
			"https:///cb",
			"https://*/cb",
			"https://*.example.com/cb",
		} {
			body := `{"name":"x","redirect_uris":["` + bad + `"]}`
			if st, v := ce.call(t, "POST", "/v1/workspaces/"+c.ws+"/clients", owner, body); st != 400 || v["error"] != "invalid_request" {
				t.Errorf("redirect URI %q: %d %v", bad, st, v)
			}
		}
		if st, v := ce.call(t, "POST", "/v1/workspaces/"+c.ws+"/clients", owner, `{"name":"x","redirect_uris":["https://app.example.com/cb;x"]}`); st != 201 {
			t.Errorf("a ; in the path: %d %v", st, v)
		}

	})
}

// TestConsentPageCSP: the consent page's form-action names the origin of a
// valid redirect URI and nothing else; a redirect URI whose host is not a
// DNS name or IP literal gets the error page and the portal's own policy.
func TestConsentPageCSP(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c := &gatehouse.Client{ClientID: "c", Name: "App"}
	for _, tc := range []struct{ uri, origin string }{
		{"https://app.example.com/cb?x=1", "https://app.example.com"},
		{"http://127.0.0.1:51234/cb", "http://127.0.0.1:51234"},
		{"http://[::1]/cb", "http://[::1]"},
		{"https://app.example.com;script-src-elem/cb", ""},
		{"https://app.example.com%3Bscript-src%20*/cb", ""},
		{"https://a.example.com'/cb", ""},
		{"https://*/cb", ""},
	} {
		w := httptest.NewRecorder()
		s.consentPage(w, httptest.NewRequest("GET", "/v1/oauth/authorize", nil), c, auth.AuthorizationRequest{RedirectURI: tc.uri}, "", "tok")
		csp := w.Header().Get("Content-Security-Policy")
		if tc.origin != "" && (w.Code != 200 || !strings.Contains(csp, "form-action 'self' "+tc.origin+";")) {
			t.Errorf("%s: %d CSP %q", tc.uri, w.Code, csp)
		}
		if tc.origin == "" && (w.Code != 400 || csp != web.CSP || strings.Contains(w.Body.String(), "<form")) {
			t.Errorf("%s: %d CSP %q", tc.uri, w.Code, csp)
		}
	}
}

// TestAuthorizeErrorPage: the error page is chosen by the error's identity
// (errors.Is auth.ErrUnknownRedirect, wrapped or not), never by its text.
func TestAuthorizeErrorPage(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	const friendly = "gatehouse will not send you back to it"
	for _, tc := range []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"unknown redirect", auth.ErrUnknownRedirect, 400, friendly},
		{"wrapped", fmt.Errorf("authorize: %w", auth.ErrUnknownRedirect), 400, friendly},
		{"same text, another error", gatehouse.Errorf(gatehouse.EInvalidRequest, "%s", gatehouse.ErrorMessage(auth.ErrUnknownRedirect)), 400, "unknown client or unregistered redirect_uri"},
		{"another invalid_request", gatehouse.Errorf(gatehouse.EInvalidRequest, "redirect_uri is given more than once"), 400, "redirect_uri is given more than once"},
		{"forbidden", gatehouse.Errorf(gatehouse.ECSRFFailed, "the consent form is stale"), 403, "the consent form is stale"},
	} {
		w := httptest.NewRecorder()
		s.authorizeFailed(w, httptest.NewRequest("GET", "/v1/oauth/authorize", nil), tc.err)
		body := w.Body.String()
		if w.Code != tc.status || !strings.Contains(body, tc.want) || (tc.want != friendly && strings.Contains(body, friendly)) {
			t.Errorf("%s: %d %s", tc.name, w.Code, body)
		}
	}
}
