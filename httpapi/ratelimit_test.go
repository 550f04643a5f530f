package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
)

// limitEnv is a server with rate limits over backend b and policy overrides.
func limitEnv(t *testing.T, b ratelimit.Backend, overrides string, opts ...option) *testEnv {
	t.Helper()
	ps, err := ratelimit.ParsePolicies(overrides)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]option{func(_ *Config, d *Deps) {
		d.RateLimits = ratelimit.NewLimits(b, ps)
		d.FailedAuth = ratelimit.NewFailedAuth(b, ps)
	}}, opts...)
	return newEnv(t, opts...)
}

func withTrustedProxies(cidrs ...string) option {
	return func(c *Config, _ *Deps) {
		for _, s := range cidrs {
			c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(s))
		}
	}
}

// tokenStandIn is a stand-in for POST /v1/auth/token with the same order of
// work as the real one: per-IP limit (route), per-account limit, failed-auth
// ceilings, then the expensive part, counted in work (where argon2 runs) and
// writes (where the store is written).
type tokenStandIn struct {
	work, writes atomic.Int64
}

func (ts *tokenStandIn) handler(s *Server) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct{ Email, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "bad body")
		}
		return guarded(r, auth.Attempt{Policy: ratelimit.TokenAccount, Identity: in.Email, Account: "email:" + in.Email}, func() error {
			ts.work.Add(1) // argon2id would run here
			if in.Password != "right password" {
				return gatehouse.Errorf(gatehouse.EInvalidGrant, "wrong email or password")
			}
			ts.writes.Add(1) // the session row would be written here
			return writeJSON(w, http.StatusOK, map[string]string{"token_type": "Bearer"})
		})
	}
}

// serveLimited serves one route, wrapped as the route table wraps limited
// routes, through the real middleware.
func (e *testEnv) serveLimited(t *testing.T, pattern string, h http.Handler, policies ...string) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(pattern, withPattern(e.s.limit(h, policies...)))
	out, err := e.s.middleware(mux)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tokenReq(ip, email, password string, headers ...string) *http.Request {
	r := req("POST", "/v1/auth/token", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password),
		append([]string{"Content-Type", "application/json"}, headers...)...)
	r.RemoteAddr = ip + ":40000"
	return r
}

func countEvents(rec *recorder, typ gatehouse.EventType) int {
	n := 0
	for _, ev := range rec.list() {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func TestLimitHeadersAndRefusal(t *testing.T) {
	e := limitEnv(t, memory.New(memory.Options{}), "token.ip=3/1m,token.account=10/1m")
	ts := &tokenStandIn{}
	h := e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts.handler(e.s)), ratelimit.TokenIP)
	for i := 0; i < 3; i++ {
		w := do(h, tokenReq("198.51.100.7", "a@example.com", "right password"))
		if w.Code != 200 {
			t.Fatalf("request %d: %d %s", i+1, w.Code, w.Body)
		}
		if got, want := w.Header().Get("RateLimit-Policy"), `"token.ip";q=3;w=60, "token.account";q=10;w=60`; got != want {
			t.Fatalf("RateLimit-Policy = %s, want %s", got, want)
		}
		if got := w.Header().Get("RateLimit"); !strings.HasPrefix(got, fmt.Sprintf(`"token.ip";r=%d;t=`, 2-i)) || !strings.Contains(got, fmt.Sprintf(`"token.account";r=%d;`, 9-i)) {
			t.Fatalf("request %d: RateLimit = %s", i+1, got)
		}
		if w.Header().Get("Retry-After") != "" {
			t.Fatal("Retry-After on a 200")
		}
	}
	for i := 0; i < 20; i++ {
		w := do(h, tokenReq("198.51.100.7", "a@example.com", "right password"))
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("over the limit: %d", w.Code)
		}
		if b := errBody(t, w); b.Error != "rate_limited" {
			t.Fatalf("body %+v", b)
		}
		if ra := w.Header().Get("Retry-After"); ra != "20" && ra != "19" {
			t.Fatalf("Retry-After %q, want 20 (one interval of 60s/3)", ra)
		}
		if got := w.Header().Get("RateLimit"); !strings.HasPrefix(got, `"token.ip";r=0;t=`) {
			t.Fatalf("RateLimit on a 429 = %s", got)
		}
		if w.Header().Get("RateLimit-Policy") != `"token.ip";q=3;w=60` {
			t.Fatalf("RateLimit-Policy on a 429 = %s (the account policy was never reached)", w.Header().Get("RateLimit-Policy"))
		}
	}
	if ts.work.Load() != 3 || ts.writes.Load() != 3 {
		t.Fatalf("work %d, writes %d past the limit; want 3 and 3", ts.work.Load(), ts.writes.Load())
	}
	if n := countEvents(e.rec, gatehouse.EventRateLimitExceeded); n != 1 {
		t.Fatalf("20 refusals recorded %d rate_limit.exceeded events, want 1 (coalesced)", n)
	}
	ev := e.rec.list()[0]
	if ev.Details["policy"] != ratelimit.TokenIP || ev.Outcome != gatehouse.OutcomeFailure {
		t.Fatalf("event %+v", ev)
	}
	var m dto.Metric
	if err := e.s.refusals.WithLabelValues(ratelimit.TokenIP).Write(&m); err != nil || m.GetCounter().GetValue() != 20 {
		v := m.GetCounter().GetValue()
		t.Fatalf("refusals metric %v, want 20", v)
	}
}

// A forged X-Forwarded-For from a peer that is not a trusted proxy changes
// nothing: every request is keyed by the socket's address.
func TestForgedForwardedForChangesNothing(t *testing.T) {
	for _, trusted := range [][]string{nil, {"10.0.0.0/8"}} {
		e := limitEnv(t, memory.New(memory.Options{}), "token.ip=2/1m", withTrustedProxies(trusted...))
		ts := &tokenStandIn{}
		h := e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts.handler(e.s)), ratelimit.TokenIP)
		refused := 0
		for i := 0; i < 30; i++ {
			xff := fmt.Sprintf("203.0.113.%d, 10.1.2.%d", i, i)
			w := do(h, tokenReq("198.51.100.7", fmt.Sprintf("u%d@example.com", i), "x", "X-Forwarded-For", xff))
			if w.Code == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused != 28 || ts.work.Load() != 2 {
			t.Fatalf("trusted %v: %d of 30 refused, work %d; want 28 and 2", trusted, refused, ts.work.Load())
		}
	}
	// Positive control: from a trusted proxy, the forwarded client is the key.
	e := limitEnv(t, memory.New(memory.Options{}), "token.ip=2/1m", withTrustedProxies("10.0.0.0/8"))
	ts := &tokenStandIn{}
	h := e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts.handler(e.s)), ratelimit.TokenIP)
	for i := 0; i < 30; i++ {
		w := do(h, tokenReq("10.0.0.1", fmt.Sprintf("u%d@example.com", i), "x", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)))
		if w.Code == http.StatusTooManyRequests {
			t.Fatalf("client %d behind a trusted proxy limited by another client's requests", i)
		}
	}
}

// A concurrent flood does the expensive work exactly as often as the
// limits allow, per IP and per account.
func TestFloodDoesNoWorkPastTheLimit(t *testing.T) {
	e := limitEnv(t, memory.New(memory.Options{}), "token.ip=5/1m,token.account=3/1m,failed_auth.account=1000/1m,failed_auth.ip=1000/1m",
		withTrustedProxies("10.0.0.0/8"))
	ts := &tokenStandIn{}
	h := e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts.handler(e.s)), ratelimit.TokenIP)
	var wg sync.WaitGroup
	var codes sync.Map
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := do(h, tokenReq("198.51.100.7", fmt.Sprintf("u%d@example.com", i), "wrong"))
			n, _ := codes.LoadOrStore(w.Code, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}()
	}
	wg.Wait()
	if ts.work.Load() != 5 {
		t.Fatalf("one IP flooding: hashing ran %d times, want 5 (the per-IP limit)", ts.work.Load())
	}
	if n, _ := codes.Load(http.StatusTooManyRequests); n.(*atomic.Int64).Load() != 195 {
		t.Fatalf("%d refused, want 195", n.(*atomic.Int64).Load())
	}
	// Many IPs (behind a trusted proxy), one account: the per-account limit.
	ts2 := &tokenStandIn{}
	h = e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts2.handler(e.s)), ratelimit.TokenIP)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(h, tokenReq("10.0.0.1", "victim@example.com", "wrong", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)))
		}()
	}
	wg.Wait()
	if ts2.work.Load() != 3 || ts2.writes.Load() != 0 {
		t.Fatalf("many IPs, one account: hashing ran %d times, %d writes; want 3 and 0", ts2.work.Load(), ts2.writes.Load())
	}
}

func TestFailedAuthCeilingBlocksEvenRightCredentials(t *testing.T) {
	e := limitEnv(t, memory.New(memory.Options{}), "failed_auth.account=3/15m,token.account=100/1m", withTrustedProxies("10.0.0.0/8"))
	ts := &tokenStandIn{}
	h := e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts.handler(e.s)), ratelimit.TokenIP)
	for i := 0; i < 3; i++ { // three sources, one account
		w := do(h, tokenReq("10.0.0.1", "victim@example.com", "guess", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, w.Code)
		}
	}
	if n := countEvents(e.rec, gatehouse.EventFailedAuthCeiling); n != 1 {
		t.Fatalf("%d failed_auth.ceiling_reached events, want 1", n)
	}
	work := ts.work.Load()
	w := do(h, tokenReq("10.0.0.1", "victim@example.com", "right password", "X-Forwarded-For", "203.0.113.200"))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "900" {
		t.Fatalf("right password on a blocked account: %d, Retry-After %q; want 429, 900", w.Code, w.Header().Get("Retry-After"))
	}
	if errBody(t, w).Error != "rate_limited" || ts.work.Load() != work {
		t.Fatal("a blocked attempt reached the credential check")
	}
	for i := 0; i < 5; i++ { // more failures neither report again nor get through
		do(h, tokenReq("10.0.0.1", "victim@example.com", "guess", "X-Forwarded-For", "203.0.113.9"))
	}
	if n := countEvents(e.rec, gatehouse.EventFailedAuthCeiling); n != 1 {
		t.Fatalf("%d ceiling events after more failures, want still 1", n)
	}
	if w := do(h, tokenReq("10.0.0.1", "other@example.com", "right password", "X-Forwarded-For", "203.0.113.1")); w.Code != 200 {
		t.Fatalf("another account blocked: %d", w.Code)
	}
	if v, _ := e.s.failed.Check(context.Background(), "", "email:other@example.com"); v.Account.Count != 0 {
		t.Fatalf("a success counted: %+v", v)
	}
}

// patAuthenticator accepts one PAT, "gth_good…", and refuses every other,
// under the request's credential guard as auth.PATs.Authenticate does;
// calls counts the look-ups.
type patAuthenticator struct{ calls atomic.Int64 }

const goodPAT = "gth_good0000000000000000000000000000000000000000"

func (a *patAuthenticator) Authenticate(r *http.Request) (*gatehouse.Principal, error) {
	var p *gatehouse.Principal
	err := guarded(r, auth.Attempt{}, func() error {
		a.calls.Add(1)
		tok, err := BearerToken(r)
		if err != nil {
			return err
		}
		if tok != goodPAT {
			return gatehouse.Errorf(gatehouse.EUnauthorized, "the bearer token is not valid")
		}
		p = &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: "u1", TokenID: "t1"}
		return nil
	})
	return p, err
}

func TestSuccessfulPATsNeverCount(t *testing.T) {
	c, prefix := redistest.Open(t)
	b := rlredis.New(c, rlredis.Options{Prefix: prefix})
	pa := &patAuthenticator{}
	e := limitEnv(t, b, "failed_auth.ip=5/15m", withAuth(pa))
	mux := http.NewServeMux()
	mux.Handle("GET /v1/probe", withPattern(e.s.requireAuth(e.s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, 200, map[string]string{"ok": "yes"})
	}))))
	h, err := e.s.middleware(mux)
	if err != nil {
		t.Fatal(err)
	}
	get := func(tok string) int {
		r := req("GET", "/v1/probe", "", "Authorization", "Bearer "+tok)
		r.RemoteAddr = "198.51.100.7:1234"
		return do(h, r).Code
	}
	for i := 0; i < 1000; i++ {
		if code := get(goodPAT); code != 200 {
			t.Fatalf("successful PAT call %d: %d", i+1, code)
		}
	}
	v, err := e.s.failed.Check(context.Background(), "198.51.100.7", "")
	if err != nil || v.IP.Count != 0 || v.Blocked {
		t.Fatalf("after 1,000 successful PAT calls: %+v %v; want a failure count of 0", v, err)
	}
	// Bad PATs do count, and the ceiling then refuses even the good one.
	for i := 0; i < 5; i++ {
		if code := get("gth_bad" + strings.Repeat("0", 40)); code != 401 {
			t.Fatalf("bad PAT %d: %d", i+1, code)
		}
	}
	calls := pa.calls.Load()
	if code := get(goodPAT); code != http.StatusTooManyRequests {
		t.Fatalf("good PAT from an IP over its ceiling: %d, want 429", code)
	}
	if pa.calls.Load() != calls {
		t.Fatal("a blocked PAT was looked up")
	}
}

// Two gatehouse instances against one Redis share their limits.
func TestTwoInstancesShareLimits(t *testing.T) {
	c, prefix := redistest.Open(t)
	var hs []http.Handler
	var works []*tokenStandIn
	for i := 0; i < 2; i++ {
		fo, err := rlredis.NewFailover(rlredis.New(c, rlredis.Options{Prefix: prefix}), rlredis.FailoverOptions{
			Logger: testLogger(), Fallback: memory.New(memory.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		e := limitEnv(t, fo, "token.ip=6/1m")
		ts := &tokenStandIn{}
		hs = append(hs, e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts.handler(e.s)), ratelimit.TokenIP))
		works = append(works, ts)
	}
	ok := 0
	for i := 0; i < 40; i++ {
		if w := do(hs[i%2], tokenReq("198.51.100.7", fmt.Sprintf("u%d@example.com", i), "right password")); w.Code == 200 {
			ok++
		}
	}
	if ok != 6 || works[0].work.Load() != 3 || works[1].work.Load() != 3 {
		t.Fatalf("%d allowed across two instances (work %d + %d), want 6 in total", ok, works[0].work.Load(), works[1].work.Load())
	}

	// The same through the real route table: two servers, one Redis, the
	// signup route's per-IP limit is shared.
	var servers []*Server
	for i := 0; i < 2; i++ {
		servers = append(servers, limitEnv(t, rlredis.New(c, rlredis.Options{Prefix: prefix}), "signup.ip=4/1h").s)
	}
	passed := 0
	for i := 0; i < 20; i++ {
		r := req("POST", "/v1/auth/signup", `{}`, "Content-Type", "application/json")
		r.RemoteAddr = "198.51.100.8:1"
		if w := do(servers[i%2], r); w.Code != http.StatusTooManyRequests {
			passed++
		}
	}
	if passed != 4 {
		t.Fatalf("%d signups passed the limit across two servers, want 4", passed)
	}
}

// guarded runs check as a service of package auth does: under the request's
// credential guard, reporting the outcome.
func guarded(r *http.Request, a auth.Attempt, check func() error) error {
	ctx := r.Context()
	pass, err := auth.GuardFromContext(ctx).Enter(ctx, a)
	if err != nil {
		return err
	}
	err = check()
	pass.Done(ctx, err)
	return err
}

func testLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// The OAuth endpoints' way: per-IP on the route, per-client and the client
// secret under the ceilings in the handler, errors in RFC 6749's format.
func TestOAuthClientGuard(t *testing.T) {
	e := limitEnv(t, memory.New(memory.Options{}), "oauth_token.ip=100/1m, oauth_token.client=100/1m, failed_auth.account=2/15m")
	var checks atomic.Int64
	h := e.serveLimited(t, "POST /v1/oauth/token", e.s.handleOAuth(func(w http.ResponseWriter, r *http.Request) error {
		id, secret, _ := r.BasicAuth()
		return guarded(r, auth.Attempt{Policy: ratelimit.OAuthTokenClient, Identity: id, Account: auth.ClientAccount(id)}, func() error {
			checks.Add(1)
			if secret != "s3cret" {
				return gatehouse.Errorf(gatehouse.EInvalidClient, "client authentication failed")
			}
			return writeJSON(w, 200, map[string]string{"access_token": "x"})
		})
	}), ratelimit.OAuthTokenIP)
	post := func(secret string) *httptest.ResponseRecorder {
		r := req("POST", "/v1/oauth/token", "grant_type=client_credentials", "Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("client-1", secret)
		return do(h, r)
	}
	for i := 0; i < 10; i++ {
		if w := post("s3cret"); w.Code != 200 {
			t.Fatalf("right secret %d: %d", i, w.Code)
		}
	}
	if v, _ := e.s.failed.Check(context.Background(), "", "client:client-1"); v.Account.Count != 0 {
		t.Fatalf("successful client authentications counted: %+v", v)
	}
	for i := 0; i < 2; i++ {
		if w := post("wrong"); w.Code != 401 {
			t.Fatalf("wrong secret %d: %d", i, w.Code)
		}
	}
	n := checks.Load()
	w := post("s3cret")
	if w.Code != 429 || w.Header().Get("Pragma") != "no-cache" || w.Header().Get("Retry-After") != "900" || errBody(t, w).Error != "rate_limited" {
		t.Fatalf("right secret past the client's ceiling: %d %v", w.Code, w.Header())
	}
	if checks.Load() != n {
		t.Fatal("the secret was checked past the ceiling")
	}
	if evs := e.rec.list(); len(evs) == 0 || evs[len(evs)-1].Type != gatehouse.EventFailedAuthCeiling || evs[len(evs)-1].Target != "client:client-1" {
		t.Fatalf("ceiling event %+v", evs)
	}
}

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"", "unknown"},
		{"198.51.100.7", "198.51.100.7"},
		{"::ffff:198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"not an ip", "not an ip"},
	} {
		ctx := gatehouse.NewContextWithRequestInfo(context.Background(), gatehouse.RequestInfo{IP: tt.ip})
		if got := clientKey(ctx); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// Rotating through the addresses of one IPv6 /64 does not escape the limit.
func TestIPv6SubnetSharesALimit(t *testing.T) {
	e := limitEnv(t, memory.New(memory.Options{}), "token.ip=3/1m")
	ts := &tokenStandIn{}
	h := e.serveLimited(t, "POST /v1/auth/token", e.s.handle(ts.handler(e.s)), ratelimit.TokenIP)
	refused := 0
	for i := 0; i < 20; i++ {
		r := tokenReq("198.51.100.7", fmt.Sprintf("u%d@example.com", i), "right password")
		r.RemoteAddr = fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1)
		if do(h, r).Code == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 17 || ts.work.Load() != 3 {
		t.Fatalf("20 addresses of one /64: %d refused, work %d; want 17 and 3", refused, ts.work.Load())
	}
}

// Logout derives forward from the presented token like a refresh (up to
// 20,000 HMACs, ~30 ms, for a session with many rotations), so it is limited
// per IP with refresh's policy rather than open to a flood.
func TestLogoutIsLimitedPerIP(t *testing.T) {
	db := testdb.SQLite(t)
	e := limitEnv(t, memory.New(memory.Options{}), "refresh.ip=3/1m", withSessions(t, db, t.TempDir()))
	tok := signIn(t, e.s, "logout-flood@example.com")["refresh_token"].(string)
	for i := 0; i < 5; i++ {
		code, body := bearerCall(t, e.s, "POST", "/v1/auth/logout", "", `{"refresh_token":"`+tok+`"}`)
		switch {
		case i < 3 && code != http.StatusNoContent:
			t.Fatalf("logout %d: %d %v", i+1, code, body)
		case i >= 3 && (code != http.StatusTooManyRequests || body["error"] != "rate_limited"):
			t.Fatalf("logout %d past refresh.ip: %d %v, want 429 rate_limited", i+1, code, body)
		}
	}
}

// A PAT cannot create PATs (403); its attempts must not use up its owner's
// pat_create.user budget, or a leaked PAT could stop the owner from making
// the replacement.
func TestPATAttemptsSpendNoPATCreateBudget(t *testing.T) {
	db := testdb.SQLite(t)
	e := limitEnv(t, memory.New(memory.Options{}), "pat_create.user=2/1h", withSessions(t, db, t.TempDir()))
	at := signIn(t, e.s, "pat-budget@example.com")["access_token"].(string)
	_, ws := bearerCall(t, e.s, "POST", "/v1/workspaces", at, `{"name":"W"}`)
	body := `{"name":"t","workspace_id":"` + ws["id"].(string) + `"}`
	code, created := bearerCall(t, e.s, "POST", "/v1/tokens", at, body)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	pat := created["token"].(string)
	for i := 0; i < 3; i++ {
		if code, out := bearerCall(t, e.s, "POST", "/v1/tokens", pat, body); code != http.StatusForbidden {
			t.Fatalf("PAT creating a PAT: %d %v", code, out)
		}
	}
	if code, out := bearerCall(t, e.s, "POST", "/v1/tokens", at, body); code != http.StatusCreated {
		t.Fatalf("the owner's second PAT after the PAT's refused attempts: %d %v", code, out)
	}
}
