// Package ratelimittest is the conformance suite every ratelimit.Backend
// passes: the memory store and Redis run the same tests against the same
// expectations, with a clock the test controls.
package ratelimittest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
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
		p := ratelimit.Policy{Name: "t.cancel", Limit: 1, Window: time.Minute}
		if _, err := b.Allow(cctx, k, p); err == nil {
			t.Fatal("a canceled context decided")
		}
		out := ratelimit.Batch(cctx, b, []ratelimit.Step{{Op: ratelimit.OpAllow, Key: k, Policy: p}, {Op: ratelimit.OpFailures, Key: k, Policy: p}})
		for i, o := range out {
			if o.Err == nil {
				t.Fatalf("step %d of a batch decided on a canceled context: %+v", i, o)
			}
		}
	})

	// A batch (one round trip on a Batcher) decides exactly as the same
	// calls one after another: in order, each step seeing the ones before.
	t.Run("BatchIsTheCallsInOrder", func(t *testing.T) {
		b, _, k, _ := setup(t)
		p := ratelimit.Policy{Name: "t.batch", Limit: 2, Window: time.Minute}
		ops := []ratelimit.Op{
			ratelimit.OpAllow, ratelimit.OpPeek, ratelimit.OpAddFailure, ratelimit.OpFailures,
			ratelimit.OpAllow, ratelimit.OpAllow, ratelimit.OpAllow, ratelimit.OpPeek,
			ratelimit.OpAddFailure, ratelimit.OpAddFailure, ratelimit.OpFailures,
		}
		steps := func(k string) []ratelimit.Step {
			s := make([]ratelimit.Step, len(ops))
			for i, op := range ops {
				s[i] = ratelimit.Step{Op: op, Key: k, Policy: p}
			}
			return s
		}
		got := ratelimit.Batch(ctx, b, steps(k+"batch"))
		if len(got) != len(ops) {
			t.Fatalf("%d outcomes for %d steps", len(got), len(ops))
		}
		for i, o := range got {
			if o.Err != nil {
				t.Fatalf("step %d: %v", i, o.Err)
			}
		}
		want := []struct {
			allowed, first, blocked, crossed bool
			remaining, count                 int
		}{
			{allowed: true, remaining: 1}, {allowed: true, remaining: 1}, {count: 1}, {count: 1},
			{allowed: true, remaining: 0}, {first: true}, {}, {},
			{count: 2, blocked: true, crossed: true}, {count: 3, blocked: true}, {count: 3, blocked: true},
		}
		for i, w := range want {
			d, f := got[i].Decision, got[i].Failures
			switch ops[i] {
			case ratelimit.OpAllow, ratelimit.OpPeek:
				if d.Policy != p || d.Allowed != w.allowed || d.FirstDenied != w.first || d.Remaining != w.remaining {
					t.Fatalf("step %d (op %d): %+v, want allowed=%v first=%v remaining=%d", i, ops[i], d, w.allowed, w.first, w.remaining)
				}
			default:
				if f.Policy != p || f.Count != w.count || f.Blocked != w.blocked || f.Crossed != w.crossed {
					t.Fatalf("step %d (op %d): %+v, want count=%d blocked=%v crossed=%v", i, ops[i], f, w.count, w.blocked, w.crossed)
				}
			}
		}
		// The same steps one call at a time, on another key: the same outcomes.
		one := steps(k + "one")
		for i, s := range one {
			var o ratelimit.Outcome
			switch s.Op {
			case ratelimit.OpAllow:
				o.Decision, o.Err = b.Allow(ctx, s.Key, p)
			case ratelimit.OpPeek:
				o.Decision, o.Err = b.Peek(ctx, s.Key, p)
			case ratelimit.OpAddFailure:
				o.Failures, o.Err = b.AddFailure(ctx, s.Key, p)
			case ratelimit.OpFailures:
				o.Failures, o.Err = b.Failures(ctx, s.Key, p)
			}
			if o != got[i] {
				t.Fatalf("step %d: one call decided %+v, the batch %+v", i, o, got[i])
			}
		}
		// The batch's state stays: its Allow steps consumed, its failures count.
		if d, err := b.Peek(ctx, k+"batch", p); err != nil || d.Allowed {
			t.Fatalf("after the batch: %+v %v, want the bucket exhausted", d, err)
		}
		if f, err := b.Failures(ctx, k+"batch", p); err != nil || f.Count != 3 {
			t.Fatalf("after the batch: %+v %v, want 3 failures", f, err)
		}
		if out := ratelimit.Batch(ctx, b, nil); len(out) != 0 {
			t.Fatalf("an empty batch: %+v", out)
		}
	})

	t.Run("EnforceAttempt", func(t *testing.T) {
		b, c, k, _ := setup(t)
		enforceAttempt(t, b, c, k)
	})
}

// enforceAttempt checks that ratelimit.EnforceAttempt answers, records and
// reports exactly as Limits.Enforce followed by FailedAuth.Enforce (what
// package auth's guard did before it took both in one round trip), on two
// parallel sets of keys of b: the policy's request is consumed even when a
// ceiling then refuses, the policy's refusal wins over a ceiling's and then
// records nothing of the ceilings, and rate_limit.exceeded is reported once.
func enforceAttempt(t *testing.T, b ratelimit.Backend, c *Clock, k string) {
	ps, err := ratelimit.ParsePolicies("token.account=3/1m, failed_auth.ip=2/15m, failed_auth.account=4/15m")
	if err != nil {
		t.Fatal(err)
	}
	type world struct {
		ip, account, identity string
		limits                *ratelimit.Limits
		failed                *ratelimit.FailedAuth
		events                []ratelimit.Decision
		enforce               func(ctx context.Context) error
	}
	newWorld := func(name string) *world {
		w := &world{ip: k + name + "ip", account: "client:" + k + name, identity: k + name,
			limits: ratelimit.NewLimits(b, ps), failed: ratelimit.NewFailedAuth(b, ps)}
		w.limits.OnExceeded = func(_ context.Context, d ratelimit.Decision) { w.events = append(w.events, d) }
		return w
	}
	seq, batch := newWorld("seq"), newWorld("batch")
	seq.enforce = func(ctx context.Context) error {
		if err := seq.limits.Enforce(ctx, ratelimit.TokenAccount, seq.identity); err != nil {
			return err
		}
		return seq.failed.Enforce(ctx, seq.ip, seq.account)
	}
	batch.enforce = func(ctx context.Context) error {
		return ratelimit.EnforceAttempt(ctx, batch.limits, ratelimit.TokenAccount, batch.identity, batch.failed, batch.ip, batch.account)
	}
	refusedBy := func(err error) string {
		var e *ratelimit.ExceededError
		if errors.As(err, &e) {
			return e.Decision.Policy.Name
		}
		return ""
	}
	// attempt runs one attempt in both worlds: refused by the policy named
	// want ("" for none), with the decisions named recorded, the same in both.
	attempt := func(what, want string, recorded ...string) {
		t.Helper()
		var errs [2]error
		var recs [2][]ratelimit.Decision
		for i, w := range []*world{seq, batch} {
			ctx, rec := ratelimit.NewContext(context.Background())
			errs[i] = w.enforce(ctx)
			recs[i] = rec.Decisions()
		}
		if got := refusedBy(errs[1]); got != want || (errs[1] == nil) != (want == "") {
			t.Fatalf("%s: %v, want refused by %q", what, errs[1], want)
		}
		if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && (errs[0].Error() != errs[1].Error() ||
			gatehouse.ErrorCode(errs[0]) != gatehouse.ErrorCode(errs[1]) || gatehouse.ErrorMessage(errs[0]) != gatehouse.ErrorMessage(errs[1])) {
			t.Fatalf("%s: one after another %v, in one batch %v", what, errs[0], errs[1])
		}
		if !slices.Equal(recs[0], recs[1]) {
			t.Fatalf("%s: one after another recorded %+v, in one batch %+v", what, recs[0], recs[1])
		}
		var names []string
		for _, d := range recs[1] {
			names = append(names, d.Policy.Name)
		}
		if !slices.Equal(names, recorded) {
			t.Fatalf("%s: recorded %q, want %q", what, names, recorded)
		}
		if !slices.Equal(seq.events, batch.events) {
			t.Fatalf("%s: rate_limit.exceeded one after another %+v, in one batch %+v", what, seq.events, batch.events)
		}
	}
	fail := func() {
		t.Helper()
		for _, w := range []*world{seq, batch} {
			if _, err := w.failed.Fail(context.Background(), w.ip, w.account); err != nil {
				t.Fatal(err)
			}
		}
	}
	const policy, ipCeiling = ratelimit.TokenAccount, ratelimit.FailedAuthIP
	attempt("first attempt", "", policy)
	attempt("second attempt", "", policy)
	fail()
	fail() // the IP's ceiling (2) is reached
	attempt("the policy allows, the IP's ceiling refuses", ipCeiling, policy, ipCeiling)
	if d, err := batch.limits.Peek(context.Background(), policy, batch.identity); err != nil || d.Allowed {
		t.Fatalf("the request a ceiling refused was not consumed: %+v %v", d, err)
	}
	attempt("both refuse: the policy's refusal wins", policy, policy)
	if len(batch.events) != 1 || batch.events[0].Policy.Name != policy || !batch.events[0].FirstDenied {
		t.Fatalf("rate_limit.exceeded reported %+v, want once for %s", batch.events, policy)
	}
	attempt("both refuse again", policy, policy)
	if len(batch.events) != 1 {
		t.Fatalf("rate_limit.exceeded reported %d times in one window, want once", len(batch.events))
	}
	c.Advance(20 * time.Second) // one request of token.account comes back
	attempt("the policy allows again, the IP's ceiling still refuses", ipCeiling, policy, ipCeiling)
	attempt("and the request it took is gone", policy, policy)
	c.Advance(15 * time.Minute)
	attempt("after the windows", "", policy)
	fail()
	fail() // the IP's ceiling: blocked for 15 minutes
	c.Advance(time.Minute)
	fail()
	fail() // the account's: blocked for 15 minutes, one minute longer
	attempt("both ceilings reached: the longer block is reported", ratelimit.FailedAuthAccount, policy, ratelimit.FailedAuthAccount)
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
