package redis_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/ratelimit/ratelimittest"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
)

func TestConformance(t *testing.T) {
	c, prefix := redistest.Open(t)
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Backend {
		return redis.New(c, redis.Options{Prefix: prefix, Now: now})
	})
}

// The Failover on a Redis that answers decides as Redis does, batches
// included.
func TestFailoverConformance(t *testing.T) {
	c, prefix := redistest.Open(t)
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Backend {
		f, err := redis.NewFailover(redis.New(c, redis.Options{Prefix: prefix, Now: now}), redis.FailoverOptions{
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			Fallback: memory.New(memory.Options{Now: now}),
			Timeout:  5 * time.Second, // a loaded machine must not make it fall back
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if f.Status().Degraded {
				t.Error("the failover fell back to memory")
			}
		})
		return f
	})
}

// With no clock given, the scripts use the Redis server's TIME.
func TestServerTime(t *testing.T) {
	c, prefix := redistest.Open(t)
	l := redis.New(c, redis.Options{Prefix: prefix})
	ctx := context.Background()
	p := ratelimit.Policy{Name: "servertime", Limit: 3, Window: time.Hour}
	for i := 0; i < 3; i++ {
		d, err := l.Allow(ctx, "k", p)
		if err != nil || !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
	}
	d, err := l.Allow(ctx, "k", p)
	if err != nil || d.Allowed {
		t.Fatalf("4th request: %+v %v", d, err)
	}
	// About 20 minutes (one interval) minus the few ms this test took.
	if d.RetryAfter < 19*time.Minute || d.RetryAfter > 20*time.Minute {
		t.Fatalf("retry after %s, want about 20m", d.RetryAfter)
	}
	f, err := l.AddFailure(ctx, "k", ratelimit.Policy{Name: "servertime", Limit: 1, Window: time.Minute})
	if err != nil || !f.Blocked || !f.Crossed || f.RetryAfter != time.Minute {
		t.Fatalf("failure: %+v %v", f, err)
	}
}

// Every key lives under the one prefix, wrapped in a hash tag, and expires.
func TestKeysArePrefixedTaggedAndExpire(t *testing.T) {
	c, prefix := redistest.Open(t)
	l := redis.New(c, redis.Options{Prefix: prefix})
	ctx := context.Background()
	p := ratelimit.Policy{Name: "keys", Limit: 3, Window: time.Minute}
	k := ratelimit.Key("token.ip", "198.51.100.7")
	for i := 0; i < 5; i++ { // allowed, then denied: the denial mark lives in the bucket
		l.Allow(ctx, k, p)
	}
	l.AddFailure(ctx, k, p)
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys %q, want 2", keys)
	}
	shape := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `[rf]\{token\.ip:[A-Za-z0-9_-]{20}\}$`)
	for _, key := range keys {
		if !shape.MatchString(key) {
			t.Errorf("key %q not of the form prefix + kind + {hash-tagged key}", key)
		}
		if ttl := c.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
			t.Errorf("key %q ttl %s, want (0, 1m]", key, ttl)
		}
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(ratelimit.KeyPrefix)).MatchString(prefix) {
		t.Fatalf("test prefix %q not under %q", prefix, ratelimit.KeyPrefix)
	}
}

// The scripts run with EVALSHA and load themselves when Redis lost them.
func TestScriptFlush(t *testing.T) {
	c, prefix := redistest.Open(t)
	l := redis.New(c, redis.Options{Prefix: prefix})
	ctx := context.Background()
	p := ratelimit.Policy{Name: "flush", Limit: 2, Window: time.Minute}
	if _, err := l.Allow(ctx, "k", p); err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	d, err := l.Allow(ctx, "k", p)
	if err != nil || !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after SCRIPT FLUSH: %+v %v", d, err)
	}
	// A batch's steps that Redis answers NOSCRIPT are sent again with EVAL,
	// and each runs once.
	p = ratelimit.Policy{Name: "flush.batch", Limit: 3, Window: time.Minute}
	for i := 0; i < 2; i++ {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		out := l.Batch(ctx, []ratelimit.Step{
			{Op: ratelimit.OpAllow, Key: "b", Policy: p},
			{Op: ratelimit.OpAddFailure, Key: "b", Policy: p},
		})
		if o := out[0]; o.Err != nil || !o.Decision.Allowed || o.Decision.Remaining != 2-i {
			t.Fatalf("batch %d after SCRIPT FLUSH, the request: %+v, want remaining %d", i+1, o, 2-i)
		}
		if o := out[1]; o.Err != nil || o.Failures.Count != i+1 {
			t.Fatalf("batch %d after SCRIPT FLUSH, the failure: %+v, want count %d", i+1, o, i+1)
		}
	}
}
