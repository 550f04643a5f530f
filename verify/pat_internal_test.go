package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// These tests give the authenticator answers a real gatehouse does not give
// on demand (the behaviour against a real gatehouse is in pat_test.go): an
// HTTP server with a settable answer.
type answerer struct {
	status int
	body   atomic.Pointer[string]
	calls  atomic.Int32
	srv    *httptest.Server
}

func newAnswerer(t *testing.T, body string) *answerer {
	a := &answerer{status: 200}
	a.body.Store(&body)
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "client%2F1" || p != "s%3Aecret" || r.PostFormValue("token") == "" {
			http.Error(w, "bad client auth", 401)
			return
		}
		w.WriteHeader(a.status)
		w.Write([]byte(*a.body.Load()))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *answerer) set(body string) { a.body.Store(&body) }

func testPAT(t *testing.T, url string, c *clock, edit func(*IntrospectionConfig)) *PAT {
	cfg := IntrospectionConfig{Issuer: url, ClientID: "client/1", ClientSecret: "s:ecret", Workspace: "w1", Now: c.Now, CacheTTL: 30 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	p, err := NewPAT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mintPAT(t testing.TB) string {
	p, err := token.NewPAT(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.Reveal()
}

func activeAnswer(exp time.Time) string {
	return `{"active":true,"scope":"a:read b:write","sub":"u1","jti":"p1","exp":` + strconv.FormatInt(exp.Unix(), 10) +
		`,"iat":1,"workspace_id":"w1","token_kind":"personal_access_token"}`
}

func TestPATCacheTTLAndExpiry(t *testing.T) {
	c := newClock()
	a := newAnswerer(t, activeAnswer(c.Now().Add(time.Minute)))
	p := testPAT(t, a.srv.URL, c, nil)
	tok := mintPAT(t)
	ctx := context.Background()

	id, err := p.Authenticate(ctx, tok)
	if err != nil || id.Kind != "pat" || id.Subject != "u1" || id.TokenID != "p1" || id.WorkspaceID != "w1" ||
		strings.Join(id.Scopes, ",") != "a:read,b:write" || !id.ExpiresAt.Equal(c.Now().Add(time.Minute)) {
		t.Fatalf("%+v %v", id, err)
	}
	id.Scopes[0] = "root" // a handler's change must not reach the cache
	c.Advance(29 * time.Second)
	id, err = p.Authenticate(ctx, tok)
	if err != nil || id.Scopes[0] != "a:read" || a.calls.Load() != 1 {
		t.Fatalf("within the TTL: %v %v, %d calls", id, err, a.calls.Load())
	}
	// Past the TTL: asked again; now gatehouse says inactive.
	a.set(`{"active":false}`)
	c.Advance(2 * time.Second)
	if _, err := p.Authenticate(ctx, tok); !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrInactive) || a.calls.Load() != 2 {
		t.Fatalf("after the TTL: %v, %d calls", err, a.calls.Load())
	}
	// The inactive answer is reused for NegativeTTL (5 s), then asked again.
	c.Advance(4 * time.Second)
	if _, err := p.Authenticate(ctx, tok); !errors.Is(err, ErrInactive) || a.calls.Load() != 2 {
		t.Fatalf("within the negative TTL: %v, %d calls", err, a.calls.Load())
	}
	c.Advance(2 * time.Second)
	p.Authenticate(ctx, tok)
	if a.calls.Load() != 3 {
		t.Fatalf("after the negative TTL: %d calls", a.calls.Load())
	}

	// A cached answer never outlives the token's exp.
	tok2 := mintPAT(t)
	a.set(activeAnswer(c.Now().Add(10 * time.Second)))
	if _, err := p.Authenticate(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	c.Advance(10 * time.Second)
	a.set(`{"active":false}`)
	if _, err := p.Authenticate(ctx, tok2); !errors.Is(err, ErrInvalid) {
		t.Fatalf("past exp: %v", err)
	}

	// The caches hold the token's SHA-256, never the token.
	p.active.mu.RLock()
	defer p.active.mu.RUnlock()
	if _, ok := p.active.m[sha256.Sum256([]byte(tok2))]; !ok {
		t.Fatal("not cached under its SHA-256")
	}
}

func TestPATNegativeCachingOff(t *testing.T) {
	c := newClock()
	a := newAnswerer(t, `{"active":false}`)
	p := testPAT(t, a.srv.URL, c, func(cfg *IntrospectionConfig) { cfg.NegativeTTL = -1 })
	tok := mintPAT(t)
	for range 3 {
		p.Authenticate(context.Background(), tok)
	}
	if a.calls.Load() != 3 {
		t.Fatalf("%d calls, want 3", a.calls.Load())
	}
}

func TestPATAnswers(t *testing.T) {
	c := newClock()
	exp := c.Now().Add(time.Hour)
	for _, tc := range []struct {
		name, body string
		status     int
		want       error // nil: accepted
	}{
		{"active PAT", activeAnswer(exp), 200, nil},
		{"inactive", `{"active":false}`, 200, ErrInactive},
		{"active access token", strings.Replace(activeAnswer(exp), "personal_access_token", "access_token", 1), 200, ErrInactive},
		{"no token_kind", strings.Replace(activeAnswer(exp), `,"token_kind":"personal_access_token"`, "", 1), 200, ErrInactive},
		{"no sub", strings.Replace(activeAnswer(exp), `"sub":"u1",`, "", 1), 200, ErrIntrospectionUnavailable},
		{"no workspace", strings.Replace(activeAnswer(exp), `"workspace_id":"w1",`, "", 1), 200, ErrIntrospectionUnavailable},
		{"no active", `{"scope":"x"}`, 200, ErrIntrospectionUnavailable},
		{"active a string", `{"active":"true"}`, 200, ErrIntrospectionUnavailable},
		{"not JSON", `<html>`, 200, ErrIntrospectionUnavailable},
		{"empty", ``, 200, ErrIntrospectionUnavailable},
		{"500", activeAnswer(exp), 500, ErrIntrospectionUnavailable},
		{"429", activeAnswer(exp), 429, ErrIntrospectionUnavailable},
		{"302", activeAnswer(exp), 302, ErrIntrospectionUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAnswerer(t, tc.body)
			a.status = tc.status
			p := testPAT(t, a.srv.URL, c, nil)
			tok := mintPAT(t)
			id, err := p.Authenticate(context.Background(), tok)
			switch {
			case tc.want == nil && (err != nil || id.Subject != "u1"):
				t.Fatalf("%v %v", id, err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err %v, want %v", err, tc.want)
			case err != nil && strings.Contains(err.Error(), tok):
				t.Fatalf("the error carries the token: %v", err)
			}
			if errors.Is(tc.want, ErrIntrospectionUnavailable) {
				// Never cached: the next check asks again.
				p.Authenticate(context.Background(), tok)
				if a.calls.Load() != 2 {
					t.Fatalf("%d calls: a failure was cached", a.calls.Load())
				}
			}
		})
	}
}

func TestPATRedirectNotFollowed(t *testing.T) {
	c := newClock()
	a := newAnswerer(t, activeAnswer(c.Now().Add(time.Hour)))
	redirect := httptest.NewServer(http.RedirectHandler(a.srv.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	p := testPAT(t, redirect.URL, c, nil)
	if _, err := p.Authenticate(context.Background(), mintPAT(t)); !errors.Is(err, ErrIntrospectionUnavailable) || a.calls.Load() != 0 {
		t.Fatalf("%v, %d calls at the redirect target", err, a.calls.Load())
	}
}

func TestNewIntrospectionConfig(t *testing.T) {
	for _, cfg := range []IntrospectionConfig{
		{ClientID: "c", ClientSecret: "s", Workspace: "w"},
		{Issuer: "http://auth.example.com", ClientID: "c", ClientSecret: "s", Workspace: "w"},
		{Issuer: "https://auth.example.com", ClientSecret: "s", Workspace: "w"},
		{Issuer: "https://auth.example.com", ClientID: "c", Workspace: "w"},
		{IntrospectionURL: "ftp://127.0.0.1/x", ClientID: "c", ClientSecret: "s", Workspace: "w"},
		// The workspace pin: required, never empty-means-any.
		{Issuer: "https://auth.example.com", ClientID: "c", ClientSecret: "s"},
		{Issuer: "https://auth.example.com", ClientID: "c", ClientSecret: "s", Workspace: "w", AnyWorkspace: true},
		{Issuer: "https://auth.example.com", ClientID: "c", ClientSecret: "s", Workspace: " w"},
	} {
		if _, err := NewPAT(cfg); err == nil {
			t.Errorf("%v: accepted", cfg)
		}
	}
	if _, err := NewPAT(IntrospectionConfig{Issuer: "https://auth.example.com", ClientID: "c", ClientSecret: "s", AnyWorkspace: true}); err != nil {
		t.Errorf("AnyWorkspace: %v", err)
	}
	p, err := NewPAT(IntrospectionConfig{Issuer: "https://auth.example.com/", ClientID: "c", ClientSecret: "s3cr3t", Workspace: "w"})
	if err != nil || p.url != "https://auth.example.com/v1/oauth/introspect" {
		t.Fatalf("%v %v", p, err)
	}
	if s := p.String(); strings.Contains(s, "s3cr3t") {
		t.Fatal(s)
	}
}

// TestPATOfAnotherWorkspaceRefused: an active answer about a PAT of another
// workspace than the pinned one (the resource server's client credentials
// are of that workspace) is refused, 401, and cached as inactive; with
// AnyWorkspace it is accepted.
func TestPATOfAnotherWorkspaceRefused(t *testing.T) {
	c := newClock()
	a := newAnswerer(t, strings.Replace(activeAnswer(c.Now().Add(time.Hour)), `"w1"`, `"w2"`, 1))
	p := testPAT(t, a.srv.URL, c, nil) // pinned to w1
	tok := mintPAT(t)
	for i := 0; i < 2; i++ {
		id, err := p.Authenticate(context.Background(), tok)
		if id != nil || !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrWorkspace) {
			t.Fatalf("PAT of w2 at a resource server of w1 (try %d): %+v %v", i, id, err)
		}
	}
	if a.calls.Load() != 1 {
		t.Fatalf("%d calls: the refusal is not cached", a.calls.Load())
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	Require(p)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("let through") })).ServeHTTP(w, r)
	if w.Code != 401 {
		t.Fatalf("status %d", w.Code)
	}

	anyWS := testPAT(t, a.srv.URL, c, func(cfg *IntrospectionConfig) { cfg.Workspace, cfg.AnyWorkspace = "", true })
	if id, err := anyWS.Authenticate(context.Background(), tok); err != nil || id.WorkspaceID != "w2" {
		t.Fatalf("AnyWorkspace: %+v %v", id, err)
	}
}

func TestPATNotMineAndMalformed(t *testing.T) {
	c := newClock()
	a := newAnswerer(t, activeAnswer(c.Now().Add(time.Hour)))
	p := testPAT(t, a.srv.URL, c, nil)
	for _, cred := range []string{"eyJ.a.b", "not-a-token", "ghs_abc"} {
		if _, err := p.Authenticate(context.Background(), cred); !errors.Is(err, ErrNotMine) {
			t.Errorf("%q: %v", cred, err)
		}
	}
	good := mintPAT(t)
	for _, cred := range []string{"gth_", "gth_" + strings.Repeat("0", 49), good[:len(good)-1], good + "a", strings.ToUpper(good[:4]) + good[4:]} {
		_, err := p.Authenticate(context.Background(), cred)
		want := ErrInvalid
		if !strings.HasPrefix(cred, "gth_") {
			want = ErrNotMine
		}
		if !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", cred, err, want)
		}
	}
	if a.calls.Load() != 0 {
		t.Fatalf("%d calls for credentials that are not well-formed PATs", a.calls.Load())
	}
}

func TestTTLCacheBound(t *testing.T) {
	c := newTTLCache(64)
	now := time.Now()
	for i := range 1000 {
		c.put(sha256.Sum256([]byte{byte(i), byte(i >> 8)}), nil, now.Add(time.Minute), now)
		if c.len() > 64 {
			t.Fatalf("%d entries after %d puts", c.len(), i+1)
		}
	}
	last := sha256.Sum256([]byte{byte(999 & 0xff), byte(999 >> 8)})
	if _, ok := c.get(last, now); !ok {
		t.Fatal("the newest entry was dropped")
	}
}

func FuzzParseIntrospection(f *testing.F) {
	f.Add([]byte(activeAnswer(time.Unix(1_900_000_000, 0))))
	f.Add([]byte(`{"active":false}`))
	f.Add([]byte(`{"active":true,"token_kind":"personal_access_token","sub":"u","jti":"j","workspace_id":"w","exp":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseIntrospection(b)
		if err != nil && (id != nil || !errors.Is(err, ErrIntrospectionUnavailable)) {
			t.Fatalf("%v %v", id, err)
		}
		if id != nil && (id.Kind != "pat" || id.Subject == "" || id.TokenID == "" || id.WorkspaceID == "") {
			t.Fatalf("accepted an incomplete answer: %+v", id)
		}
	})
}
