package main

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
)

func TestRateLimitsSetting(t *testing.T) {
	env := prodEnv()
	env[envRateLimits] = "token.ip=7/1m, failed_auth.account=4/30m"
	c, err := loadConfig(envOf(env), false, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.RateLimits[ratelimit.TokenIP]; p.Limit != 7 || p.Window != time.Minute {
		t.Fatalf("token.ip = %+v", p)
	}
	if p := c.RateLimits[ratelimit.SignupIP]; p != ratelimit.DefaultPolicies()[ratelimit.SignupIP] {
		t.Fatalf("signup.ip = %+v, want the default", p)
	}
	for _, v := range []string{"token.ip=0/1m", "nope=1/1m", "token.ip", "token.ip=1/1m,token.ip=2/1m"} {
		env[envRateLimits] = v
		_, err := loadConfig(envOf(env), false, configFlags{})
		var se *settingError
		if !errors.As(err, &se) || se.name != envRateLimits || strings.Count(err.Error(), envRateLimits) != 1 {
			t.Errorf("%q: %v, want one error naming %s once", v, err, envRateLimits)
		}
	}
}

func TestServeWithRedis(t *testing.T) {
	redistest.Open(t) // skips without Redis
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{"GATEHOUSE_REDIS_URL": redistest.URL()}, "--dev")
	resp, body := r.get(t, "/readyz")
	if resp.StatusCode != 200 || !strings.Contains(body, `"redis":"ok"`) || !strings.Contains(body, `"rate_limits":"rate limits shared through Redis"`) {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, body)
	}
	_, metrics := r.get(t, "/metrics")
	if !strings.Contains(metrics, "gatehouse_ratelimit_fallback_active 0") {
		t.Fatal("/metrics lacks gatehouse_ratelimit_fallback_active 0")
	}
	if !strings.Contains(r.stderr.String(), "rate limits: shared through Redis") {
		t.Fatalf("start-up does not say limits are shared:\n%s", r.stderr)
	}
}

// With Redis unreachable the server still starts, limits in memory, and says
// so once in the log, in /readyz and in the metric.
func TestServeRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{"GATEHOUSE_REDIS_URL": "redis://" + addr + "/0", envRateLimits: "signup.ip=2/1h"}, "--dev")
	for i := 0; i < 3; i++ {
		resp, body := r.get(t, "/readyz")
		if resp.StatusCode != 503 || !strings.Contains(body, `"redis":"failed"`) || !strings.Contains(body, `"rate_limits":"rate limits per instance (memory fallback) since `) {
			t.Fatalf("/readyz: %d %s", resp.StatusCode, body)
		}
	}
	_, metrics := r.get(t, "/metrics")
	if !strings.Contains(metrics, "gatehouse_ratelimit_fallback_active 1") {
		t.Fatal("/metrics lacks gatehouse_ratelimit_fallback_active 1")
	}
	// Limits still hold, per instance.
	var codes []int
	for i := 0; i < 4; i++ {
		resp, err := http.Post(r.base+"/v1/auth/signup", "application/json",
			strings.NewReader(`{"email":"u`+strconv.Itoa(i)+`@example.com","password":"a quiet otter crossing the bridge"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if !strings.HasPrefix(resp.Header.Get("RateLimit-Policy"), `"signup.ip";q=2;w=3600`) {
			t.Fatalf("signup %d: RateLimit-Policy %q", i+1, resp.Header.Get("RateLimit-Policy"))
		}
	}
	if codes[0] != 202 || codes[1] != 202 || codes[2] != 429 || codes[3] != 429 {
		t.Fatalf("signups with Redis down: %v, want 202 202 429 429", codes)
	}
	if n := strings.Count(r.stderr.String(), "Redis unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once:\n%s", n, r.stderr)
	}
}
