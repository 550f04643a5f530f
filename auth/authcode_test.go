package auth_test

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

func TestCheckAuthorization(t *testing.T) {
	c := &gatehouse.Client{Scopes: []string{"audit:read", "profile:read"}}
	challenge := auth.S256(strings.Repeat("a", 43))
	ok := auth.AuthorizationRequest{ResponseType: "code", CodeChallenge: challenge, CodeChallengeMethod: "S256"}
	for _, tc := range []struct {
		name  string
		edit  func(*auth.AuthorizationRequest)
		code  string
		scope string
	}{
		{"whole scope by default", func(*auth.AuthorizationRequest) {}, "", "audit:read profile:read"},
		{"a subset", func(r *auth.AuthorizationRequest) { r.Scope = "profile:read" }, "", "profile:read"},
		{"token response type", func(r *auth.AuthorizationRequest) { r.ResponseType = "token" }, "unsupported_response_type", ""},
		{"no challenge", func(r *auth.AuthorizationRequest) { r.CodeChallenge = "" }, "invalid_request", ""},
		{"plain", func(r *auth.AuthorizationRequest) { r.CodeChallengeMethod = "plain" }, "invalid_request", ""},
		{"no method means plain", func(r *auth.AuthorizationRequest) { r.CodeChallengeMethod = "" }, "invalid_request", ""},
		{"s256 lower case", func(r *auth.AuthorizationRequest) { r.CodeChallengeMethod = "s256" }, "invalid_request", ""},
		{"short challenge", func(r *auth.AuthorizationRequest) { r.CodeChallenge = challenge[:42] }, "invalid_request", ""},
		{"challenge not base64url", func(r *auth.AuthorizationRequest) { r.CodeChallenge = strings.Repeat("+", 43) }, "invalid_request", ""},
		{"scope beyond", func(r *auth.AuthorizationRequest) { r.Scope = "workspaces:write" }, "invalid_scope", ""},
		{"unknown scope", func(r *auth.AuthorizationRequest) { r.Scope = "root" }, "invalid_scope", ""},
		{"double space", func(r *auth.AuthorizationRequest) { r.Scope = "audit:read  profile:read" }, "invalid_scope", ""},
	} {
		req := ok
		tc.edit(&req)
		scope, err := auth.CheckAuthorization(c, req)
		var ae *auth.AuthorizeError
		switch {
		case tc.code == "" && (err != nil || scope != tc.scope):
			t.Errorf("%s: %q %v, want %q", tc.name, scope, err, tc.scope)
		case tc.code != "" && (!errors.As(err, &ae) || ae.Code != tc.code):
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}

func TestValidRedirectURI(t *testing.T) {
	for uri, want := range map[string]bool{
		"https://app.example.com/cb":               true,
		"https://app.example.com/cb?x=1":           true,
		"http://127.0.0.1:8080/cb":                 true,
		"http://[::1]/cb":                          true,
		"http://localhost:3000/":                   true,
		"com.example.app://cb":                     false, // private-use schemes: not served
		"http://app.example.com/cb":                false,
		"http://127.0.0.1.example.com/cb":          false,
		"https://app.example.com/cb#x":             false,
		"https://app.example.com/cb#":              false,
		"https://user:pw@app.example.com/cb":       false,
		"/cb":                                      false,
		"https:///cb":                              false,
		"https://app.example.com/a b":              false,
		"https://app.example.com/\u00e9":           false,
		"javascript://app.example.com/%0aalert(1)": false,
		"": false,
	} {
		if got := auth.ValidRedirectURI(uri) == nil; got != want {
			t.Errorf("ValidRedirectURI(%q) ok = %v, want %v", uri, got, want)
		}
	}
}

// FuzzValidRedirectURI: whatever is accepted is an absolute https URI, or
// http to a loopback host, without a fragment, user information or space.
func FuzzValidRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://127.0.0.1:1/x", "http://[::1]/", "https://a#b", "http://localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if auth.ValidRedirectURI(s) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil || strings.ContainsAny(s, "# \t\r\n") || u.User != nil || u.Host == "" ||
			!(u.Scheme == "https" || u.Scheme == "http" && (u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback())) {
			t.Fatalf("accepted %q", s)
		}
	})
}

// TestAuthorizationCodeGrant runs the grant in package auth with a clock:
// the signed-in check, codes that expire, single use, refresh rotation
// with its grace window and reuse detection, and who may approve.
func TestAuthorizationCodeGrant(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		o := &auth.OAuth{Core: e.core, Keys: e.keys, Sessions: e.s}
		ada := e.signup("ada@example.com")
		e.signup("bob@example.com")
		tr := e.login("ada@example.com")
		w, err := (&auth.Workspaces{Core: e.core}).Create(ctx, &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: ada.ID, SessionID: tr.SessionID}, "acme")
		if err != nil {
			t.Fatal(err)
		}
		cc, err := (&auth.Clients{Core: e.core}).CreateAsSystem(ctx, w.ID, auth.ClientSpec{Name: "spa", Public: true,
			RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"profile:read"}})
		if err != nil {
			t.Fatal(err)
		}
		c := cc.Client
		if cc.Secret.Reveal() != "" || c.SecretHash != "" {
			t.Fatal("a public client got a secret")
		}

		// Signed in: the current refresh token; the parent only within grace.
		if uid, sid, err := o.SignedIn(ctx, tr.RefreshToken); err != nil || uid != ada.ID || sid != tr.SessionID {
			t.Fatalf("SignedIn: %q %q %v", uid, sid, err)
		}
		tr2, err := e.s.Refresh(ctx, tr.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := o.SignedIn(ctx, tr.RefreshToken); err != nil {
			t.Fatalf("parent within grace: %v", err)
		}
		e.clock.Advance(11 * time.Second)
		if _, _, err := o.SignedIn(ctx, tr.RefreshToken); gatehouse.ErrorCode(err) != gatehouse.EUnauthorized {
			t.Fatalf("parent after grace: %v", err)
		}
		if _, _, err := o.SignedIn(ctx, tr2.RefreshToken); err != nil {
			t.Fatalf("SignedIn did not leave the session alone: %v", err)
		}
		if _, _, err := o.SignedIn(ctx, "garbage"); gatehouse.ErrorCode(err) != gatehouse.EUnauthorized {
			t.Fatalf("garbage: %v", err)
		}

		bob := e.login("bob@example.com")
		var ae *auth.AuthorizeError
		if err := o.MayApprove(ctx, c, bob.UserID); !errors.As(err, &ae) || ae.Code != "access_denied" {
			t.Fatalf("a non-member may approve: %v", err)
		}

		verifier := strings.Repeat("Vv-._~", 8)
		req := auth.AuthorizationRequest{ClientID: c.ClientID, RedirectURI: "https://app.example.com/cb", ResponseType: "code",
			CodeChallenge: auth.S256(verifier), CodeChallengeMethod: "S256"}
		issue := func() string {
			t.Helper()
			code, err := o.IssueCode(ctx, c, ada.ID, tr.SessionID, req, "profile:read")
			if err != nil {
				t.Fatal(err)
			}
			return code
		}
		if _, err := o.IssueCode(ctx, c, bob.UserID, bob.SessionID, req, "profile:read"); !errors.As(err, &ae) {
			t.Fatalf("code for a non-member: %v", err)
		}

		// Codes expire after 60 seconds.
		old := issue()
		e.clock.Advance(61 * time.Second)
		if _, err := o.ExchangeCode(ctx, c, old, req.RedirectURI, verifier); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("expired code: %v", err)
		}

		code := issue()
		g, err := o.ExchangeCode(ctx, c, code, req.RedirectURI, verifier)
		if err != nil || g.RefreshToken == "" || g.Scope != "profile:read" || strings.Contains(g.String(), g.RefreshToken) {
			t.Fatalf("exchange: %v %v", g, err)
		}

		// Rotation, the grace window, then reuse.
		r1, err := o.RefreshGrant(ctx, c, g.RefreshToken, "")
		if err != nil || r1.RefreshToken == g.RefreshToken {
			t.Fatalf("refresh: %v", err)
		}
		again, err := o.RefreshGrant(ctx, c, g.RefreshToken, "")
		if err != nil || again.RefreshToken != r1.RefreshToken {
			t.Fatalf("the parent within grace: %v", err)
		}
		e.clock.Advance(11 * time.Second)
		if _, err := o.RefreshGrant(ctx, c, g.RefreshToken, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("reuse: %v", err)
		}
		if _, err := o.RefreshGrant(ctx, c, r1.RefreshToken, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("the current token after reuse: %v", err)
		}
		var reuse int
		_ = e.core.InTx(ctx, gatehouse.Scope{WorkspaceID: w.ID}, func(tx *auth.Tx) error {
			evs, err := tx.AuditEvents(ctx, gatehouse.AuditFilter{WorkspaceID: w.ID, Type: gatehouse.EventRefreshReuseDetected, Limit: 10})
			reuse = len(evs)
			return err
		})
		if reuse != 1 {
			t.Fatalf("refresh.reuse_detected: %d", reuse)
		}

		// A client without the refresh_token grant gets no refresh token.
		noRefresh, err := (&auth.Clients{Core: e.core}).CreateAsSystem(ctx, w.ID, auth.ClientSpec{Name: "once", Public: true,
			Grants: []string{"authorization_code"}, RedirectURIs: []string{"https://app.example.com/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		nc, err := o.IssueCode(ctx, noRefresh.Client, ada.ID, tr.SessionID, req, "")
		if err != nil {
			t.Fatal(err)
		}
		if g, err := o.ExchangeCode(ctx, noRefresh.Client, nc, req.RedirectURI, verifier); err != nil || g.RefreshToken != "" || g.AccessToken == "" {
			t.Fatalf("exchange without refresh_token: %v %v", g, err)
		}

		// A person whose portal session ended cannot have their code exchanged.
		code = issue()
		if err := e.s.Logout(ctx, tr2.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := o.ExchangeCode(ctx, c, code, req.RedirectURI, verifier); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("code of an ended session: %v", err)
		}
	})
}
