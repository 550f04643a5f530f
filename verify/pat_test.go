package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// gh is a real gatehouse (package httpapi over the real auth services and
// a real store) on a loopback port, with its HTTP requests counted and a
// switch that makes it answer 503 as if it were down.
type gh struct {
	url      string
	store    gatehouse.Store
	core     *auth.Core
	pats     *auth.PATs
	clients  *auth.Clients
	requests atomic.Int64
	down     atomic.Bool
	srv      *httptest.Server
}

func startGatehouse(t testing.TB, s gatehouse.Store) *gh {
	t.Helper()
	g := &gh{store: s}
	srv := httptest.NewUnstartedServer(nil)
	g.url = "http://" + srv.Listener.Addr().String()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	g.core = auth.NewCore(s, log)
	kek, _ := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
	keys, err := auth.NewKeys(g.core, auth.KeysConfig{Issuer: g.url, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.pats, g.clients = &auth.PATs{Core: g.core}, &auth.Clients{Core: g.core}
	pub, _ := url.Parse(g.url)
	h, err := httpapi.New(httpapi.Config{PublicURL: pub}, httpapi.Deps{Logger: log, Registry: prometheus.NewRegistry(),
		Keys: keys, PATs: g.pats, Clients: g.clients, OAuth: &auth.OAuth{Core: g.core, Keys: keys},
		Workspaces: &auth.Workspaces{Core: g.core},
		Auth:       httpapi.BearerAuth{Credentials: &auth.Credentials{Keys: keys, PATs: g.pats}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.requests.Add(1)
		if g.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	g.srv = srv
	return g
}

// tenant is a user, a workspace they own, a PAT of theirs in it, and an
// OAuth client of the workspace (the resource server's credentials).
type tenant struct {
	user, ws         string
	pat, patID       string
	clientID, secret string
	principal        *gatehouse.Principal
	patScopes        []string
	g                *gh
}

func (g *gh) tenant(t testing.TB, email string, scopes ...string) *tenant {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	u := &gatehouse.User{ID: gatehouse.NewID(now), Email: email, Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := g.store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: u.ID, SessionID: testdb.NewSession(t, g.store, u.ID)}
	ws, err := (&auth.Workspaces{Core: g.core}).Create(ctx, p, "w")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := g.pats.Create(ctx, p, ws.ID, "ci", scopes, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := g.clients.CreateAsSystem(ctx, ws.ID, auth.ClientSpec{Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{user: u.ID, ws: ws.ID, pat: cp.Token.Reveal(), patID: cp.PAT.ID, clientID: cc.Client.ClientID,
		secret: cc.Secret.Reveal(), principal: p, patScopes: scopes, g: g}
}

func (tn *tenant) authenticator(t testing.TB, edit func(*verify.IntrospectionConfig)) *verify.PAT {
	t.Helper()
	cfg := verify.IntrospectionConfig{Issuer: tn.g.url, ClientID: tn.clientID, ClientSecret: tn.secret, Workspace: tn.ws}
	if edit != nil {
		edit(&cfg)
	}
	p, err := verify.NewPAT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, _ := verify.FromContext(r.Context())
	json.NewEncoder(w).Encode(id)
})

func call(h http.Handler, tok string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/things", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// mutate changes one body character of a valid PAT, so the checksum fails.
func mutate(pat string) string {
	b := []byte(pat)
	if b[10] == 'a' {
		b[10] = 'b'
	} else {
		b[10] = 'a'
	}
	return string(b)
}

func TestPATAgainstGatehouse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		g := startGatehouse(t, s)
		a := g.tenant(t, "a@example.com", "workspaces:read", "audit:read")
		b := g.tenant(t, "b@example.com", "workspaces:read")
		var now atomic.Int64
		now.Store(time.Now().UnixNano())
		clock := func() time.Time { return time.Unix(0, now.Load()) }
		pa := a.authenticator(t, func(c *verify.IntrospectionConfig) { c.CacheTTL = 2 * time.Second; c.Now = clock })
		h := verify.Require(pa)(echo)

		// A PAT of the client's workspace: accepted, with its scopes.
		w := call(h, a.pat)
		if w.Code != 200 {
			t.Fatalf("own workspace's PAT: %d %s", w.Code, w.Body)
		}
		var id verify.Identity
		json.Unmarshal(w.Body.Bytes(), &id)
		if id.Kind != "pat" || id.Subject != a.user || id.WorkspaceID != a.ws || id.TokenID != a.patID ||
			strings.Join(id.Scopes, " ") != "audit:read workspaces:read" || id.ClientID != "" || !id.ExpiresAt.After(time.Now()) {
			t.Fatalf("identity %+v", id)
		}
		// Cached: a second check makes no call.
		before := g.requests.Load()
		if w := call(h, a.pat); w.Code != 200 || g.requests.Load() != before {
			t.Fatalf("cached check: %d, %d calls", w.Code, g.requests.Load()-before)
		}

		// A PAT of another workspace: refused.
		if w := call(h, b.pat); w.Code != 401 {
			t.Fatalf("foreign PAT: %d %s", w.Code, w.Body)
		}
		// ... but accepted by that workspace's own client.
		if w := call(verify.Require(b.authenticator(t, nil))(echo), b.pat); w.Code != 200 {
			t.Fatalf("b's PAT at b's resource server: %d", w.Code)
		}
		// A resource server pinned to a's workspace but given b's client
		// credentials (a configuration mistake): gatehouse answers active
		// for b's PATs, the pin refuses them.
		mixed := b.authenticator(t, func(c *verify.IntrospectionConfig) { c.Workspace = a.ws })
		if w := call(verify.Require(mixed)(echo), b.pat); w.Code != 401 {
			t.Fatalf("b's PAT at a resource server pinned to a: %d %s", w.Code, w.Body)
		}
		if _, err := mixed.Authenticate(context.Background(), b.pat); !errors.Is(err, verify.ErrWorkspace) {
			t.Fatalf("b's PAT at a resource server pinned to a: %v", err)
		}

		// Malformed and bad-checksum tokens: refused without any call.
		before = g.requests.Load()
		for _, bad := range []string{mutate(a.pat), a.pat[:len(a.pat)-1], a.pat + "0", "gth_", "gth_" + strings.Repeat("!", 49)} {
			if w := call(h, bad); w.Code != 401 {
				t.Fatalf("%q: %d", bad, w.Code)
			}
			_, err := pa.Authenticate(context.Background(), bad)
			if !errors.Is(err, verify.ErrInvalid) || strings.Contains(err.Error(), bad) {
				t.Fatalf("%q: %v", bad, err)
			}
		}
		if n := g.requests.Load() - before; n != 0 {
			t.Fatalf("malformed tokens made %d calls", n)
		}

		// Deleted: still accepted from the cache until the TTL, refused after.
		if err := g.pats.Delete(context.Background(), a.principal, a.patID); err != nil {
			t.Fatal(err)
		}
		if w := call(h, a.pat); w.Code != 200 {
			t.Fatalf("deleted PAT within the TTL: %d (the cache should still answer)", w.Code)
		}
		now.Add(int64(2 * time.Second))
		if w := call(h, a.pat); w.Code != 401 {
			t.Fatalf("deleted PAT after the TTL: %d", w.Code)
		}
		_, err := pa.Authenticate(context.Background(), a.pat)
		if !errors.Is(err, verify.ErrInactive) || strings.Contains(err.Error(), a.pat) {
			t.Fatalf("deleted PAT: %v", err)
		}
	})
}

func TestPATEndpointDown(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		g := startGatehouse(t, s)
		a := g.tenant(t, "a@example.com", "workspaces:read")
		pa := a.authenticator(t, func(c *verify.IntrospectionConfig) { c.Timeout = 500 * time.Millisecond })
		h := verify.Require(pa)(echo)

		// 503 from gatehouse: refused with 503, never accepted, not cached.
		g.down.Store(true)
		for i := range 2 {
			w := call(h, a.pat)
			if w.Code != 503 {
				t.Fatalf("endpoint answering 503, try %d: %d %s", i, w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), a.pat) {
				t.Fatal("the token is in the answer")
			}
		}
		_, err := pa.Authenticate(context.Background(), a.pat)
		if !errors.Is(err, verify.ErrIntrospectionUnavailable) || errors.Is(err, verify.ErrInvalid) || strings.Contains(err.Error(), a.pat) {
			t.Fatalf("down: %v", err)
		}
		// Back up: accepted at once (the failure was not cached as inactive).
		g.down.Store(false)
		if w := call(h, a.pat); w.Code != 200 {
			t.Fatalf("after recovery: %d", w.Code)
		}

		// Closed: connection refused is 503 too.
		b := g.tenant(t, "b@example.com", "workspaces:read")
		pb := b.authenticator(t, nil)
		g.srv.Close()
		if w := call(verify.Require(pb)(echo), b.pat); w.Code != 503 {
			t.Fatalf("endpoint closed: %d", w.Code)
		}
		_, err = pb.Authenticate(context.Background(), b.pat)
		if !errors.Is(err, verify.ErrIntrospectionUnavailable) || strings.Contains(err.Error(), b.pat) {
			t.Fatalf("closed: %v", err)
		}
	})
}

// TestPATWrongClientSecret: gatehouse refusing the resource server's own
// credentials is a configuration fault: 503, never a verdict on the token.
func TestPATWrongClientSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		g := startGatehouse(t, s)
		a := g.tenant(t, "a@example.com", "workspaces:read")
		pa := a.authenticator(t, func(c *verify.IntrospectionConfig) { c.ClientSecret = "ghs_wrong" })
		if w := call(verify.Require(pa)(echo), a.pat); w.Code != 503 {
			t.Fatalf("wrong client secret: %d", w.Code)
		}
		if s := fmt.Sprint(verify.IntrospectionConfig{Issuer: g.url, ClientID: a.clientID, ClientSecret: a.secret}); strings.Contains(s, a.secret) {
			t.Fatalf("config prints its secret: %s", s)
		}
		if s := fmt.Sprintf("%v %#v", pa, pa); strings.Contains(s, "ghs_wrong") {
			t.Fatalf("authenticator prints its secret: %s", s)
		}
	})
}

// TestPATConcurrentChecksShareACall: many requests with one new token make
// one introspection call; a slow endpoint with MaxConcurrent 1 times out
// further calls as unavailable.
func TestPATConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		g := startGatehouse(t, s)
		a := g.tenant(t, "a@example.com", "workspaces:read")
		pa := a.authenticator(t, nil)
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := pa.Authenticate(context.Background(), a.pat); err == nil {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 20 || pa.Introspections() > 3 {
			t.Fatalf("%d of 20 accepted, %d introspection calls", ok.Load(), pa.Introspections())
		}
	})

	// The concurrency bound, against an endpoint that hangs: counted at the
	// client's transport, so a server slow to see a cancelled call does not
	// blur the count.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte(`{"active":false}`))
	}))
	defer slow.Close()
	defer close(release)
	ct := &countingTransport{}
	pa, err := verify.NewPAT(verify.IntrospectionConfig{Issuer: slow.URL, ClientID: "c", ClientSecret: "s", AnyWorkspace: true, MaxConcurrent: 2,
		Timeout: 300 * time.Millisecond, HTTPClient: &http.Client{Transport: ct}})
	if err != nil {
		t.Fatal(err)
	}
	peak := &ct.peak
	var wg sync.WaitGroup
	var unavailable atomic.Int32
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := pa.Authenticate(context.Background(), newPAT(t, i))
			if errors.Is(err, verify.ErrIntrospectionUnavailable) {
				unavailable.Add(1)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 2 || unavailable.Load() != 6 {
		t.Fatalf("peak %d calls in flight (max 2), %d of 6 unavailable", peak.Load(), unavailable.Load())
	}
}

func newPAT(t testing.TB, _ int) string {
	p, err := token.NewPAT(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.Reveal()
}

// countingTransport counts the round trips in flight and their peak.
type countingTransport struct{ inFlight, peak atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}
