package redis_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
)

// BenchmarkDecisionCost measures, in one run, a bare Redis PING round trip, a
// bare map access, and one rate-limit decision on each backend, and reports
// each decision's cost as a ratio to the two baselines:
//
//	go test -run='^$' -bench=DecisionCost -benchtime=200ms ./ratelimit/redis/
//
// The metrics to read are redis/ping, failover/ping and memory/map (and
// memory/ping, to compare the backends with each other).
func BenchmarkDecisionCost(b *testing.B) {
	c, prefix := redistest.Open(b)
	ctx := context.Background()
	// A policy generous enough that every decision is a full allow-and-store.
	p := ratelimit.Policy{Name: "bench", Limit: 1_000_000, Window: time.Hour}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = ratelimit.Key("bench", strconv.Itoa(i))
	}
	mem := memory.New(memory.Options{})
	rl := redis.New(c, redis.Options{Prefix: prefix})
	fo, err := redis.NewFailover(rl, redis.FailoverOptions{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]int64{}
	for _, k := range keys { // warm: every key exists, so each call is a steady-state decision
		m[k] = 0
		mem.Allow(ctx, k, p)
		rl.Allow(ctx, k, p)
	}
	ops := []struct {
		name string
		fn   func(i int) error
	}{
		{"ping", func(int) error { return c.Ping(ctx).Err() }},
		{"map", func(i int) error { m[keys[i&1023]]++; return nil }},
		{"memory", func(i int) error { _, err := mem.Allow(ctx, keys[i&1023], p); return err }},
		{"redis", func(i int) error { _, err := rl.Allow(ctx, keys[i&1023], p); return err }},
		{"failover", func(i int) error { _, err := fo.Allow(ctx, keys[i&1023], p); return err }},
	}
	// The operations take turns in chunks of 64 calls, each chunk timed, so a
	// change in the machine's load during the run hits all of them alike and
	// the ratios stay meaningful on a busy machine. The framework's ns/op is
	// the sum of the five.
	ns := make([]float64, len(ops))
	b.ResetTimer()
	for done := 0; done < b.N; done += 64 {
		n := min(64, b.N-done)
		for j, op := range ops {
			start := time.Now()
			for i := done; i < done+n; i++ {
				if err := op.fn(i); err != nil {
					b.Fatal(err)
				}
			}
			ns[j] += float64(time.Since(start).Nanoseconds())
		}
	}
	b.StopTimer()
	if fo.Status().Degraded {
		b.Fatal("the failover fell back to memory during the benchmark")
	}
	per := map[string]float64{}
	for j, op := range ops {
		per[op.name] = ns[j] / float64(b.N)
		b.ReportMetric(per[op.name], "ns/"+op.name)
	}
	b.ReportMetric(per["redis"]/per["ping"], "redis/ping")
	b.ReportMetric(per["failover"]/per["ping"], "failover/ping")
	b.ReportMetric(per["memory"]/per["map"], "memory/map")
	b.ReportMetric(per["memory"]/per["ping"], "memory/ping")
}
