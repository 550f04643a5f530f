package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
)

// envRateLimits overrides the default rate-limit policies
// (docs/rate-limits.md): "token.ip=10/1m, failed_auth.account=5/30m".
const envRateLimits = "GATEHOUSE_RATE_LIMITS"

// parseRateLimits reads GATEHOUSE_RATE_LIMITS.
func parseRateLimits(s string) (ratelimit.Policies, error) {
	ps, err := ratelimit.ParsePolicies(s)
	if err != nil {
		return nil, bad(envRateLimits, "%s", strings.TrimPrefix(err.Error(), envRateLimits+": "))
	}
	return ps, nil
}

// rateLimiting is the wired rate limiter: the policies over one backend,
// Redis (with the memory fallback) when GATEHOUSE_REDIS_URL is set, else
// memory for this one instance.
type rateLimiting struct {
	limits *ratelimit.Limits
	failed *ratelimit.FailedAuth
	ready  []httpapi.Check          // /readyz: "redis" when Redis is used
	detail map[string]func() string // /readyz details: where limits are kept
	close  func() error
}

func newRateLimiting(ctx context.Context, cfg *Config, log *slog.Logger, reg prometheus.Registerer) (*rateLimiting, error) {
	ps := cfg.RateLimits
	if ps == nil {
		ps = ratelimit.DefaultPolicies()
	}
	if cfg.RedisURL == "" {
		b := memory.New(memory.Options{})
		return &rateLimiting{
			limits: ratelimit.NewLimits(b, ps), failed: ratelimit.NewFailedAuth(b, ps),
			detail: map[string]func() string{"rate_limits": func() string { return "rate limits per instance (memory; no GATEHOUSE_REDIS_URL)" }},
			close:  func() error { return nil },
		}, nil
	}
	rlredis.SetLogger(log) // go-redis's own lines become JSON too
	client, err := rlredis.Open(cfg.RedisURL)
	if err != nil {
		return nil, bad(envRedisURL, "must be redis://host:port/db or rediss://…")
	}
	fo, err := rlredis.NewFailover(rlredis.New(client, rlredis.Options{}), rlredis.FailoverOptions{Logger: log, Registerer: reg})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	// Start in the right state: an unreachable Redis is said at once, and
	// limits are enforced in memory until it answers.
	if err := fo.Ping(ctx); err == nil {
		log.Info("rate limits: shared through Redis", slog.String("addr", client.Options().Addr))
	}
	return &rateLimiting{
		limits: ratelimit.NewLimits(fo, ps),
		failed: ratelimit.NewFailedAuth(fo, ps),
		ready:  []httpapi.Check{{Name: "redis", Check: fo.Ping}},
		detail: map[string]func() string{"rate_limits": fo.Detail},
		close:  client.Close,
	}, nil
}
