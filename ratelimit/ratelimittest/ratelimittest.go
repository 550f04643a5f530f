// Package ratelimittest is the conformance suite every ratelimit.Backend
// passes: the memory store and Redis run the same tests against the same
// expectations, with a clock the test controls.
package ratelimittest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// Clock is a settable clock for backends that take a Now func.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Factory returns a fresh backend reading time from now. Keys of different
// tests must not collide: the suite uses a new key per test, but a backend
// shared between runs should use a per-run namespace (Redis: a key prefix).
type Factory func(t *testing.T, now func() time.Time) ratelimit.Backend

var seq atomic.Int64

// key returns a key unique to this process and test.
func key(t *testing.T) string {
	return fmt.Sprintf("%s#%d", t.Name(), seq.Add(1))
}

// Run runs the suite.
func Run(t *testing.T, newBackend Factory) {
	ctx := context.Background()
	setup := func(t *testing.T) (ratelimit.Backend, *Clock, string, helpers) {
		c := NewClock()
		return newBackend(t, c.Now), c, key(t), helpers{get[ratelimit.Decision](t), get[ratelimit.Failures](t)}
	}

	t.Run("Burst", func(t *testing.T) {
		b, _, k, h := setup(t)
		p := ratelimit.Policy{Name: "t.burst", Limit: 5, Window: 10 * time.Second}
		for i := 0; i < 5; i++ {
			d := h.dec(b.Allow(ctx, k, p))
			if !d.Allowed || d.Remaining != 4-i {
				t.Fatalf("request %d: allowed=%v remaining=%d, want true %d", i+1, d.Allowed, d.Remaining, 4-i)
			}
			if want := time.Duration(i+1) * 2 * time.Second; d.ResetAfter != want {
				t.Fatalf("request %d: reset after %s, want %s", i+1, d.ResetAfter, want)
			}
			if d.Policy != p {
				t.Fatalf("decision policy %+v, want %+v", d.Policy, p)
			}
		}
		d := h.dec(b.Allow(ctx, k, p))
		if d.Allowed || d.Remaining != 0 || d.RetryAfter != 2*time.Second {
			t.Fatalf("6th: allowed=%v remaining=%d retry=%s, want false 0 2s", d.Allowed, d.Remaining, d.RetryAfter)
		}
	})

	t.Run("RefillAndDenialsDoNotConsume", func(t *testing.T) {
		b, c, k, h := setup(t)
		p := ratelimit.Policy{Name: "t.refill", Limit: 3, Window: 3 * time.Second}
		for i := 0; i < 3; i++ {
			h.dec(b.Allow(ctx, k, p))
		}
		for i := 0; i < 10; i++ { // denied: must not push the bucket further
			if d := h.dec(b.Allow(ctx, k, p)); d.Allowed {
				t.Fatalf("denial %d allowed", i)
			}
		}
		c.Advance(time.Second)
		if d := h.dec(b.Allow(ctx, k, p)); !d.Allowed || d.Remaining != 0 {
			t.Fatalf("after one interval: allowed=%v remaining=%d, want true 0", d.Allowed, d.Remaining)
		}
		c.Advance(500 * time.Millisecond)
		if d := h.dec(b.Allow(ctx, k, p)); d.Allowed || d.RetryAfter != 500*time.Millisecond {
			t.Fatalf("half an interval later: allowed=%v retry=%s, want false 500ms", d.Allowed, d.RetryAfter)
		}
		c.Advance(time.Hour)
		if d := h.dec(b.Allow(ctx, k, p)); !d.Allowed || d.Remaining != 2 {
			t.Fatalf("after a long pause: allowed=%v remaining=%d, want true 2 (full bucket, not more)", d.Allowed, d.Remaining)
		}
	})

	t.Run("PeekDoesNotConsume", func(t *testing.T) {
		b, _, k, h := setup(t)
		p := ratelimit.Policy{Name: "t.peek", Limit: 2, Window: time.Minute}
		for i := 0; i < 5; i++ {
			if d := h.dec(b.Peek(ctx, k, p)); !d.Allowed || d.Remaining != 2 || d.ResetAfter != 0 {
				t.Fatalf("peek %d on a fresh key: %+v", i, d)
			}
		}
		h.dec(b.Allow(ctx, k, p))
		if d := h.dec(b.Peek(ctx, k, p)); !d.Allowed || d.Remaining != 1 || d.ResetAfter != 30*time.Second {
			t.Fatalf("peek after one request: %+v", d)
		}
		h.dec(b.Allow(ctx, k, p))
		if d := h.dec(b.Peek(ctx, k, p)); d.Allowed || d.Remaining != 0 || d.RetryAfter != 30*time.Second {
			t.Fatalf("peek when exhausted: %+v", d)
		}
	})

	t.Run("KeysAreIndependent", func(t *testing.T) {
		b, _, k, h := setup(t)
		p := ratelimit.Policy{Name: "t.indep", Limit: 1, Window: time.Minute}
		h.dec(b.Allow(ctx, k+"a", p))
		if d := h.dec(b.Allow(ctx, k+"a", p)); d.Allowed {
			t.Fatal("second request on a limit of 1 allowed")
		}
		if d := h.dec(b.Allow(ctx, k+"b", p)); !d.Allowed {
			t.Fatal("another key was limited by the first")
		}
		// The three kinds of state do not share a key space.
		if f := h.fl(b.Failures(ctx, k+"a", p)); f.Count != 0 {
			t.Fatalf("failure count %d under a rate key", f.Count)
		}
	})

	t.Run("Failures", func(t *testing.T) {
		b, c, k, h := setup(t)
		p := ratelimit.Policy{Name: "t.fail", Limit: 3, Window: time.Minute}
		if f := h.fl(b.Failures(ctx, k, p)); f.Count != 0 || f.Blocked || f.Crossed {
			t.Fatalf("fresh key: %+v", f)
		}
		for i := 1; i <= 2; i++ {
			if f := h.fl(b.AddFailure(ctx, k, p)); f.Count != i || f.Blocked || f.Crossed {
				t.Fatalf("failure %d: %+v", i, f)
			}
		}
		for i := 0; i < 3; i++ { // the status helper is read-only
			if f := h.fl(b.Failures(ctx, k, p)); f.Count != 2 || f.Blocked {
				t.Fatalf("status: %+v", f)
			}
		}
		c.Advance(50 * time.Second)
		f := h.fl(b.AddFailure(ctx, k, p))
		if f.Count != 3 || !f.Blocked || !f.Crossed || f.RetryAfter != time.Minute {
			t.Fatalf("crossing failure: %+v, want count 3, blocked, crossed, retry 1m (a full window from crossing)", f)
		}
		c.Advance(20 * time.Second) // past the first failure's window: still blocked
		f = h.fl(b.AddFailure(ctx, k, p))
		if f.Count != 4 || !f.Blocked || f.Crossed || f.RetryAfter != 40*time.Second {
			t.Fatalf("failure after crossing: %+v, want count 4, blocked, not crossed again, retry 40s (not extended)", f)
		}
		if f := h.fl(b.Failures(ctx, k, p)); !f.Blocked || f.RetryAfter != 40*time.Second || f.Crossed {
			t.Fatalf("status while blocked: %+v", f)
		}
		c.Advance(40 * time.Second)
		if f := h.fl(b.Failures(ctx, k, p)); f.Blocked || f.Count != 0 {
			t.Fatalf("status after the window: %+v", f)
		}
		for i := 1; i <= 3; i++ {
			f = h.fl(b.AddFailure(ctx, k, p))
		}
		if !f.Crossed {
			t.Fatalf("crossing in a new window not reported: %+v", f)
		}
	})

	t.Run("ResetFailures", func(t *testing.T) {
		b, _, k, h := setup(t)
		p := ratelimit.Policy{Name: "t.reset", Limit: 1, Window: time.Hour}
		if f := h.fl(b.AddFailure(ctx, k, p)); !f.Blocked {
			t.Fatalf("limit 1 not blocked after one failure: %+v", f)
		}
		if err := b.ResetFailures(ctx, k); err != nil {
			t.Fatal(err)
		}
		if f := h.fl(b.Failures(ctx, k, p)); f.Blocked || f.Count != 0 {
			t.Fatalf("after reset: %+v", f)
		}
	})

	t.Run("FirstDenialOncePerWindow", func(t *testing.T) {
		b, c, k, h := setup(t)
		p := ratelimit.Policy{Name: "t.first", Limit: 1, Window: time.Minute}
		if d := h.dec(b.Allow(ctx, k, p)); !d.Allowed || d.FirstDenied {
			t.Fatalf("first request: %+v", d)
		}
		for i := 0; i < 3; i++ { // a peek never takes the mark
			if d := h.dec(b.Peek(ctx, k, p)); d.Allowed || d.FirstDenied {
				t.Fatalf("peek when exhausted: %+v", d)
			}
		}
		firsts := 0
		for i := 0; i < 10; i++ {
			d := h.dec(b.Allow(ctx, k, p))
			if d.Allowed {
				t.Fatalf("denial %d allowed", i)
			}
			if d.FirstDenied {
				if i != 0 {
					t.Fatalf("denial %d reported first", i+1)
				}
				firsts++
			}
		}
		if firsts != 1 {
			t.Fatalf("%d first denials in a window, want 1", firsts)
		}
		c.Advance(59 * time.Second)
		if d := h.dec(b.Allow(ctx, k, p)); d.FirstDenied {
			t.Fatal("a denial within the window reported first again")
		}
		c.Advance(time.Second)
		if d := h.dec(b.Allow(ctx, k, p)); !d.Allowed {
			t.Fatalf("after the window: %+v", d)
		}
		if d := h.dec(b.Allow(ctx, k, p)); d.Allowed || !d.FirstDenied {
			t.Fatalf("first denial of the next window: %+v", d)
		}
	})

	t.Run("ConcurrentAllowIsExact", func(t *testing.T) {
		b, _, k, _ := setup(t)
		p := ratelimit.Policy{Name: "t.conc", Limit: 40, Window: time.Hour}
		var allowed, crossed atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					d, err := b.Allow(ctx, k, p)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						allowed.Add(1)
					}
					f, err := b.AddFailure(ctx, k, ratelimit.Policy{Name: "t.conc", Limit: 25, Window: time.Hour})
					if err != nil {
						t.Error(err)
						return
					}
					if f.Crossed {
						crossed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if allowed.Load() != 40 {
			t.Fatalf("%d of 80 concurrent requests allowed on a limit of 40", allowed.Load())
		}
		if crossed.Load() != 1 {
			t.Fatalf("ceiling crossing reported %d times, want once", crossed.Load())
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		b, _, k, _ := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.Allow(cctx, k, ratelimit.Policy{Name: "t.cancel", Limit: 1, Window: time.Minute}); err == nil {
			t.Fatal("a canceled context decided")
		}
	})
}

type helpers struct {
	dec func(ratelimit.Decision, error) ratelimit.Decision
	fl  func(ratelimit.Failures, error) ratelimit.Failures
}

func get[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
