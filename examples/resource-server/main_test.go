package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// startGatehouse runs a real gatehouse HTTP server (package httpapi, the
// real key service and store) on a loopback port and returns its issuer URL
// and key service.
func startGatehouse(t *testing.T, s gatehouse.Store) (string, *auth.Keys) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	core := auth.NewCore(s, log)
	kek, _ := kms.NewLocal(bytes.Repeat([]byte{9}, 32))
	keys, err := auth.NewKeys(core, auth.KeysConfig{Issuer: issuer, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := keys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse(issuer)
	h, err := httpapi.New(httpapi.Config{PublicURL: pub}, httpapi.Deps{Logger: log, Registry: prometheus.NewRegistry(),
		Keys: keys, Auth: httpapi.BearerAuth{Credentials: &auth.Credentials{Keys: keys}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer, keys
}

func hit(t *testing.T, base, tok string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/hello", nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// TestResourceServerEndToEnd: the example API accepts a gatehouse session
// token, keeps accepting a token signed before a rotation, accepts the new
// key's tokens, and refuses a revoked key's tokens once its JWKS cache
// renews (MaxCacheAge, 5 minutes by default; 1 second here).
func TestResourceServerEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		issuer, keys := startGatehouse(t, s)
		h, jwt, err := newHandler(verify.JWTConfig{Issuer: issuer, Audience: issuer,
			MinRefreshInterval: 200 * time.Millisecond, MaxCacheAge: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		api := httptest.NewServer(h)
		defer api.Close()

		user, sid := gatehouse.NewID(time.Now()), gatehouse.NewID(time.Now())
		before, _, err := keys.IssueSessionToken(ctx, user, sid)
		if err != nil {
			t.Fatal(err)
		}
		if st, v := hit(t, api.URL, before); st != 200 || v["hello"] != user || v["kind"] != "session" || v["session_id"] != sid {
			t.Fatalf("session token: %d %v", st, v)
		}
		if st, _ := hit(t, api.URL, ""); st != 401 {
			t.Fatalf("no token: %d", st)
		}

		// Emergency rotation: a new key signs at once.
		if _, err := keys.Rotate(ctx, true, "system"); err != nil {
			t.Fatal(err)
		}
		after, _, _ := keys.IssueSessionToken(ctx, user, sid)
		time.Sleep(250 * time.Millisecond) // past the refresh interval
		if st, v := hit(t, api.URL, after); st != 200 {
			t.Fatalf("token of the new key: %d %v", st, v)
		}
		if st, v := hit(t, api.URL, before); st != 200 {
			t.Fatalf("token signed before the rotation: %d %v", st, v)
		}

		// Revoke the old key: gatehouse refuses its tokens at once, the
		// resource server once its cache renews.
		h0, _ := token.PeekHeader(before)
		if err := keys.Revoke(ctx, h0.KID, "system"); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.VerifyAccessToken(before); err == nil {
			t.Fatal("gatehouse still accepts a revoked key's token")
		}
		time.Sleep(1100 * time.Millisecond)
		if st, _ := hit(t, api.URL, before); st != 401 {
			t.Fatalf("resource server accepts a revoked key's token: %d", st)
		}
		if st, _ := hit(t, api.URL, after); st != 200 {
			t.Fatalf("the new key's token after revocation of the old: %d", st)
		}
		if jwt.Cache().Fetches() > 6 {
			t.Fatalf("%d JWKS fetches", jwt.Cache().Fetches())
		}
	})
}
