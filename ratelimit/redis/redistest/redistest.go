// Package redistest connects tests to the real Redis named by
// GATEHOUSE_TEST_REDIS (default redis://127.0.0.1:6379/15) and gives each
// test run its own key prefix, so parallel test packages never share state.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// URL returns the test Redis URL.
func URL() string {
	if u := os.Getenv("GATEHOUSE_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

// Open returns a client to the test Redis and a key prefix unique to this
// call (ratelimit.KeyPrefix + "test:<random>:"); every key under it is
// deleted when the test ends. Without a reachable Redis the test is skipped,
// or fails when GATEHOUSE_TEST_REQUIRE_SERVICES=1.
func Open(tb testing.TB) (*goredis.Client, string) {
	tb.Helper()
	o, err := goredis.ParseURL(URL())
	if err != nil {
		tb.Fatalf("GATEHOUSE_TEST_REDIS: %v", err)
	}
	c := goredis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("redis at %s: %v", o.Addr, err)
		}
		tb.Skipf("redis at %s not reachable: %v", o.Addr, err)
	}
	var b [8]byte
	rand.Read(b[:])
	prefix := ratelimit.KeyPrefix + "test:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		c.Close()
	})
	return c, prefix
}
