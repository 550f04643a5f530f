package auth_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
)

// redisCounter is a go-redis hook that counts the rate limiter's scripts
// (EVALSHA, EVAL) and the round trips that carry them: a command sent alone,
// or a pipeline. A new connection's handshake is not counted.
type redisCounter struct{ trips, scripts atomic.Int64 }

func isScript(cmd goredis.Cmder) bool { return strings.HasPrefix(cmd.Name(), "eval") }

func (c *redisCounter) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c *redisCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if isScript(cmd) {
			c.trips.Add(1)
			c.scripts.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *redisCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		n := 0
		for _, cmd := range cmds {
			if isScript(cmd) {
				n++
			}
		}
		if n > 0 {
			c.trips.Add(1)
			c.scripts.Add(int64(n))
		}
		return next(ctx, cmds)
	}
}

// TestCredentialRedisRoundTrips pins what the guard costs Redis
// (docs/scaling.md), wired as the server wires it (a Failover over Redis):
// a client authentication takes its per-client policy and the failed-auth
// ceilings of the IP and the client in one round trip (three EVALSHA
// pipelined; it was three round trips), and a failure is counted against
// both ceilings in one more (it was two).
func TestCredentialRedisRoundTrips(t *testing.T) {
	c, prefix := redistest.Open(t)
	rc := &redisCounter{}
	c.AddHook(rc)
	fo, err := rlredis.NewFailover(rlredis.New(c, rlredis.Options{Prefix: prefix}), rlredis.FailoverOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.NewGuard(auth.GuardConfig{Limits: ratelimit.NewLimits(fo, nil), Failed: ratelimit.NewFailedAuth(fo, nil)})
	if err != nil {
		t.Fatal(err)
	}
	f := newOAuthFixture(t, testdb.SQLite(t))
	bg := context.Background()
	alice := f.user(t, "alice@example.com")
	w, err := f.ws.Create(bg, alice, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	cr, err := f.clients.Create(bg, alice, w.ID, auth.ClientSpec{Name: "svc", Scopes: []string{"audit:read"}})
	if err != nil {
		t.Fatal(err)
	}
	pat, err := f.pats.Create(bg, alice, w.ID, "ci", nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithGuard(gatehouse.NewContextWithRequestInfo(bg, gatehouse.RequestInfo{IP: "198.51.100.7"}), g)
	count := func(what string, trips, scripts int64, want gatehouse.Code, fn func() error) {
		t.Helper()
		t0, s0 := rc.trips.Load(), rc.scripts.Load()
		if err := fn(); (err == nil) != (want == "") || err != nil && gatehouse.ErrorCode(err) != want {
			t.Fatalf("%s: %v, want %q", what, err, want)
		}
		if n, m := rc.trips.Load()-t0, rc.scripts.Load()-s0; n != trips || m != scripts {
			t.Errorf("%s: %d Redis round trips (%d scripts), want %d (%d)", what, n, m, trips, scripts)
		}
	}
	id, secret := cr.Client.ClientID, cr.Secret.Reveal()
	// A Redis that has not run the scripts yet (a fresh one) answers the
	// first EVALSHA with NOSCRIPT, and the script is sent again: not counted.
	if _, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, id, secret); err != nil {
		t.Fatal(err)
	}
	count("a client's authentication", 1, 3, "", func() error {
		_, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, id, secret)
		return err
	})
	count("a client's authentication with a wrong secret", 2, 5, gatehouse.EInvalidClient, func() error {
		_, err := f.oauth.AuthenticateClient(ctx, ratelimit.OAuthTokenClient, id, secret+"x")
		return err
	})
	count("a PAT's use (the IP's ceiling)", 1, 1, "", func() error {
		_, err := f.pats.Authenticate(ctx, pat.Token.Reveal())
		return err
	})
}
