package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

const (
	iss = "https://auth.example.com"
	aud = "https://api.example.com"
)

type clock struct{ t atomic.Int64 }

func newClock() *clock                   { c := &clock{}; c.t.Store(time.Unix(1_800_000_000, 0).UnixNano()); return c }
func (c *clock) Now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) Advance(d time.Duration) { c.t.Add(int64(d)) }

// issuer is a real HTTP server publishing a JWKS, standing in for
// gatehouse's /.well-known/jwks.json (the end-to-end test against gatehouse
// itself is in examples/resource-server).
type issuer struct {
	mu           sync.Mutex
	signers      map[string]*token.Signer
	published    []string
	cacheControl string
	down         bool
	fetches      atomic.Int32
	notModified  atomic.Int32
	srv          *httptest.Server
	clock        *clock
}

func newIssuer(t testing.TB, c *clock) *issuer {
	is := &issuer{signers: map[string]*token.Signer{}, cacheControl: "max-age=60", clock: c}
	is.srv = httptest.NewServer(http.HandlerFunc(is.serveJWKS))
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) addKey(t testing.TB, alg token.Alg) *token.Signer {
	k, err := token.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := token.Thumbprint(k.Public())
	s, err := token.NewSigner(kid, alg, k)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.signers[kid] = s
	is.published = append(is.published, kid)
	return s
}

func (is *issuer) setDown(d bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.down = d
}

func (is *issuer) removeKey(kid string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	for i, k := range is.published {
		if k == kid {
			is.published = append(is.published[:i], is.published[i+1:]...)
		}
	}
}

func (is *issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	is.fetches.Add(1)
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var keys []token.PublicKey
	for _, kid := range is.published {
		keys = append(keys, is.signers[kid].PublicKey())
	}
	doc, _ := token.MarshalJWKS(keys)
	etag := `"` + fmt.Sprintf("%x", len(doc)) + strings.Join(is.published, ".") + `"`
	w.Header().Set("Cache-Control", is.cacheControl)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		is.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(doc)
}

func (is *issuer) token(t testing.TB, s *token.Signer, edit func(*token.Claims)) string {
	now := is.clock.Now()
	c := &token.Claims{Issuer: iss, Subject: "user-1", Audience: token.Audience{aud}, ExpiresAt: now.Add(15 * time.Minute).Unix(),
		IssuedAt: now.Unix(), ID: "jti-1", ClientID: "gatehouse", SessionID: "sess-1", Scope: "things:read"}
	if edit != nil {
		edit(c)
	}
	tok, err := s.SignAccessToken(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// newJWT is a JWT authenticator of workspace ws-1 that also accepts
// people's session tokens (what is.token makes by default).
func newJWT(t testing.TB, is *issuer) *JWT {
	j, err := NewJWT(JWTConfig{Issuer: iss, Audience: aud, JWKSURL: is.srv.URL + "/.well-known/jwks.json", Now: is.clock.Now,
		Workspace: "ws-1", AllowSessions: true})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// protected is a resource handler that echoes the identity.
var protected = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, ok := FromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", 500)
		return
	}
	json.NewEncoder(w).Encode(id)
})

func do(h http.Handler, headers map[string][]string, target string) *httptest.ResponseRecorder {
	if target == "" {
		target = "/things"
	}
	r := httptest.NewRequest("GET", target, nil)
	for k, vs := range headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearerHdr(tok string) map[string][]string {
	return map[string][]string{"Authorization": {"Bearer " + tok}}
}

func TestRequire(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	ed := is.addKey(t, token.EdDSA)
	rs := is.addKey(t, token.RS256)
	h := Require(newJWT(t, is))(protected)
	good := is.token(t, ed, nil)

	tests := []struct {
		name    string
		headers map[string][]string
		target  string
		status  int
		code    string
	}{
		{"EdDSA session token", bearerHdr(good), "", 200, ""},
		{"RS256 token", bearerHdr(is.token(t, rs, nil)), "", 200, ""},
		{"scheme case-insensitive", map[string][]string{"Authorization": {"bearer " + good}}, "", 200, ""},
		{"no header", nil, "", 401, "unauthorized"},
		{"token in query only", nil, "/things?access_token=" + good, 401, "unauthorized"},
		{"Basic scheme", map[string][]string{"Authorization": {"Basic " + good}}, "", 401, "unauthorized"},
		{"two Authorization headers", map[string][]string{"Authorization": {"Bearer " + good, "Bearer " + good}}, "", 401, "unauthorized"},
		{"empty bearer", map[string][]string{"Authorization": {"Bearer "}}, "", 401, "unauthorized"},
		{"tampered", bearerHdr(good[:len(good)-4] + "AAAA"), "", 401, "invalid_token"},
		{"expired", bearerHdr(is.token(t, ed, func(c *token.Claims) { c.ExpiresAt = is.clock.Now().Add(-time.Hour).Unix() })), "", 401, "invalid_token"},
		{"wrong audience", bearerHdr(is.token(t, ed, func(c *token.Claims) { c.Audience = token.Audience{"other"} })), "", 401, "invalid_token"},
		{"PAT with no PAT authenticator", bearerHdr("gth_" + strings.Repeat("a", 49)), "", 401, "invalid_token"},
		{"garbage", bearerHdr("not-a-token"), "", 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, tt.headers, tt.target)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 200 {
				var id Identity
				json.Unmarshal(w.Body.Bytes(), &id)
				if id.Kind != "session" || id.Subject != "user-1" || id.SessionID != "sess-1" || !id.HasScope("things:read") {
					t.Fatalf("identity %+v", id)
				}
				return
			}
			var body map[string]string
			json.Unmarshal(w.Body.Bytes(), &body)
			if body["error"] != tt.code || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("body %v, WWW-Authenticate %q", body, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestUnknownKidFloodIsRateLimited: many tokens with made-up kids cause at
// most one refetch per MinRefreshInterval.
func TestUnknownKidFloodIsRateLimited(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	ed := is.addKey(t, token.EdDSA)
	j := newJWT(t, is)
	h := Require(j)(protected)
	if w := do(h, bearerHdr(is.token(t, ed, nil)), ""); w.Code != 200 {
		t.Fatalf("warm-up %d", w.Code)
	}
	before := is.fetches.Load()
	forger, _ := token.GenerateKey(token.EdDSA)
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 8)
			rand.Read(b)
			s, _ := token.NewSigner("forged-"+hex.EncodeToString(b), token.EdDSA, forger)
			if w := do(h, bearerHdr(is.token(t, s, nil)), ""); w.Code != 401 {
				t.Errorf("forged kid: %d", w.Code)
			}
		}()
	}
	wg.Wait()
	if n := is.fetches.Load() - before; n > 1 {
		t.Fatalf("%d fetches for 200 unknown kids within the interval, want at most 1", n)
	}
	c.Advance(DefaultMinRefreshInterval + time.Second)
	s, _ := token.NewSigner("forged-again", token.EdDSA, forger)
	do(h, bearerHdr(is.token(t, s, nil)), "")
	do(h, bearerHdr(is.token(t, s, nil)), "")
	if n := is.fetches.Load() - before; n > 2 {
		t.Fatalf("%d fetches after the interval, want at most 2", n)
	}
}

// TestRotationAndRevocation: a key published after the cache was filled is
// picked up on first sight of its kid; a token signed before a rotation
// still verifies after it; a key that leaves the JWKS (revoked) stops
// verifying once the cache expires (at most MaxCacheAge).
func TestRotationAndRevocation(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	old := is.addKey(t, token.EdDSA)
	h := Require(newJWT(t, is))(protected)
	oldTok := is.token(t, old, nil)
	if w := do(h, bearerHdr(oldTok), ""); w.Code != 200 {
		t.Fatalf("old token: %d", w.Code)
	}
	c.Advance(DefaultMinRefreshInterval)
	next := is.addKey(t, token.ES256) // rotation: a new key signs
	if w := do(h, bearerHdr(is.token(t, next, nil)), ""); w.Code != 200 {
		t.Fatalf("token of the new key: %d %s", w.Code, w.Body)
	}
	if w := do(h, bearerHdr(oldTok), ""); w.Code != 200 {
		t.Fatalf("token signed before the rotation: %d", w.Code)
	}
	is.removeKey(old.KID()) // revoked
	c.Advance(60 * time.Second)
	if w := do(h, bearerHdr(oldTok), ""); w.Code != 401 {
		t.Fatalf("token of a revoked key after cache expiry: %d", w.Code)
	}
	if w := do(h, bearerHdr(is.token(t, next, nil)), ""); w.Code != 200 {
		t.Fatalf("new key after revocation of the old: %d", w.Code)
	}
}

func TestCacheControl(t *testing.T) {
	for _, tt := range []struct {
		cc   string
		want time.Duration
	}{
		{"max-age=60", 60 * time.Second},
		{"public, max-age=120", 120 * time.Second},
		{"max-age=86400", DefaultMaxCacheAge},
		{"no-store", DefaultMinRefreshInterval},
		{"max-age=60, no-cache", DefaultMinRefreshInterval},
		{"max-age=0", DefaultMinRefreshInterval},
		{"", DefaultCacheAge},
		{"max-age=bogus", DefaultCacheAge},
	} {
		c, _ := NewJWKSCache(JWKSConfig{URL: "https://x.example/jwks"})
		var vals []string
		if tt.cc != "" {
			vals = []string{tt.cc}
		}
		if got := c.cacheAge(vals); got != tt.want {
			t.Errorf("Cache-Control %q: age %v, want %v", tt.cc, got, tt.want)
		}
	}
}

// TestCacheHonoursMaxAgeAndRevalidates: no fetch within max-age, a
// conditional fetch (304) after it.
func TestCacheHonoursMaxAgeAndRevalidates(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	ed := is.addKey(t, token.EdDSA)
	h := Require(newJWT(t, is))(protected)
	tok := is.token(t, ed, nil)
	for i := 0; i < 5; i++ {
		do(h, bearerHdr(tok), "")
		c.Advance(10 * time.Second)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within max-age=60, want 1", n)
	}
	c.Advance(20 * time.Second)
	if w := do(h, bearerHdr(tok), ""); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if is.fetches.Load() != 2 || is.notModified.Load() != 1 {
		t.Fatalf("fetches %d, 304s %d; want 2 and 1", is.fetches.Load(), is.notModified.Load())
	}
}

func TestJWKSUnavailable(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	ed := is.addKey(t, token.EdDSA)
	tok := is.token(t, ed, nil)
	is.setDown(true)
	h := Require(newJWT(t, is))(protected)
	if w := do(h, bearerHdr(tok), ""); w.Code != 503 {
		t.Fatalf("no keys ever fetched: %d, want 503", w.Code)
	}
	is.setDown(false)
	c.Advance(DefaultMinRefreshInterval)
	if w := do(h, bearerHdr(tok), ""); w.Code != 200 {
		t.Fatalf("after recovery: %d", w.Code)
	}
	// Down again after expiry: the last good set stays in use.
	is.setDown(true)
	c.Advance(2 * time.Minute)
	if w := do(h, bearerHdr(tok), ""); w.Code != 200 {
		t.Fatalf("stale set not used: %d", w.Code)
	}
}

func TestJWKSCacheRefusesRedirectsAndPlainHTTP(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	is.addKey(t, token.EdDSA)
	redir := httptest.NewServer(http.RedirectHandler(is.srv.URL, http.StatusFound))
	defer redir.Close()
	cache, err := NewJWKSCache(JWKSConfig{URL: redir.URL, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Keys(context.Background()); !errors.Is(err, ErrJWKSUnavailable) || is.fetches.Load() != 0 {
		t.Fatalf("redirect followed: %v, %d fetches", err, is.fetches.Load())
	}
	for _, u := range []string{"http://auth.example.com/jwks", "ftp://127.0.0.1/x", "/relative"} {
		if _, err := NewJWKSCache(JWKSConfig{URL: u}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

// patAuth stands in for a second credential kind (PATs through
// introspection) to show that it slots in beside the JWT authenticator.
type patAuth struct{}

func (patAuth) Authenticate(_ context.Context, cred string) (*Identity, error) {
	if !token.LooksLikePAT(cred) {
		return nil, ErrNotMine
	}
	if _, err := token.ParsePAT(cred); err != nil {
		return nil, errors.Join(ErrInvalid, err)
	}
	return &Identity{Kind: "pat", Subject: "user-2", Scopes: []string{"things:read"}}, nil
}

func TestSecondCredentialKindAndScopes(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	ed := is.addKey(t, token.EdDSA)
	h := Require(newJWT(t, is), patAuth{})(RequireScope("things:read")(protected))
	pat, _ := token.NewPAT(nil)
	if w := do(h, bearerHdr(pat.Reveal()), ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"pat"`) {
		t.Fatalf("PAT: %d %s", w.Code, w.Body)
	}
	bad := pat.Reveal()[:52] + "x"
	if bad == pat.Reveal() {
		bad = pat.Reveal()[:52] + "y" // the last character must change, or the PAT is not bad
	}
	if w := do(h, bearerHdr(bad), ""); w.Code != 401 {
		t.Fatalf("bad PAT: %d", w.Code)
	}
	if w := do(h, bearerHdr(is.token(t, ed, nil)), ""); w.Code != 200 {
		t.Fatalf("JWT beside PAT: %d", w.Code)
	}
	hw := Require(newJWT(t, is))(RequireScope("things:write")(protected))
	w := do(hw, bearerHdr(is.token(t, ed, nil)), "")
	if w.Code != 403 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("missing scope: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

// TestCachedTokenStillExpires: a token answered from the verified-token
// cache is refused once it expires, without any refetch.
func TestCachedTokenStillExpires(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	ed := is.addKey(t, token.EdDSA)
	j, err := NewJWT(JWTConfig{Issuer: iss, Audience: aud, JWKSURL: is.srv.URL, Now: c.Now, Leeway: time.Second, Workspace: "ws-1", AllowSessions: true})
	if err != nil {
		t.Fatal(err)
	}
	h := Require(j)(protected)
	tok := is.token(t, ed, func(cl *token.Claims) { cl.ExpiresAt = c.Now().Add(5 * time.Second).Unix() })
	for i := 0; i < 3; i++ {
		if w := do(h, bearerHdr(tok), ""); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	c.Advance(10 * time.Second)
	if w := do(h, bearerHdr(tok), ""); w.Code != 401 {
		t.Fatalf("expired cached token: %d", w.Code)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches", n)
	}
}

// clientTok makes a client's token (no sid) of workspace ws.
func clientTok(ws string) func(*token.Claims) {
	return func(c *token.Claims) {
		c.Subject, c.ClientID, c.SessionID, c.WorkspaceID = "client-1", "client-1", "", ws
	}
}

func TestNewJWTNeedsAWorkspacePin(t *testing.T) {
	for _, cfg := range []JWTConfig{
		{Issuer: iss, Audience: aud},
		{Issuer: iss, Audience: aud, AllowSessions: true}, // sessions alone do not say which workspace
		{Issuer: iss, Audience: aud, Workspace: "ws-1", AnyWorkspace: true},
		{Issuer: iss, Audience: aud, Workspace: "ws-1 "},
		{Issuer: iss, Workspace: "ws-1"},
	} {
		if _, err := NewJWT(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	for _, cfg := range []JWTConfig{
		{Issuer: iss, Audience: aud, Workspace: "ws-1"},
		{Issuer: iss, Audience: aud, AnyWorkspace: true},
	} {
		if _, err := NewJWT(cfg); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// TestWorkspacePinAndSessions: a resource server pinned to its workspace
// accepts that workspace's tokens (a client's own, and a person's through a
// client), refuses another workspace's client token and a person's session
// token (401 invalid_token), and takes session tokens only when told to;
// AnyWorkspace takes every workspace's.
func TestWorkspacePinAndSessions(t *testing.T) {
	c := newClock()
	is := newIssuer(t, c)
	ed := is.addKey(t, token.EdDSA)
	mk := func(cfg JWTConfig) *JWT {
		cfg.Issuer, cfg.Audience, cfg.JWKSURL, cfg.Now = iss, aud, is.srv.URL, c.Now
		j, err := NewJWT(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	own := is.token(t, ed, clientTok("ws-1"))
	foreign := is.token(t, ed, clientTok("ws-2"))
	session := is.token(t, ed, nil)                      // sid, client_id gatehouse, no workspace
	viaClient := is.token(t, ed, func(c *token.Claims) { // authorization-code grant: a person through a client
		c.ClientID, c.SessionID, c.WorkspaceID = "client-1", "", "ws-1"
	})
	noKind := is.token(t, ed, func(c *token.Claims) { c.SessionID = "" }) // neither sid nor workspace
	pinned := mk(JWTConfig{Workspace: "ws-1"})
	withSessions := mk(JWTConfig{Workspace: "ws-1", AllowSessions: true})
	anyWS := mk(JWTConfig{AnyWorkspace: true})

	for _, tt := range []struct {
		name string
		j    *JWT
		tok  string
		want error // nil: accepted
		kind string
	}{
		{"own workspace's client token", pinned, own, nil, "client"},
		{"own workspace's token of a person through a client", pinned, viaClient, nil, "client"},
		{"another workspace's client token", pinned, foreign, ErrWorkspace, ""},
		{"a person's session token, not opted in", pinned, session, ErrSession, ""},
		{"a token of no kind", pinned, noKind, ErrSession, ""},
		{"a person's session token, opted in", withSessions, session, nil, "session"},
		{"another workspace's client token, sessions opted in", withSessions, foreign, ErrWorkspace, ""},
		{"a token of no kind, sessions opted in", withSessions, noKind, ErrSession, ""},
		{"AnyWorkspace: ws-2", anyWS, foreign, nil, "client"},
		{"AnyWorkspace: ws-1", anyWS, own, nil, "client"},
		{"AnyWorkspace: a session token", anyWS, session, ErrSession, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // the second time past the verified-token cache
				id, err := tt.j.Authenticate(context.Background(), tt.tok)
				if tt.want == nil {
					if err != nil || id.Kind != tt.kind {
						t.Fatalf("try %d: %+v %v", i, id, err)
					}
					continue
				}
				if id != nil || !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.want) {
					t.Fatalf("try %d: %+v %v, want ErrInvalid and %v", i, id, err, tt.want)
				}
			}
			w := do(Require(tt.j)(protected), bearerHdr(tt.tok), "")
			if want := map[bool]int{true: 200, false: 401}[tt.want == nil]; w.Code != want {
				t.Fatalf("status %d, want %d", w.Code, want)
			}
			if tt.want != nil && !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") {
				t.Fatalf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}
