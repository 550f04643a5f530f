package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// withClients adds the OAuth client services and the authorization server
// over store, after withSessions.
func withClients(store gatehouse.Store) option {
	return func(_ *Config, d *Deps) {
		core := auth.NewCore(store, d.Logger)
		d.Clients = &auth.Clients{Core: core}
		d.OAuth = &auth.OAuth{Core: core, Keys: d.Keys, Sessions: d.Sessions}
	}
}

// A person's access token whose session ended, or whose account is not
// active, may read but changes nothing: every write gets 401 and nothing
// changes (docs/sessions.md).
func TestEndedSessionWritesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()), withClients(db))
		h := e.s
		live := signIn(t, h, "alice@example.com")
		dead := signIn(t, h, "alice@example.com")
		at, deadAT := live["access_token"].(string), dead["access_token"].(string)
		aliceID := live["user_id"]
		if aliceID == nil {
			_, me := bearerCall(t, h, "GET", "/v1/me", at, "")
			aliceID = me["id"]
		}
		signIn(t, h, "bob@example.com")
		signIn(t, h, "carol@example.com")
		ctx := context.Background()
		var bobID string
		if err := db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			u, err := tx.UserByEmail(ctx, "bob@example.com")
			if err == nil {
				bobID = u.ID
				err = tx.SetUserAdmin(ctx, aliceID.(string), true, time.Now())
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, w := bearerCall(t, h, "POST", "/v1/workspaces", at, `{"name":"acme"}`)
		ws := w["id"].(string)
		if st, _ := bearerCall(t, h, "POST", "/v1/workspaces/"+ws+"/members", at, `{"email":"bob@example.com","role":"admin"}`); st != 201 {
			t.Fatalf("add bob: %d", st)
		}
		_, c := bearerCall(t, h, "POST", "/v1/workspaces/"+ws+"/clients", at, `{"name":"svc","scopes":["audit:read"]}`)
		client := c["client_id"].(string)
		_, p := bearerCall(t, h, "POST", "/v1/tokens", at, `{"name":"ci","workspace_id":"`+ws+`","scopes":["profile:read"]}`)
		pat := p["id"].(string)

		writes := []struct{ method, path, body string }{
			{"POST", "/v1/workspaces", `{"name":"more"}`},
			{"POST", "/v1/workspaces/" + ws + "/members", `{"email":"carol@example.com","role":"member"}`},
			{"PATCH", "/v1/workspaces/" + ws + "/members/" + bobID, `{"role":"owner"}`},
			{"DELETE", "/v1/workspaces/" + ws + "/members/" + bobID, ``},
			{"POST", "/v1/workspaces/" + ws + "/clients", `{"name":"more","scopes":["audit:read"]}`},
			{"POST", "/v1/workspaces/" + ws + "/clients/" + client + "/secret", ``},
			{"DELETE", "/v1/workspaces/" + ws + "/clients/" + client, ``},
			{"POST", "/v1/tokens", `{"name":"more","workspace_id":"` + ws + `"}`},
			{"PATCH", "/v1/tokens/" + pat, `{"scopes":["profile:read","workspaces:write","audit:read"]}`},
			{"DELETE", "/v1/tokens/" + pat, ``},
			{"DELETE", "/v1/auth/sessions/" + live["session_id"].(string), ``},
			{"PATCH", "/v1/admin/users/" + bobID, `{"status":"locked"}`},
		}
		// Everything the writes could change, as alice sees it.
		snapshot := func() string {
			t.Helper()
			var b strings.Builder
			for _, path := range []string{"/v1/workspaces", "/v1/workspaces/" + ws + "/members", "/v1/workspaces/" + ws + "/clients",
				"/v1/tokens", "/v1/auth/sessions", "/v1/workspaces/" + ws + "/clients/" + client} {
				st, v := bearerCall(t, h, "GET", path, at, "")
				if st != 200 {
					t.Fatalf("GET %s: %d %v", path, st, v)
				}
				j, _ := json.Marshal(v)
				b.Write(j)
			}
			var bob *gatehouse.User
			db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) (err error) { bob, err = tx.UserByID(ctx, bobID); return })
			b.WriteString(string(bob.Status))
			return b.String()
		}
		tryAll := func(name, bearer string) {
			t.Helper()
			before := snapshot()
			for _, wr := range writes {
				if st, v := bearerCall(t, h, wr.method, wr.path, bearer, wr.body); st != 401 || v["error"] != "unauthorized" {
					t.Errorf("%s: %s %s: %d %v", name, wr.method, wr.path, st, v)
				}
			}
			if after := snapshot(); after != before {
				t.Errorf("%s: something changed:\n%s\n%s", name, before, after)
			}
		}

		// A revoked session: its access token still reads, writes nothing.
		if st, _ := bearerCall(t, h, "DELETE", "/v1/auth/sessions/"+dead["session_id"].(string), at, ""); st != 204 {
			t.Fatalf("revoke: %d", st)
		}
		if st, _ := bearerCall(t, h, "GET", "/v1/workspaces/"+ws, deadAT, ""); st != 200 {
			t.Fatalf("a revoked session's token no longer reads: %d", st)
		}
		tryAll("revoked session", deadAT)

		// A locked account (locked in the store, its sessions left as they
		// are, so that only the account's status stops the writes).
		setStatus := func(st gatehouse.UserStatus) {
			if err := db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
				return tx.UpdateUserStatus(ctx, aliceID.(string), st, time.Now())
			}); err != nil {
				t.Fatal(err)
			}
		}
		before := snapshot()
		setStatus(gatehouse.StatusLocked)
		for _, wr := range writes {
			if st, v := bearerCall(t, h, wr.method, wr.path, at, wr.body); st != 401 || v["error"] != "unauthorized" {
				t.Errorf("locked account: %s %s: %d %v", wr.method, wr.path, st, v)
			}
		}
		setStatus(gatehouse.StatusActive)
		if after := snapshot(); after != before {
			t.Errorf("locked account: something changed:\n%s\n%s", before, after)
		}
		// And the live session of an active account still writes.
		if st, v := bearerCall(t, h, "POST", "/v1/workspaces", at, `{"name":"more"}`); st != 201 {
			t.Fatalf("live session: %d %v", st, v)
		}
	})
}

// Removing a member ends their OAuth grants in the workspace at once: the
// application's refresh gets invalid_grant, introspection answers inactive
// for its access token and refresh token, and the access token no longer
// reaches the workspace.
func TestRemovedMemberLosesOAuthGrants(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()),
			withCookieMode(t, CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: 720 * time.Hour}), withClients(db))
		h := e.s
		owner := signIn(t, h, "ada@example.com")["access_token"].(string)
		_, w := bearerCall(t, h, "POST", "/v1/workspaces", owner, `{"name":"acme"}`)
		ws := w["id"].(string)
		bob := signIn(t, h, "bob@example.com")
		_, m := bearerCall(t, h, "POST", "/v1/workspaces/"+ws+"/members", owner, `{"email":"bob@example.com","role":"member"}`)
		bobID := m["user_id"].(string)
		const cb = "https://app.example.com/cb"
		_, app := bearerCall(t, h, "POST", "/v1/workspaces/"+ws+"/clients", owner,
			`{"name":"app","redirect_uris":["`+cb+`"],"scopes":["workspaces:read","profile:read","audit:read"]}`)
		appID, appSecret := app["client_id"].(string), app["client_secret"].(string)
		_, rs := bearerCall(t, h, "POST", "/v1/workspaces/"+ws+"/clients", owner, `{"name":"rs","scopes":["audit:read"]}`)
		rsID, rsSecret := rs["client_id"].(string), rs["client_secret"].(string)

		// Bob approves the application in his browser.
		br := &browser{t: t, h: h, jar: map[string]string{}}
		if w := br.send("POST", "/v1/auth/token", "application/json", `{"email":"bob@example.com","password":"`+httpPassword+`"}`); w.Code != 200 {
			t.Fatalf("portal sign-in: %d", w.Code)
		}
		verifier := strings.Repeat("v3r1f13r-", 6)
		q := url.Values{"client_id": {appID}, "redirect_uri": {cb}, "response_type": {"code"}, "state": {"s"},
			"scope": {"workspaces:read profile:read audit:read"}, "code_challenge": {pkce(verifier)}, "code_challenge_method": {"S256"}}
		page := br.send("GET", "/v1/oauth/authorize?"+q.Encode(), "", "")
		fields := consentForm(t, page.Body.String())
		fields.Set("decision", "approve")
		al, _ := url.Parse(br.send("POST", "/v1/oauth/authorize", "application/x-www-form-urlencoded", fields.Encode()).Header().Get("Location"))
		code := al.Query().Get("code")
		basic := basicAuth(appID, appSecret)
		tw := form(h, "/v1/oauth/token", "grant_type=authorization_code&redirect_uri="+url.QueryEscape(cb)+"&code="+code+"&code_verifier="+verifier, "Authorization", basic)
		tok := jsonOf(t, tw)
		access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
		if tw.Code != 200 || access == "" || refresh == "" {
			t.Fatalf("exchange: %d %v", tw.Code, tok)
		}
		// The application reads the workspace and the profile as bob (its
		// scopes, bob's view), only in its client's workspace, and refreshes.
		if st, v := bearerCall(t, h, "GET", "/v1/workspaces/"+ws+"/members", access, ""); st != 200 {
			t.Fatalf("app reads members: %d %v", st, v)
		}
		if st, v := bearerCall(t, h, "GET", "/v1/me", access, ""); st != 200 || v["id"] != bobID {
			t.Fatalf("app reads bob's profile: %d %v", st, v)
		}
		_, other := bearerCall(t, h, "POST", "/v1/workspaces", bob["access_token"].(string), `{"name":"bob's own"}`)
		if st, _ := bearerCall(t, h, "GET", "/v1/workspaces/"+other["id"].(string), access, ""); st != 404 {
			t.Fatalf("app reads another workspace of bob's: %d", st)
		}
		if st, _ := bearerCall(t, h, "GET", "/v1/workspaces/"+ws+"/audit-events", access, ""); st != 403 {
			t.Fatalf("app reads the audit trail for bob, a plain member: %d", st)
		}
		rw := form(h, "/v1/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(refresh), "Authorization", basic)
		if rw.Code != 200 {
			t.Fatalf("refresh: %d %s", rw.Code, rw.Body)
		}
		refresh = jsonOf(t, rw)["refresh_token"].(string)
		introspect := func(tok string) string {
			w := form(h, "/v1/oauth/introspect", "token="+url.QueryEscape(tok), "Authorization", basicAuth(rsID, rsSecret))
			return strings.TrimSpace(w.Body.String())
		}
		if v := introspect(access); !strings.Contains(v, `"active":true`) {
			t.Fatalf("introspect before: %s", v)
		}

		if st, _ := bearerCall(t, h, "DELETE", "/v1/workspaces/"+ws+"/members/"+bobID, owner, ""); st != 204 {
			t.Fatalf("remove: %d", st)
		}
		rw = form(h, "/v1/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(refresh), "Authorization", basic)
		if rw.Code != 400 || jsonOf(t, rw)["error"] != "invalid_grant" {
			t.Fatalf("refresh after removal: %d %s", rw.Code, rw.Body)
		}
		for name, tok := range map[string]string{"refresh token": refresh, "access token": access} {
			if v := introspect(tok); v != `{"active":false}` {
				t.Errorf("introspect %s after removal: %s", name, v)
			}
		}
		if st, _ := bearerCall(t, h, "GET", "/v1/workspaces/"+ws, access, ""); st != 404 {
			t.Errorf("the app still reads the workspace as bob: %d", st)
		}
	})
}

// A client's token uses each scope a client may hold on the routes it
// names, for its own workspace only (docs/scopes.md).
func TestClientTokenScopes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ce := newCredsEnv(t, s, withOAuth(s), func(_ *Config, d *Deps) { d.Profile = &auth.Profile{Core: auth.NewCore(s, d.Logger)} })
		a, ownerA := newClient(t, ce, s, "scopes-a@example.com", "workspaces:read", "audit:read", "profile:read")
		b, _ := newClient(t, ce, s, "scopes-b@example.com", "workspaces:read", "audit:read")
		token := func(c oauthClient, scope string) string {
			w := form(ce.s, "/v1/oauth/token", "grant_type=client_credentials&scope="+url.QueryEscape(scope), "Authorization", basicAuth(c.id, c.secret))
			if w.Code != 200 {
				t.Fatalf("token: %d %s", w.Code, w.Body)
			}
			return jsonOf(t, w)["access_token"].(string)
		}
		read, audit := token(a, "workspaces:read"), token(a, "audit:read")
		for _, c := range []struct {
			tok, path string
			want      int
		}{
			{read, "/v1/workspaces/" + a.ws, 200},
			{read, "/v1/workspaces/" + a.ws + "/members", 200},
			{read, "/v1/workspaces", 200},
			{read, "/v1/workspaces/" + b.ws, 404},
			{read, "/v1/workspaces/" + b.ws + "/members", 404},
			{read, "/v1/workspaces/" + a.ws + "/audit-events", 403}, // not its scope
			{audit, "/v1/workspaces/" + a.ws + "/audit-events", 200},
			{audit, "/v1/workspaces/" + b.ws + "/audit-events", 404},
			{audit, "/v1/workspaces/" + a.ws, 403},
			{audit, "/v1/me", 403}, // a client acting for itself is no person
		} {
			if st, v := ce.call(t, "GET", c.path, c.tok, ""); st != c.want {
				t.Errorf("GET %s: %d %v, want %d", c.path, st, v, c.want)
			}
		}
		if _, v := ce.call(t, "GET", "/v1/workspaces", read, ""); len(v["workspaces"].([]any)) != 1 {
			t.Errorf("list: %v", v)
		}
		// No write: workspaces:write is not offered to clients.
		if st, v := ce.call(t, "POST", "/v1/workspaces/"+a.ws+"/clients", ownerA, `{"name":"w","scopes":["workspaces:write"]}`); st != 400 || v["error"] != "invalid_scope" {
			t.Errorf("client with workspaces:write: %d %v", st, v)
		}
		if st, _ := ce.call(t, "POST", "/v1/workspaces/"+a.ws+"/members", read, `{"email":"scopes-b@example.com","role":"member"}`); st != 403 {
			t.Errorf("client adds a member: %d", st)
		}
		// Deleting the client ends what its tokens reach at once.
		if st, _ := ce.call(t, "DELETE", "/v1/workspaces/"+a.ws+"/clients/"+a.id, ownerA, ""); st != 204 {
			t.Fatal(st)
		}
		if st, _ := ce.call(t, "GET", "/v1/workspaces/"+a.ws, read, ""); st != 404 {
			t.Errorf("a deleted client's token still reads: %d", st)
		}
	})
}

// The member list pages; POST /v1/tokens without workspace_id is 400.
func TestMemberPagesAndTokenWorkspaceRequired(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ce := newCredsEnv(t, s)
		owner := ce.session(t, createUser(t, s, "pages@example.com", false))
		_, w := ce.call(t, "POST", "/v1/workspaces", owner, `{"name":"w"}`)
		ws := w["id"].(string)
		for i := range 4 {
			email := "pages-" + string(rune('a'+i)) + "@example.com"
			createUser(t, s, email, false)
			if st, _ := ce.call(t, "POST", "/v1/workspaces/"+ws+"/members", owner, `{"email":"`+email+`","role":"member"}`); st != 201 {
				t.Fatal(st)
			}
		}
		seen, cursor := 0, ""
		for range 4 {
			path := "/v1/workspaces/" + ws + "/members?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			st, v := ce.call(t, "GET", path, owner, "")
			if st != 200 {
				t.Fatalf("page: %d %v", st, v)
			}
			seen += len(v["members"].([]any))
			next, _ := v["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if seen != 5 {
			t.Fatalf("paged through %d members, want 5", seen)
		}
		for _, q := range []string{"?limit=0", "?limit=501", "?cursor=junk", "?foo=1"} {
			if st, v := ce.call(t, "GET", "/v1/workspaces/"+ws+"/members"+q, owner, ""); st != 400 || v["error"] != "invalid_request" {
				t.Errorf("%s: %d %v", q, st, v)
			}
		}
		st, v := ce.call(t, "POST", "/v1/tokens", owner, `{"name":"ci"}`)
		if st != 400 || v["error"] != "invalid_request" || !strings.Contains(v["error_description"].(string), "workspace_id") {
			t.Fatalf("no workspace_id: %d %v", st, v)
		}
	})
}
