package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// workStore is the real store, counting every transaction and read: a
// request that opens none looked nothing up and wrote nothing.
type workStore struct {
	gatehouse.Store
	n atomic.Int64
}

func (c *workStore) Tx(ctx context.Context, scope gatehouse.Scope, fn func(gatehouse.Tx) error) error {
	c.n.Add(1)
	return c.Store.Tx(ctx, scope, fn)
}

func (c *workStore) Read(ctx context.Context, scope gatehouse.Scope, fn func(gatehouse.Tx) error) error {
	c.n.Add(1)
	return c.Store.Read(ctx, scope, fn)
}

// noSecretRoutes are the routes of the table that check no secret (no
// password, magic-link token, refresh token, client secret or PAT), each
// with the reason. Every other route must pass through the credential guard.
var noSecretRoutes = map[string]string{
	"POST /v1/auth/password-reset": "no secret is checked; password_reset.email is applied by the guard, and never refuses (TestPasswordResetNeverRefusesPerAddress)",
	"GET /healthz":                 "operations",
	"GET /readyz":                  "operations",
	"GET /metrics":                 "operations",
	"GET /{$}":                     "the portal's static files",
	"GET /{file}":                  "the portal's static files",
	"GET /.well-known/jwks.json":   "public keys",
	"GET /.well-known/oauth-authorization-server": "public metadata",
	"GET /.well-known/openid-configuration":       "public metadata",
	"POST /v1/auth/signup":                        "no secret is checked; signup.email is applied by the guard (TestGuardAppliesAccountPolicies)",
	"POST /v1/auth/magic-link":                    "no secret is checked; magic_link.email is applied by the guard, and never refuses (TestMagicLinkNeverLocksOut)",
	"GET /v1/auth/providers":                      "the public list of providers",
}

// afterLookup are the routes refused by the guard only after a look-up that
// must come first: the authorization endpoint checks the client and its
// redirect URI (to know where an error may be sent) before it reads the
// portal's refresh cookie (auth.OAuth.SignedIn, refresh.token).
var afterLookup = map[string]bool{
	"GET /v1/oauth/authorize":  true,
	"POST /v1/oauth/authorize": true,
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// TestEveryCredentialRouteIsGuarded enumerates the route table: every route
// that checks a secret is refused by the credential guard before any store
// work (and so before any hashing) once the guard refuses the attempt, the
// IP's failed-auth ceiling for the password, magic-link, client and PAT
// routes and refresh.token for the routes that take a refresh token. A
// route added to the table without the guard fails here unless it is listed
// in noSecretRoutes with its reason.
func TestEveryCredentialRouteIsGuarded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		store := &workStore{Store: db}
		b := memory.New(memory.Options{})
		ps, err := ratelimit.ParsePolicies("failed_auth.ip=1/15m, refresh.token=1/1m")
		if err != nil {
			t.Fatal(err)
		}
		e := limitEnv(t, b, "failed_auth.ip=1/15m, refresh.token=1/1m", withSessions(t, store, t.TempDir()),
			withCookieMode(t, CookieConfig{RefreshTTL: time.Hour}), func(_ *Config, d *Deps) {
				core := auth.NewCore(store, d.Logger)
				d.Clients = &auth.Clients{Core: core}
				d.OAuth = &auth.OAuth{Core: core, Keys: d.Keys, Sessions: d.Sessions}
			}, withFederationDeps(t, "127.0.0.1:53", 0))
		tokens := signIn(t, e.s, "jane@example.com")
		refresh := tokens["refresh_token"].(string)
		// A public client, for the authorization endpoint.
		st, ws := bearerCall(t, e.s, "POST", "/v1/workspaces", tokens["access_token"].(string), `{"name":"w"}`)
		if st != 201 {
			t.Fatalf("workspace: %d %v", st, ws)
		}
		const cb = "https://app.example.com/cb"
		st, pub := bearerCall(t, e.s, "POST", "/v1/workspaces/"+ws["id"].(string)+"/clients", tokens["access_token"].(string),
			`{"name":"spa","public":true,"redirect_uris":["`+cb+`"],"scopes":["profile:read"]}`)
		if st != 201 {
			t.Fatalf("client: %d %v", st, pub)
		}
		authz := url.Values{"client_id": {pub["client_id"].(string)}, "redirect_uri": {cb}, "response_type": {"code"},
			"code_challenge": {pkce(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"}}

		ctx := context.Background()
		const ip = "192.0.2.1" // httptest's client address
		if _, err := ratelimit.NewFailedAuth(b, ps).Fail(ctx, ip, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := ratelimit.NewLimits(b, ps).Allow(ctx, ratelimit.RefreshToken, refresh); err != nil {
			t.Fatal(err)
		}

		clientID := gatehouse.NewID(e.s.now())
		pat := "gth_" + strings.Repeat("A", 40)
		guarded := 0
		for _, rt := range e.s.routes() {
			method, path, _ := strings.Cut(rt.pattern, " ")
			if reason, ok := noSecretRoutes[rt.pattern]; ok {
				t.Logf("%s: no secret (%s)", rt.pattern, reason)
				continue
			}
			path = pathParam.ReplaceAllString(path, gatehouse.NewID(e.s.now()))
			var r *http.Request
			switch {
			case path == "/v1/oauth/authorize" && method == "GET":
				r = req(method, path+"?"+authz.Encode(), "", "Cookie", HostRefreshCookie+"="+refresh)
			case path == "/v1/oauth/authorize":
				r = req(method, path, authz.Encode()+"&decision=approve&consent_token=x", "Content-Type", "application/x-www-form-urlencoded",
					"Cookie", HostRefreshCookie+"="+refresh, "Origin", "https://auth.example.com")
			case path == "/v1/auth/token":
				r = req(method, path, `{"email":"jane@example.com","password":"`+httpPassword+`"}`, "Content-Type", "application/json")
			case path == "/v1/auth/magic-link/verify":
				r = req(method, path, `{"token":"`+strings.Repeat("A", 43)+`"}`, "Content-Type", "application/json")
			case path == "/v1/auth/refresh" || path == "/v1/auth/logout":
				r = req(method, path, `{"refresh_token":"`+refresh+`"}`, "Content-Type", "application/json")
			case path == "/v1/oauth/logout": // the portal's refresh cookie
				r = req(method, path, "", "Cookie", HostRefreshCookie+"="+refresh, "Content-Type", "application/x-www-form-urlencoded",
					"Origin", "https://auth.example.com")
			case path == "/v1/oauth/userinfo": // a Bearer route: the PAT below
				r = req(method, path, ``, "Authorization", "Bearer "+pat)
			case strings.HasPrefix(path, "/v1/oauth/"):
				r = req(method, path, "grant_type=client_credentials&token=x", "Content-Type", "application/x-www-form-urlencoded",
					"Authorization", basicAuth(clientID, "a-wrong-secret"))
			default: // every other route acts for a caller: a PAT
				r = req(method, path, `{}`, "Content-Type", "application/json", "Authorization", "Bearer "+pat)
			}
			before := store.n.Load()
			w := do(e.s, r)
			if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
				t.Errorf("%s: %d %s, want 429 with Retry-After: the route checks a secret without the guard", rt.pattern, w.Code, w.Body)
				continue
			}
			if n := store.n.Load() - before; n != 0 && !afterLookup[rt.pattern] {
				t.Errorf("%s: refused after %d store transactions, want 0", rt.pattern, n)
			}
			guarded++
		}
		if guarded < 25 {
			t.Fatalf("only %d routes checked", guarded)
		}
	})
}
