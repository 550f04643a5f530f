package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/mail"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// countingStore is the real store, counting the transactions it runs: a
// request that opens none read and wrote nothing.
type countingStore struct {
	gatehouse.Store
	txs atomic.Int64
}

func (c *countingStore) Tx(ctx context.Context, scope gatehouse.Scope, fn func(gatehouse.Tx) error) error {
	c.txs.Add(1)
	return c.Store.Tx(ctx, scope, fn)
}

// withCountedSessions wires a real auth.Sessions over store with the given
// hasher, whose Count says how many argon2id computations ran.
func withCountedSessions(t *testing.T, store gatehouse.Store, h *password.Hasher) option {
	return func(c *Config, d *Deps) {
		core := auth.NewCore(store, d.Logger)
		dir, err := mail.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.New(dir, mail.Config{From: mail.DefaultFrom(c.PublicURL.String()), Logger: d.Logger})
		if err != nil {
			t.Fatal(err)
		}
		d.Sessions, err = auth.NewSessions(core, auth.SessionConfig{
			Hasher: h, Mailer: m, Tokens: stubIssuer{}, PublicURL: c.PublicURL.String(),
			RefreshKey: bytes.Repeat([]byte("r"), 32), CSRFKey: bytes.Repeat([]byte("c"), 32),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A flood against the real token endpoint (real store, real argon2id) does
// no hashing and opens no transaction past the limit, and neither does a
// correct password on an account past its failed-auth ceiling.
func TestTokenFloodDoesNoHashingAndNoWrites(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		store := &countingStore{Store: db}
		h, err := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
		if err != nil {
			t.Fatal(err)
		}
		e := limitEnv(t, memory.New(memory.Options{}),
			"token.ip=5/1m, token.account=1000/1m, failed_auth.ip=1000/15m, failed_auth.account=3/15m",
			withCountedSessions(t, store, h), withTrustedProxies("10.0.0.0/8"))
		post := func(ip, body string) int {
			r := req("POST", "/v1/auth/token", body, "Content-Type", "application/json", "X-Forwarded-For", ip)
			r.RemoteAddr = "10.0.0.1:5000"
			return do(e.s, r).Code
		}
		good := `{"email":"jane@example.com","password":"` + httpPassword + `"}`
		r := req("POST", "/v1/auth/signup", `{"email":"jane@example.com","password":"`+httpPassword+`"}`, "Content-Type", "application/json")
		if w := do(e.s, r); w.Code != 201 {
			t.Fatalf("signup: %d %s", w.Code, w.Body)
		}

		for i := 0; i < 5; i++ {
			if code := post("198.51.100.7", good); code != 200 {
				t.Fatalf("sign-in %d: %d", i+1, code)
			}
		}
		hashes, txs := h.Count(), store.txs.Load()
		var wg sync.WaitGroup
		var refused atomic.Int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if post("198.51.100.7", good) == http.StatusTooManyRequests {
					refused.Add(1)
				}
			}()
		}
		wg.Wait()
		if refused.Load() != 200 {
			t.Fatalf("%d of 200 over-limit requests refused", refused.Load())
		}
		if h.Count() != hashes || store.txs.Load() != txs {
			t.Fatalf("the flood ran %d argon2id computations and %d transactions past the limit, want 0 and 0",
				h.Count()-hashes, store.txs.Load()-txs)
		}

		// Three wrong passwords from three addresses reach the account's ceiling.
		for i := 0; i < 3; i++ {
			if code := post(fmt.Sprintf("203.0.113.%d", i), `{"email":"jane@example.com","password":"not the right password at all"}`); code != 401 {
				t.Fatalf("wrong password %d: %d", i+1, code)
			}
		}
		if n := countEvents(e.rec, gatehouse.EventFailedAuthCeiling); n != 1 {
			t.Fatalf("%d failed_auth.ceiling_reached events, want 1", n)
		}
		hashes, txs = h.Count(), store.txs.Load()
		for i := 0; i < 20; i++ {
			if code := post(fmt.Sprintf("203.0.113.%d", 100+i), good); code != http.StatusTooManyRequests {
				t.Fatalf("right password on an account past its ceiling: %d, want 429", code)
			}
		}
		if h.Count() != hashes || store.txs.Load() != txs {
			t.Fatalf("blocked sign-ins ran %d argon2id computations and %d transactions", h.Count()-hashes, store.txs.Load()-txs)
		}
		// Another account is not blocked.
		r = req("POST", "/v1/auth/signup", `{"email":"john@example.com","password":"`+httpPassword+`"}`, "Content-Type", "application/json")
		r.RemoteAddr = "192.0.2.9:1"
		if w := do(e.s, r); w.Code != 201 {
			t.Fatalf("signup: %d", w.Code)
		}
		if code := post("203.0.113.50", `{"email":"john@example.com","password":"`+httpPassword+`"}`); code != 200 {
			t.Fatalf("another account: %d", code)
		}
	})
}

// Every limited route answers with the RateLimit fields and refuses over
// its per-IP limit before its handler runs.
func TestLimitedRoutesCarryHeaders(t *testing.T) {
	e := limitEnv(t, memory.New(memory.Options{}),
		"signup.ip=1/1m, token.ip=1/1m, magic_link.ip=1/1m, magic_link_verify.ip=1/1m, refresh.ip=1/1m")
	for _, rt := range []struct{ path, policy string }{
		{"/v1/auth/signup", ratelimit.SignupIP},
		{"/v1/auth/token", ratelimit.TokenIP},
		{"/v1/auth/magic-link", ratelimit.MagicLinkIP},
		{"/v1/auth/magic-link/verify", ratelimit.MagicLinkVerifyIP},
		{"/v1/auth/refresh", ratelimit.RefreshIP},
	} {
		// No Sessions are wired: the handler answers 503, still with the fields.
		w := do(e.s, req("POST", rt.path, `{}`, "Content-Type", "application/json"))
		if w.Header().Get("RateLimit-Policy") != fmt.Sprintf(`"%s";q=1;w=60`, rt.policy) || w.Header().Get("RateLimit") == "" {
			t.Fatalf("%s: %d, RateLimit-Policy %q, RateLimit %q", rt.path, w.Code, w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit"))
		}
		w = do(e.s, req("POST", rt.path, `{}`, "Content-Type", "application/json"))
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || errBody(t, w).Error != "rate_limited" {
			t.Fatalf("%s over the limit: %d, Retry-After %q", rt.path, w.Code, w.Header().Get("Retry-After"))
		}
	}
}

// 1,000 successful calls with a real PAT (real store, real Redis) leave the
// failure count at zero and meet no 429; bad PATs do count, and past the IP's
// ceiling even the good PAT is refused before it is looked up.
func TestSuccessfulPATCallsNeverCount(t *testing.T) {
	c, prefix := redistest.Open(t)
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		b := rlredis.New(c, rlredis.Options{Prefix: prefix + t.Name() + ":"})
		ps, err := ratelimit.ParsePolicies("failed_auth.ip=5/15m, pat_create.user=2/1h")
		if err != nil {
			t.Fatal(err)
		}
		fa := ratelimit.NewFailedAuth(b, ps)
		ce := newCredsEnv(t, db, func(_ *Config, d *Deps) {
			d.RateLimits, d.FailedAuth = ratelimit.NewLimits(b, ps), fa
		})
		alice := createUser(t, db, "alice@example.com", false)
		as := ce.session(t, alice)
		st, ws := ce.call(t, "POST", "/v1/workspaces", as, `{"name":"Acme"}`)
		if st != 201 {
			t.Fatalf("workspace: %d %v", st, ws)
		}
		st, created := ce.call(t, "POST", "/v1/tokens", as, `{"name":"ci","workspace_id":"`+ws["id"].(string)+`"}`)
		if st != 201 {
			t.Fatalf("create PAT: %d %v", st, created)
		}
		pat := created["token"].(string)
		wsPath := "/v1/workspaces/" + ws["id"].(string)
		for i := 0; i < 1000; i++ {
			if st, body := ce.call(t, "GET", wsPath, pat, ""); st != 200 {
				t.Fatalf("PAT call %d: %d %v", i+1, st, body)
			}
		}
		const ip = "192.0.2.1" // httptest's client address
		v, err := fa.Check(context.Background(), ip, "")
		if err != nil || v.IP.Count != 0 || v.Blocked {
			t.Fatalf("after 1,000 successful PAT calls: %+v %v, want a failure count of 0", v, err)
		}
		// PAT creation is limited per user (2/1h here): the third is refused.
		ce.call(t, "POST", "/v1/tokens", as, `{"name":"ci2","workspace_id":"`+ws["id"].(string)+`"}`)
		if st, body := ce.call(t, "POST", "/v1/tokens", as, `{"name":"ci3","workspace_id":"`+ws["id"].(string)+`"}`); st != 429 || body["error"] != "rate_limited" {
			t.Fatalf("third PAT in an hour: %d %v", st, body)
		}
		// Bad PATs count, per IP.
		bad := pat[:len(pat)-10] + "AAAAAAAAAA"
		for i := 0; i < 5; i++ {
			if st, _ := ce.call(t, "GET", wsPath, bad, ""); st != 401 {
				t.Fatalf("bad PAT %d: %d", i+1, st)
			}
		}
		if v, _ := fa.Check(context.Background(), ip, ""); v.IP.Count != 5 || !v.Blocked {
			t.Fatalf("after 5 bad PATs: %+v", v)
		}
		if n := countEvents(ce.rec, gatehouse.EventFailedAuthCeiling); n != 1 {
			t.Fatalf("%d failed_auth.ceiling_reached events, want 1", n)
		}
		r := req("GET", wsPath, "", "Authorization", "Bearer "+pat)
		if w := do(ce.s, r); w.Code != 429 || errBody(t, w).Error != "rate_limited" || w.Header().Get("Retry-After") != "900" {
			t.Fatalf("good PAT from an IP past its ceiling: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
		// A session's JWT is not a PAT: it is not refused by the PAT ceiling.
		if st, _ := ce.call(t, "GET", wsPath, as, ""); st != 200 {
			t.Fatalf("session JWT: %d", st)
		}
	})
}
