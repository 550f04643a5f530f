package verify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/verify"
)

// BenchmarkPAT measures, in one run and through one Require(jwt, pat)
// middleware as a resource server would mount it:
//
//   - jwt-warm: a client's access token issued by a real gatehouse, key set
//     and verified token cached (the baseline of the ratios);
//   - pat-warm: a PAT whose active answer is cached;
//   - pat-cold: a PAT checked by a fresh authenticator, so every check is an
//     introspection round trip on loopback to a real gatehouse (SQLite):
//     client authentication, PAT look-up, JSON both ways;
//   - pat-cold-stub: the same round trip to a canned answer, which isolates
//     verify's and HTTP's share from gatehouse's.
//
// Report pat-warm ÷ jwt-warm and pat-cold ÷ jwt-warm.
func BenchmarkPAT(b *testing.B) {
	g := startGatehouse(b, testdb.SQLite(b))
	a := g.tenant(b, "a@example.com", "workspaces:read")
	jwt, err := verify.NewJWT(verify.JWTConfig{Issuer: g.url, Audience: g.url, Workspace: a.ws})
	if err != nil {
		b.Fatal(err)
	}
	access := clientToken(b, g.url, a.clientID, a.secret)
	cfg := verify.IntrospectionConfig{Issuer: g.url, ClientID: a.clientID, ClientSecret: a.secret, Workspace: a.ws}

	warm := func(pc verify.IntrospectionConfig) http.Handler {
		p, err := verify.NewPAT(pc)
		if err != nil {
			b.Fatal(err)
		}
		return verify.Require(jwt, p)(noop)
	}
	bench := func(name, tok string, pc verify.IntrospectionConfig, fresh bool) {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/things", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			h := warm(pc)
			b.ReportAllocs()
			for b.Loop() {
				if fresh {
					// A new authenticator: an empty cache (the HTTP
					// transport, and its kept-alive connection, is shared).
					b.StopTimer()
					h = warm(pc)
					b.StartTimer()
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"active": true, "scope": "workspaces:read", "sub": a.user, "jti": a.patID,
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "workspace_id": a.ws, "token_kind": "personal_access_token"})
	}))
	b.Cleanup(stub.Close)
	stubCfg := cfg
	stubCfg.Issuer = stub.URL

	bench("jwt-warm", access, cfg, false)
	bench("pat-warm", a.pat, cfg, false)
	bench("pat-cold", a.pat, cfg, true)
	bench("pat-cold-stub", a.pat, stubCfg, true)
}

// noop answers 200: the benchmarks measure the middleware, not a handler.
var noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// clientToken gets a client_credentials access token from gatehouse.
func clientToken(b testing.TB, base, id, secret string) string {
	req, _ := http.NewRequest("POST", base+"/v1/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.AccessToken == "" {
		b.Fatalf("token endpoint: %d %v", resp.StatusCode, err)
	}
	return v.AccessToken
}
