package auth

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/big"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/token"
)

// The fuzz targets of the OpenID Connect provider's inputs from the
// browser and the relying party (docs/oidc.md, docs/fuzzing.md): the
// id_token_hint, the scope of a person's grant, prompt/max_age/auth_after,
// and the RP-initiated logout request and its confirmation form.

// oidcFuzz is a real key set (EdDSA access tokens, an RS256 id_token
// family) and OAuth service over a migrated SQLite store, with a person
// signed in, a workspace and three clients, on a clock that stands still.
type oidcFuzz struct {
	now     time.Time
	oauth   *OAuth
	keys    *Keys
	session *gatehouse.Session
	// clients by client_id, with the post-logout URIs they registered.
	clients map[string][]string
	a, b, c string // a and b registered post-logout URIs, c none
	// hints are the id_tokens issued here that are valid hints, with
	// their claims.
	hints map[string]*IDTokenClaims
	// others are tokens that are not hints: the key set's access and
	// logout tokens and id_tokens without sub or aud, another key set's
	// id_token.
	others []string
}

func newOIDCFuzz(tb testing.TB) *oidcFuzz {
	tb.Helper()
	ctx := context.Background()
	e := &oidcFuzz{now: time.Now().UTC(), clients: map[string][]string{}, hints: map[string]*IDTokenClaims{}}
	kek, err := kms.NewLocal(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	keysOn := func(s gatehouse.Store) (*Core, *Keys) {
		core := NewCore(s, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		core.Now = func() time.Time { return e.now }
		k, err := NewKeys(core, KeysConfig{Issuer: "https://auth.example.com", KEK: kek, IDTokenAlgs: []token.Alg{token.RS256}})
		if err != nil {
			tb.Fatal(err)
		}
		if err := k.Tick(ctx); err != nil {
			tb.Fatal(err)
		}
		return core, k
	}
	core, keys := keysOn(testdb.SQLite(tb))
	csrf, err := newCSRF(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	e.keys, e.oauth = keys, &OAuth{Core: core, Keys: keys, Sessions: &Sessions{CSRF: csrf}}

	u := &gatehouse.User{ID: gatehouse.NewID(e.now), Email: "ada@example.com", Status: gatehouse.StatusActive, CreatedAt: e.now, UpdatedAt: e.now}
	if err := core.Store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		tb.Fatal(err)
	}
	p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: u.ID, SessionID: testdb.NewSession(tb, core.Store, u.ID)}
	if err := core.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		e.session, err = tx.SessionByID(ctx, p.SessionID)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	w, err := (&Workspaces{Core: core}).Create(ctx, p, "acme")
	if err != nil {
		tb.Fatal(err)
	}
	client := func(name string, logout ...string) string {
		cc, err := (&Clients{Core: core}).Create(ctx, p, w.ID, ClientSpec{Name: name, Public: true,
			RedirectURIs: []string{"https://" + name + ".example.com/cb"}, PostLogoutRedirectURIs: logout})
		if err != nil {
			tb.Fatal(err)
		}
		e.clients[cc.Client.ClientID] = logout
		return cc.Client.ClientID
	}
	e.a = client("app", "https://app.example.com/bye", "https://app.example.com/bye?x=1")
	e.b = client("other", "https://other.example.com/bye")
	e.c = client("plain")

	sign := func(c *IDTokenClaims, alg string) string {
		tok, err := keys.signIDToken(c, alg, "")
		if err != nil {
			tb.Fatal(err)
		}
		return tok
	}
	for _, alg := range []string{"", "RS256"} {
		for _, aud := range []string{e.a, e.b, e.c} {
			c := &IDTokenClaims{Subject: u.ID, Audience: token.Audience{aud}, SessionID: e.session.ID, AuthTime: e.now.Unix(), AMR: []string{"pwd"}}
			e.hints[sign(c, alg)] = c
		}
	}
	two := &IDTokenClaims{Subject: u.ID, Audience: token.Audience{e.a, e.b}}
	e.hints[sign(two, "")] = two
	e.others = append(e.others, sign(&IDTokenClaims{Audience: token.Audience{e.a}}, ""), sign(&IDTokenClaims{Subject: u.ID}, "RS256"))
	at, _, err := keys.IssueAccessToken(ctx, token.Claims{Subject: u.ID, ClientID: e.a, SessionID: e.session.ID})
	if err != nil {
		tb.Fatal(err)
	}
	lt, err := keys.LogoutToken(BackchannelNotice{Subject: u.ID, ClientID: e.a, SessionID: e.session.ID}, "")
	if err != nil {
		tb.Fatal(err)
	}
	_, foreign := keysOn(testdb.SQLite(tb))
	ft, err := foreign.signIDToken(&IDTokenClaims{Subject: u.ID, Audience: token.Audience{e.a}}, "", "")
	if err != nil {
		tb.Fatal(err)
	}
	e.others = append(e.others, at, lt, ft)
	return e
}

// FuzzVerifyIDTokenHint: an id_token_hint (OpenID Connect Core section
// 3.1.2.1, RP-Initiated Logout 1.0 section 2) is accepted only when it is
// one of the id_tokens this key set issued with sub and aud, and then its
// claims are exactly the signed ones; an access token, a logout token, an
// id_token of another key set and every mutation are refused with
// invalid_request, never a panic.
func FuzzVerifyIDTokenHint(f *testing.F) {
	e := newOIDCFuzz(f)
	for tok := range e.hints {
		f.Add(tok)
	}
	for _, tok := range e.others {
		f.Add(tok)
	}
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := e.keys.VerifyIDTokenHint(tok)
		if err != nil {
			if c != nil || gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("refusal %v with claims %v", err, c)
			}
			return
		}
		want, ok := e.hints[tok]
		if !ok {
			t.Fatalf("accepted a hint this key set did not issue as one: %q", tok)
		}
		if !reflect.DeepEqual(c, want) {
			t.Fatalf("claims %+v, signed %+v", c, want)
		}
	})
}

// FuzzCheckLogout: an end_session request (RP-Initiated Logout 1.0
// section 2). Refusals are invalid_request. Accepted ⇒ the state is at
// most 1024 bytes; with a hint, it is a genuine id_token with one audience,
// which is the plan's client and agrees with client_id; without one, the
// client is exactly the client_id's (none without it); a
// post_logout_redirect_uri is exactly one that client registered
// (section 3.1), else none.
func FuzzCheckLogout(f *testing.F) {
	e := newOIDCFuzz(f)
	ctx := context.Background()
	var hintA string
	for tok, c := range e.hints {
		if len(c.Audience) == 1 && c.Audience[0] == e.a {
			hintA = tok
		}
		f.Add(tok, "", "", "s")
	}
	f.Add(hintA, e.a, "https://app.example.com/bye?x=1", "state")
	f.Add(hintA, e.b, "https://app.example.com/bye", "")
	f.Add(hintA, "", "https://other.example.com/bye", "")
	f.Add("", e.a, "https://app.example.com/bye", "xyz")
	f.Add("", e.b, "https://other.example.com/bye/", "")
	f.Add("", e.c, "https://app.example.com/bye", "")
	f.Add("", "", "https://app.example.com/bye", "")
	f.Add("", "", "", strings.Repeat("s", 1025))
	f.Add(e.others[0], e.a, "", "")
	f.Fuzz(func(t *testing.T, hint, clientID, uri, state string) {
		plan, err := e.oauth.CheckLogout(ctx, LogoutRequest{IDTokenHint: hint, ClientID: clientID, PostLogoutRedirectURI: uri, State: state})
		if err != nil {
			if plan != nil || gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("refusal %v with plan %+v", err, plan)
			}
			return
		}
		if len(state) > 1024 {
			t.Fatalf("accepted a state of %d bytes", len(state))
		}
		want := clientID
		if hint != "" {
			h, ok := e.hints[hint]
			if !ok || plan.Hint == nil || !reflect.DeepEqual(plan.Hint, h) {
				t.Fatalf("accepted the hint %q as %+v", hint, plan.Hint)
			}
			if len(h.Audience) != 1 || clientID != "" && clientID != h.Audience[0] {
				t.Fatalf("accepted client_id %q with a hint for %v", clientID, h.Audience)
			}
			want = h.Audience[0]
		} else if plan.Hint != nil {
			t.Fatal("a plan with a hint from no hint")
		}
		switch {
		case want == "" && plan.Client != nil:
			t.Fatalf("a client %s from none", plan.Client.ClientID)
		case want != "" && (plan.Client == nil || plan.Client.ClientID != want):
			t.Fatalf("client %q planned as %+v", want, plan.Client)
		}
		if uri == "" {
			if plan.RedirectURI != "" {
				t.Fatalf("redirect %q from none", plan.RedirectURI)
			}
			return
		}
		if plan.RedirectURI != uri || !slices.Contains(e.clients[want], uri) {
			t.Fatalf("post_logout_redirect_uri %q for client %q planned as %q", uri, want, plan.RedirectURI)
		}
	})
}

// FuzzLogoutFormToken: the logout confirmation form's token verifies for
// exactly the session and request (client_id, post_logout_redirect_uri,
// state) it was made for, never for another session or another request
// (the fields are length-prefixed: none can borrow from its neighbour),
// nor without a session; neither the consent form's token nor the session's
// CSRF token, made from the same values, ever verifies as one. The hint is
// not bound: the form never carries one (POST /v1/oauth/logout drops it).
func FuzzLogoutFormToken(f *testing.F) {
	e := newOIDCFuzz(f)
	sid := e.session.ID
	f.Add(sid, e.a, "https://app.example.com/bye", "st", sid, e.a, "https://app.example.com/bye", "st")
	f.Add(sid, e.a, "https://app.example.com/bye", "st", sid, e.a, "https://app.example.com/bye", "st ")
	f.Add(sid, e.a, "https://app.example.com/bye", "st", sid, e.b, "https://app.example.com/bye", "st")
	f.Add(sid, "ab", "c", "", sid, "a", "bc", "")
	f.Add(sid, e.a, "https://app.example.com/bye", "?x=1", sid, e.a, "https://app.example.com/bye?x=1", "")
	f.Add(sid, "", "", "", sid+"x", "", "", "")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("1", "", "", "", "", "1", "", "")
	f.Fuzz(func(t *testing.T, sidA, cidA, uriA, stateA, sidB, cidB, uriB, stateB string) {
		a := LogoutRequest{ClientID: cidA, PostLogoutRedirectURI: uriA, State: stateA}
		b := LogoutRequest{IDTokenHint: "ignored", ClientID: cidB, PostLogoutRedirectURI: uriB, State: stateB}
		tok := e.oauth.LogoutFormToken(sidA, a)
		if (tok == "") != (sidA == "") {
			t.Fatalf("token %q for session %q", tok, sidA)
		}
		same := sidA != "" && sidA == sidB && cidA == cidB && uriA == uriB && stateA == stateB
		if got := e.oauth.CheckLogoutFormToken(tok, sidB, b); got != same {
			t.Fatalf("the token of (%q, %+v) verifies for (%q, %+v): %v", sidA, a, sidB, b, got)
		}
		consent := e.oauth.ConsentToken(sidA, &gatehouse.Client{ClientID: cidA}, AuthorizationRequest{ClientID: cidA, RedirectURI: uriA, State: stateA}, stateA)
		if consent != "" && e.oauth.CheckLogoutFormToken(consent, sidB, b) {
			t.Fatal("a consent token verifies as a logout token")
		}
		if x := e.oauth.Sessions.CSRFToken(sidA); x != "" && e.oauth.CheckLogoutFormToken(x, sidB, b) {
			t.Fatal("a CSRF token verifies as a logout token")
		}
	})
}

// FuzzParsePersonScope: the scope of a person's grant (the
// authorization-code and refresh grants; docs/reference.md §14). Refusals
// are invalid_scope, and whatever parseScope (the client scopes alone)
// accepts is accepted alike. Accepted ⇒ single-space-separated tokens, at
// most 1024 bytes, parsed to exactly the distinct tokens given, sorted, each
// a client scope or an OpenID Connect scope; a fixed point; openid is
// there (so an id_token is issued) exactly when the request names it; a
// client registered for no scope gets only the OpenID Connect ones, and
// client_credentials never gets one of those.
func FuzzParsePersonScope(f *testing.F) {
	for _, s := range []string{"openid", "openid profile email", "email openid openid", "profile:read openid", "openid ", " openid",
		"openid  email", "OpenID", "openid\temail", "offline_access openid", "", "audit:read workspaces:read"} {
		f.Add(s)
	}
	none, every := &gatehouse.Client{}, &gatehouse.Client{Scopes: ClientScopes}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePersonScope(s)
		plain, perr := parseScope(s)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidScope || perr == nil {
				t.Fatalf("refused with %v; parseScope: %v", err, perr)
			}
			return
		}
		if perr == nil && !slices.Equal(plain, got) {
			t.Fatalf("parseScope %v, parsePersonScope %v", plain, got)
		}
		tokens := strings.Split(s, " ")
		if len(s) > 1024 || slices.Contains(tokens, "") {
			t.Fatalf("accepted %q", s)
		}
		for i, sc := range got {
			if !slices.Contains(ClientScopes, sc) && !slices.Contains(OIDCScopes, sc) {
				t.Fatalf("%q is in neither vocabulary", sc)
			}
			if i > 0 && got[i-1] >= sc {
				t.Fatalf("not sorted and distinct: %v", got)
			}
			if !slices.Contains(tokens, sc) {
				t.Fatalf("%q was not asked for in %q", sc, s)
			}
		}
		for _, tk := range tokens {
			if !slices.Contains(got, tk) {
				t.Fatalf("%q of %q was dropped: %v", tk, s, got)
			}
		}
		if again, err := parsePersonScope(strings.Join(got, " ")); err != nil || !slices.Equal(again, got) {
			t.Fatalf("not a fixed point: %v then %v, %v", got, again, err)
		}
		if slices.Contains(strings.Fields(strings.Join(got, " ")), ScopeOpenID) != slices.Contains(tokens, ScopeOpenID) {
			t.Fatalf("openid in %q, granted %v", s, got)
		}
		if g, err := personScope(none, s); err == nil {
			for _, sc := range g {
				if !slices.Contains(OIDCScopes, sc) {
					t.Fatalf("an unregistered client got %q", sc)
				}
			}
		}
		if g, err := clientScope(every, s); err == nil {
			for _, sc := range g {
				if slices.Contains(OIDCScopes, sc) {
					t.Fatalf("client_credentials got %q", sc)
				}
			}
		}
	})
}

// FuzzReauthNeeded: whether an authorization request sends the person to
// sign in again (OpenID Connect Core section 3.1.2.1, docs/oidc.md), for
// prompt, max_age and auth_after as a browser may send them (parseReauth)
// and a session that authenticated age ago (reauthRequest.needs, what
// OAuth.ReauthNeeded answers once it has read the session). Against an
// exact reading: a malformed max_age (anything but decimal digits within
// an int64) or auth_after (not "MILLIS.MAC" with MILLIS > 0) is
// invalid_request; auth_after (whose MAC ReauthNeeded checks: see
// TestAuthAfterIsBound) replaces prompt and max_age and asks again while the
// session's auth_time is not after it; otherwise prompt=login always asks,
// and max_age asks when the session is more than that many seconds old, in
// exact arithmetic however large max_age is. Never a panic.
func FuzzReauthNeeded(f *testing.F) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 123456000, time.UTC) // microseconds, as the store keeps them
	for _, s := range []struct {
		prompt, maxAge, after string
		age                   int64
	}{
		{"login", "", "", 0}, {"consent", "60", "", 61_000}, {"", "60", "", 60_000}, {"", "0", "", 1}, {"", "", "", 1 << 40},
		{"none login", "", "", 0}, {"", "", strconv.FormatInt(at.UnixMilli(), 10) + ".m", 5}, {"login", "1", strconv.FormatInt(at.UnixMilli()-1, 10) + ".m", 1 << 30},
		{"", "", "-1.m", 0}, {"", "", "x", 0}, {"", "", "1", 0}, {"", "", "1.", 0}, {"", "+5", "", 6000}, {"", "-1", "", 0}, {"", "99999999999999999999", "", 1000},
	} {
		f.Add(s.prompt, s.maxAge, s.after, s.age)
	}
	f.Fuzz(func(t *testing.T, prompt, maxAge, after string, ageMillis int64) {
		age := time.Duration(ageMillis%(1<<43)) * time.Millisecond // within ±278 years
		r, err := parseReauth(url.Values{"prompt": {prompt}, "max_age": {maxAge}, "auth_after": {after}})
		ms, mac, _ := strings.Cut(after, ".")
		n, perr := strconv.ParseInt(ms, 10, 64)
		m, mok := decimal(maxAge)
		if after != "" && (perr != nil || n <= 0 || mac == "") || maxAge != "" && !mok {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("max_age %q, auth_after %q: %+v, %v", maxAge, after, r, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("prompt %q, max_age %q, auth_after %q: %v", prompt, maxAge, after, err)
		}
		var want bool
		switch {
		case after != "":
			// auth_time ≤ n ms, compared in microseconds
			want = n > 0 && big.NewInt(at.UnixMicro()).Cmp(new(big.Int).Mul(big.NewInt(n), big.NewInt(1000))) <= 0
		case slices.Contains(strings.Fields(prompt), "login"):
			want = true
		case maxAge != "":
			// older than m seconds: age > m·10⁹ ns
			want = big.NewInt(int64(age)).Cmp(new(big.Int).Mul(big.NewInt(m), big.NewInt(int64(time.Second)))) > 0
		}
		if got := r.needs(at, at.Add(age)); got != want {
			t.Fatalf("prompt %q, max_age %q, auth_after %q, age %v: %v, want %v", prompt, maxAge, after, age, got, want)
		}
	})
}

// decimal reads s as max_age's grammar: decimal digits, an int64.
func decimal(s string) (int64, bool) {
	if !maxAgeDigits.MatchString(s) {
		return 0, false
	}
	n, _ := new(big.Int).SetString(s, 10)
	return n.Int64(), n.IsInt64()
}

var maxAgeDigits = regexp.MustCompile(`^[0-9]+$`)
