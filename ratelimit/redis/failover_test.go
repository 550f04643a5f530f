package redis_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
)

// logBuf is a goroutine-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.Gauge != nil {
				return m.Gauge.GetValue()
			}
			return m.Counter.GetValue()
		}
	}
	return 0
}

const (
	downLine = "Redis unreachable"
	upLine   = "Redis reachable again"
)

func newFailover(t *testing.T, l *redis.Limiter) (*redis.Failover, *prometheus.Registry, *logBuf) {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &logBuf{}
	f, err := redis.NewFailover(l, redis.FailoverOptions{
		Logger:        slog.New(slog.NewJSONHandler(logs, nil)),
		Registerer:    reg,
		Timeout:       300 * time.Millisecond, // well above a loaded machine's answers, far below the tests' bounds
		ProbeInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, reg, logs
}

// proxied returns a proxy the test can cut or stall in front of the test's
// Redis, a client through it (closed at the end of the test), a client
// straight to Redis, and the test's key prefix.
func proxied(t *testing.T) (*proxy, *goredis.Client, *goredis.Client, string) {
	t.Helper()
	direct, prefix := redistest.Open(t)
	px := newProxy(t, direct.Options().Addr)
	c, err := redis.Open("redis://" + px.addr + "/" + strconv.Itoa(direct.Options().DB))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return px, c, direct, prefix
}

// refusingAddr returns an address on which nothing listens.
func refusingAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFailoverRefusingPort(t *testing.T) {
	c, err := redis.Open("redis://" + refusingAddr(t) + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, reg, logs := newFailover(t, redis.New(c, redis.Options{}))
	ctx := context.Background()
	p := ratelimit.Policy{Name: "refused", Limit: 3, Window: time.Hour}
	allowed := 0
	for i := 0; i < 50; i++ {
		d, err := f.Allow(ctx, "k", p)
		if err != nil {
			t.Fatalf("request %d: %v (a fallback decision must not fail)", i, err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("%d of 50 allowed on a limit of 3 with Redis down: limits must still hold", allowed)
	}
	// Failed-auth ceilings hold too.
	fa := ratelimit.NewFailedAuth(f, nil)
	var v ratelimit.Verdict
	for i := 0; i < 10; i++ {
		v, _ = fa.Fail(ctx, "", "email:victim@example.com")
	}
	if !v.Blocked {
		t.Fatalf("failed-auth ceiling not enforced during the outage: %+v", v)
	}
	if s := f.Status(); !s.Degraded || s.Backend != "memory" || s.LastError == "" {
		t.Fatalf("status %+v, want degraded on memory with the error", s)
	}
	if f.Ping(ctx) == nil {
		t.Fatal("Ping reported a refusing port as reachable")
	}
	if n := logs.count(downLine); n != 1 {
		t.Fatalf("fallback logged %d times, want once per transition", n)
	}
	if v := metric(t, reg, "gatehouse_ratelimit_fallback_active", ""); v != 1 {
		t.Fatalf("fallback gauge %v, want 1", v)
	}
	if v := metric(t, reg, "gatehouse_ratelimit_fallback_decisions_total", ""); v < 60 {
		t.Fatalf("fallback decisions %v, want at least 60", v)
	}
}

// proxy is a TCP proxy between the client and the real Redis that the test
// can cut, stall and restore.
type proxy struct {
	target  string
	addr    string
	stalled atomic.Bool
	mu      sync.Mutex
	ln      net.Listener
	conns   []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go p.pipe(out, in)
			go p.pipe(in, out)
		}
	}()
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.stalled.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				dst.Close()
			}
			return
		}
	}
}

// cut closes the listener and every proxied connection: Redis is gone.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A real Redis becomes unreachable mid-test, then returns.
func TestFailoverRedisGoesAwayAndReturns(t *testing.T) {
	px, c, direct, prefix := proxied(t)
	f, reg, logs := newFailover(t, redis.New(c, redis.Options{Prefix: prefix}))
	inRedis := redis.New(direct, redis.Options{Prefix: prefix}) // reads Redis past the proxy
	ctx := context.Background()
	p := ratelimit.Policy{Name: "outage", Limit: 5, Window: time.Hour}

	for i := 0; i < 2; i++ {
		if d, err := f.Allow(ctx, "k", p); err != nil || !d.Allowed {
			t.Fatalf("request %d through Redis: %+v %v", i, d, err)
		}
	}
	if d, _ := inRedis.Peek(ctx, "k", p); d.Remaining != 3 {
		t.Fatalf("Redis holds remaining %d, want 3: decisions were not taken in Redis", d.Remaining)
	}

	px.cut()
	allowed := 0
	for i := 0; i < 40; i++ {
		d, err := f.Allow(ctx, "k", p)
		if err != nil {
			t.Fatalf("request %d during the outage: %v", i, err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 40 allowed during the outage on a limit of 5: the memory fallback must limit", allowed)
	}
	if s := f.Status(); !s.Degraded {
		t.Fatalf("status %+v during the outage", s)
	}
	if n := logs.count(downLine); n != 1 {
		t.Fatalf("outage logged %d times, want once", n)
	}
	if v := metric(t, reg, "gatehouse_ratelimit_fallback_active", ""); v != 1 {
		t.Fatalf("fallback gauge %v during the outage", v)
	}

	px.restore(t)
	waitFor(t, "the failover to go back to Redis", func() bool {
		f.Allow(ctx, "other", p) // traffic drives the probe
		return !f.Status().Degraded
	})
	d, err := f.Allow(ctx, "k", p)
	if err != nil || !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after Redis returned: %+v %v, want the Redis bucket (remaining 2)", d, err)
	}
	if n := logs.count(upLine); n != 1 {
		t.Fatalf("recovery logged %d times, want once", n)
	}
	if v := metric(t, reg, "gatehouse_ratelimit_fallback_active", ""); v != 0 {
		t.Fatalf("fallback gauge %v after recovery", v)
	}
	if v := metric(t, reg, "gatehouse_ratelimit_backend_transitions_total", "redis"); v != 1 {
		t.Fatalf("transitions to redis %v, want 1", v)
	}
}

// A Redis that accepts but never answers is caught by the per-call timeout.
func TestFailoverStalledRedis(t *testing.T) {
	px, c, _, prefix := proxied(t)
	f, _, logs := newFailover(t, redis.New(c, redis.Options{Prefix: prefix}))
	ctx := context.Background()
	p := ratelimit.Policy{Name: "stall", Limit: 2, Window: time.Hour}
	if d, err := f.Allow(ctx, "k", p); err != nil || !d.Allowed {
		t.Fatalf("before the stall: %+v %v", d, err)
	}
	px.stalled.Store(true)
	allowed := 0
	for i := 0; i < 10; i++ {
		d, err := f.Allow(ctx, "k", p)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 2 || !f.Status().Degraded || logs.count(downLine) != 1 {
		t.Fatalf("stalled Redis: %d allowed (want 2), status %+v, %d log lines", allowed, f.Status(), logs.count(downLine))
	}
}

func TestFailoverCallerCancelIsNotAnOutage(t *testing.T) {
	direct, prefix := redistest.Open(t)
	f, _, logs := newFailover(t, redis.New(direct, redis.Options{Prefix: prefix}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Allow(ctx, "k", ratelimit.Policy{Name: "cancel", Limit: 1, Window: time.Minute}); err == nil {
		t.Fatal("a canceled request was decided")
	}
	if f.Status().Degraded || logs.count(downLine) != 0 {
		t.Fatal("a caller's cancellation switched to the fallback")
	}
}

// A key Redis refused stays refused when the failover falls back to memory
// (until its retry time), and so does a blocked failed-auth counter: the
// fallback does not hand a key over its limit a fresh allowance. A key never
// refused gets the per-instance allowance.
func TestFailoverKeepsRedisRefusals(t *testing.T) {
	px, c, _, prefix := proxied(t)
	f, _, _ := newFailover(t, redis.New(c, redis.Options{Prefix: prefix}))
	ctx := context.Background()
	p := ratelimit.Policy{Name: "carry", Limit: 2, Window: time.Hour}
	for i := 0; i < 3; i++ {
		d, err := f.Allow(ctx, "over", p)
		if err != nil || d.Allowed != (i < 2) {
			t.Fatalf("request %d through Redis: %+v %v", i, d, err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := f.AddFailure(ctx, "acct", p); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := f.Failures(ctx, "acct", p); err != nil || !v.Blocked {
		t.Fatalf("the ceiling in Redis: %+v %v", v, err)
	}

	px.cut()
	for i := 0; i < 5; i++ {
		if d, err := f.Allow(ctx, "over", p); err != nil || d.Allowed {
			t.Fatalf("request %d during the outage for a key Redis refused: %+v %v", i, d, err)
		}
	}
	if !f.Status().Degraded {
		t.Fatal("the failover did not fall back")
	}
	if v, err := f.Failures(ctx, "acct", p); err != nil || !v.Blocked {
		t.Fatalf("a ceiling blocked in Redis, during the outage: %+v %v", v, err)
	}
	if d, err := f.Allow(ctx, "never-refused", p); err != nil || !d.Allowed {
		t.Fatalf("a key never refused during the outage: %+v %v", d, err)
	}
}

// When one step of a batch fails in Redis (here a counter key of the wrong
// type: Redis answers the other steps and that one an error, as when Redis
// goes away between them), the failover falls back and that step is decided
// in memory; the steps Redis answered keep its answers, FirstDenied
// included (its rate_limit.exceeded is recorded once a window, and would be
// lost otherwise), with no second charge in memory, as single calls would.
func TestFailoverBatchKeepsRedisAnswers(t *testing.T) {
	direct, prefix := redistest.Open(t)
	f, _, logs := newFailover(t, redis.New(direct, redis.Options{Prefix: prefix}))
	inRedis := redis.New(direct, redis.Options{Prefix: prefix})
	ctx := context.Background()
	p := ratelimit.Policy{Name: "unit", Limit: 3, Window: time.Hour}
	for i := 0; i < 3; i++ { // "over": exhausted in Redis
		if d, err := f.Allow(ctx, "over", p); err != nil || !d.Allowed {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
	}
	if d, err := f.Allow(ctx, "under", p); err != nil || d.Remaining != 2 {
		t.Fatalf("under: %+v %v", d, err)
	}
	if err := direct.Set(ctx, prefix+"f{broken}", "not a hash", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	steps := []ratelimit.Step{
		{Op: ratelimit.OpAllow, Key: "over", Policy: p},
		{Op: ratelimit.OpAllow, Key: "under", Policy: p},
		{Op: ratelimit.OpFailures, Key: "broken", Policy: p},
	}
	if out := inRedis.Batch(ctx, steps[2:]); out[0].Err == nil {
		t.Fatalf("a counter of the wrong type read: %+v", out[0])
	}
	out := f.Batch(ctx, steps)
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("step %d: %v (a fallback decision must not fail)", i, o.Err)
		}
	}
	if !f.Status().Degraded || logs.count(downLine) != 1 {
		t.Fatalf("status %+v, %d log lines: a step failing in Redis must fall back", f.Status(), logs.count(downLine))
	}
	if d := out[0].Decision; d.Allowed || !d.FirstDenied {
		t.Fatalf("a key Redis refused in the batch itself: %+v, want Redis's refusal, FirstDenied kept (the caller records it once a window)", d)
	}
	if d := out[1].Decision; !d.Allowed || d.Remaining != 1 {
		t.Fatalf("a key Redis allowed in the batch: %+v, want Redis's answer (remaining 1), not a second charge in memory", d)
	}
	if f := out[2].Failures; f.Count != 0 || f.Blocked {
		t.Fatalf("the broken counter, read in memory: %+v", f)
	}
	if d, err := inRedis.Peek(ctx, "under", p); err != nil || d.Remaining != 1 {
		t.Fatalf("Redis holds %+v %v for the key it allowed in the batch, want remaining 1", d, err)
	}
	if d, _ := f.Allow(ctx, "over", p); d.Allowed {
		t.Fatalf("after the fallback, the key Redis refused: %+v, want refused (copied into memory)", d)
	}
}

// A batch sent to a Redis that stopped answering is decided in memory, as
// one unit, within the per-call timeout.
func TestFailoverBatchStalledRedis(t *testing.T) {
	px, c, _, prefix := proxied(t)
	f, reg, _ := newFailover(t, redis.New(c, redis.Options{Prefix: prefix}))
	ctx := context.Background()
	p := ratelimit.Policy{Name: "stallbatch", Limit: 1, Window: time.Hour}
	perIP := ratelimit.Policy{Name: ratelimit.FailedAuthIP, Limit: 1, Window: time.Hour}
	perAccount := ratelimit.Policy{Name: ratelimit.FailedAuthAccount, Limit: 5, Window: time.Hour}
	fa := ratelimit.NewFailedAuth(f, ratelimit.Policies{ratelimit.FailedAuthIP: perIP, ratelimit.FailedAuthAccount: perAccount})
	if v, err := fa.Fail(ctx, "198.51.100.7", "client:x"); err != nil || !v.Blocked || v.IP.Count != 1 || v.Account.Count != 1 {
		t.Fatalf("a failure counted in Redis: %+v %v", v, err)
	}
	px.stalled.Store(true)
	steps := []ratelimit.Step{
		{Op: ratelimit.OpAllow, Key: "k", Policy: p},
		{Op: ratelimit.OpFailures, Key: ratelimit.Key(ratelimit.FailedAuthIP, "198.51.100.7"), Policy: perIP},
		{Op: ratelimit.OpFailures, Key: ratelimit.Key(ratelimit.FailedAuthAccount, "client:x"), Policy: perAccount},
	}
	start := time.Now()
	out := f.Batch(ctx, steps)
	if time.Since(start) > time.Second {
		t.Fatalf("the batch took %s with Redis stalled", time.Since(start))
	}
	if !f.Status().Degraded {
		t.Fatal("a stalled Redis did not make the batch fall back")
	}
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("step %d: %v", i, o.Err)
		}
	}
	if !out[0].Decision.Allowed || !out[1].Failures.Blocked || out[2].Failures.Count != 0 {
		t.Fatalf("decided in memory: %+v; want the request allowed, the IP's ceiling blocked (mirrored from Redis), the account's count 0", out)
	}
	if v := metric(t, reg, "gatehouse_ratelimit_fallback_decisions_total", ""); v != 3 {
		t.Fatalf("fallback decisions %v, want 3 (one per step)", v)
	}
}

// The copies of Redis's refusals live apart from the fallback's own state:
// however many accumulate while Redis is up, a block the fallback itself
// keeps during an outage is not evicted for them (the fallback store is
// bounded, and evicts the entry that expires first, which a copy of an
// hourly refusal never is).
func TestFailoverCopiesDoNotEvictFallbackBlocks(t *testing.T) {
	px, c, _, prefix := proxied(t)
	f, err := redis.NewFailover(redis.New(c, redis.Options{Prefix: prefix}), redis.FailoverOptions{
		// A long deadline: the copies must be made while Redis is up, not
		// decided in memory because a loaded machine answered late (the
		// outage below is a cut connection, refused at once).
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Timeout: 5 * time.Second,
		Fallback: memory.New(memory.Options{MaxKeys: 256}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hourly := ratelimit.Policy{Name: "hourly", Limit: 1, Window: time.Hour}
	for i := 0; i < 600; i++ { // 600 refusals copied while Redis is up
		k := "refused-" + strconv.Itoa(i)
		f.Allow(ctx, k, hourly)
		if d, err := f.Allow(ctx, k, hourly); err != nil || d.Allowed {
			t.Fatalf("setup %d: %+v %v", i, d, err)
		}
	}
	if f.Status().Degraded {
		t.Fatal("setup: the copies were decided in memory, not in Redis")
	}
	px.cut()
	ceiling := ratelimit.Policy{Name: "ceiling", Limit: 3, Window: 15 * time.Minute}
	for i := 0; i < 3; i++ {
		f.AddFailure(ctx, "victim", ceiling)
	}
	if v, _ := f.Failures(ctx, "victim", ceiling); !v.Blocked || !f.Status().Degraded {
		t.Fatalf("setup: the outage's block %+v, degraded %v", v, f.Status().Degraded)
	}
	short := ratelimit.Policy{Name: "flood", Limit: 10, Window: time.Second}
	for i := 0; i < 20_000; i++ {
		f.Allow(ctx, "flood-"+strconv.Itoa(i), short)
	}
	if v, _ := f.Failures(ctx, "victim", ceiling); !v.Blocked {
		t.Fatal("a block kept during the outage was evicted")
	}
	if d, _ := f.Allow(ctx, "refused-7", hourly); d.Allowed {
		t.Fatal("a refusal copied from Redis was lost")
	}
}

// An administrator's reset in Redis (`gatehouse limits reset`, which talks
// to Redis from its own process) reaches an instance's copy of the block the
// next time the instance reads that ceiling from Redis: a later outage does
// not bring the block back.
func TestFailoverResetInRedisDropsTheCopy(t *testing.T) {
	px, c, direct, prefix := proxied(t)
	f, _, _ := newFailover(t, redis.New(c, redis.Options{Prefix: prefix}))
	admin := redis.New(direct, redis.Options{Prefix: prefix})
	ctx := context.Background()
	ceiling := ratelimit.Policy{Name: "ceiling", Limit: 2, Window: 15 * time.Minute}
	for i := 0; i < 2; i++ {
		f.AddFailure(ctx, "acct", ceiling)
	}
	if v, _ := f.Failures(ctx, "acct", ceiling); !v.Blocked {
		t.Fatal("setup: not blocked")
	}
	if err := admin.ResetFailures(ctx, "acct"); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Failures(ctx, "acct", ceiling); err != nil || v.Blocked {
		t.Fatalf("after the reset, through Redis: %+v %v", v, err)
	}
	px.cut()
	if v, err := f.Failures(ctx, "acct", ceiling); err != nil || v.Blocked || !f.Status().Degraded {
		t.Fatalf("after the reset, during an outage: %+v %v (degraded %v)", v, err, f.Status().Degraded)
	}
}
