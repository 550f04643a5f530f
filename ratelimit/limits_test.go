package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/ratelimit/ratelimittest"
)

func newLimits(t *testing.T, overrides string) (*ratelimit.Limits, *ratelimittest.Clock) {
	t.Helper()
	ps, err := ratelimit.ParsePolicies(overrides)
	if err != nil {
		t.Fatal(err)
	}
	c := ratelimittest.NewClock()
	return ratelimit.NewLimits(memory.New(memory.Options{Now: c.Now}), ps), c
}

func TestLimitsEnforceAndRecord(t *testing.T) {
	l, _ := newLimits(t, "token.ip=2/1m,token.account=5/1m")
	ctx, rec := ratelimit.NewContext(context.Background())
	if err := l.Enforce(ctx, ratelimit.TokenIP, "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if err := l.Enforce(ctx, ratelimit.TokenAccount, "email:a@example.com"); err != nil {
		t.Fatal(err)
	}
	ds := rec.Decisions()
	if len(ds) != 2 || ds[0].Policy.Name != ratelimit.TokenIP || ds[1].Policy.Name != ratelimit.TokenAccount {
		t.Fatalf("record %+v", ds)
	}
	l.Enforce(context.Background(), ratelimit.TokenIP, "198.51.100.7")
	err := l.Enforce(context.Background(), ratelimit.TokenIP, "198.51.100.7")
	if gatehouse.ErrorCode(err) != gatehouse.ERateLimited {
		t.Fatalf("third request: %v, want rate_limited", err)
	}
	if wait, ok := ratelimit.RetryAfterOf(err); !ok || wait != 30*time.Second {
		t.Fatalf("retry after %s %v, want 30s", wait, ok)
	}
	if gatehouse.ErrorMessage(err) == "" || errors.Unwrap(err) == nil {
		t.Fatalf("error %v lacks a safe message or cause", err)
	}
	// Another IP is not affected; the identity is hashed into the key.
	if err := l.Enforce(context.Background(), ratelimit.TokenIP, "198.51.100.8"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Allow(ctx, "no.such", "x"); err == nil {
		t.Fatal("an unknown policy name was accepted")
	}
}

func TestLimitsPeekIsReadOnly(t *testing.T) {
	l, _ := newLimits(t, "signup.ip=3/1h")
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		d, err := l.Peek(ctx, ratelimit.SignupIP, "203.0.113.1")
		if err != nil || d.Remaining != 3 {
			t.Fatalf("peek %d: %+v %v", i, d, err)
		}
	}
}

func TestLimitsBackendErrorRefuses(t *testing.T) {
	l, _ := newLimits(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Enforce(ctx, ratelimit.TokenIP, "x"); gatehouse.ErrorCode(err) != gatehouse.EUnavailable {
		t.Fatalf("backend failure: %v, want unavailable (never let everything through)", err)
	}
	fa := ratelimit.NewFailedAuth(l.Backend(), nil)
	if err := fa.Enforce(ctx, "198.51.100.9", "email:a@example.com"); gatehouse.ErrorCode(err) != gatehouse.EUnavailable {
		t.Fatalf("failed-auth backend failure: %v, want unavailable", err)
	}
}

func TestExceededIsCoalesced(t *testing.T) {
	l, c := newLimits(t, "token.ip=1/1m")
	var events []ratelimit.Decision
	l.OnExceeded = func(_ context.Context, d ratelimit.Decision) { events = append(events, d) }
	ctx := context.Background()
	for i := 0; i < 500; i++ {
		l.Allow(ctx, ratelimit.TokenIP, "198.51.100.7")
	}
	if len(events) != 1 || events[0].Allowed || events[0].Policy.Name != ratelimit.TokenIP {
		t.Fatalf("a flood of 499 denials gave %d events, want 1", len(events))
	}
	l.Allow(ctx, ratelimit.TokenIP, "198.51.100.9") // another key: allowed, no event
	l.Allow(ctx, ratelimit.TokenIP, "198.51.100.9") // denied: its own event
	if len(events) != 2 {
		t.Fatalf("a second key gave %d events in total, want 2", len(events))
	}
	c.Advance(time.Minute)
	for i := 0; i < 5; i++ {
		l.Allow(ctx, ratelimit.TokenIP, "198.51.100.7")
	}
	if len(events) != 3 {
		t.Fatalf("next window: %d events in total, want 3", len(events))
	}
}

func TestFailedAuth(t *testing.T) {
	ps, _ := ratelimit.ParsePolicies("failed_auth.ip=5/15m,failed_auth.account=3/15m")
	c := ratelimittest.NewClock()
	fa := ratelimit.NewFailedAuth(memory.New(memory.Options{Now: c.Now}), ps)
	ctx := context.Background()
	const ip, acct = "198.51.100.7", "email:victim@example.com"

	for i := 0; i < 1000; i++ { // the status helper never counts
		if v, err := fa.Check(ctx, ip, acct); err != nil || v.Blocked || v.IP.Count != 0 || v.Account.Count != 0 {
			t.Fatalf("check %d: %+v %v", i, v, err)
		}
	}
	crossedAt := map[string][]int{}
	for i := 0; i < 6; i++ {
		v, err := fa.Fail(ctx, ip, acct)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range v.Crossed {
			crossedAt[p.Name] = append(crossedAt[p.Name], i+1)
		}
		if want := i+1 >= 3; v.Blocked != want {
			t.Fatalf("failure %d: blocked %v, want %v", i+1, v.Blocked, want)
		}
	}
	if a, i := crossedAt[ratelimit.FailedAuthAccount], crossedAt[ratelimit.FailedAuthIP]; len(a) != 1 || a[0] != 3 || len(i) != 1 || i[0] != 5 {
		t.Fatalf("crossings %v, want the account ceiling at failure 3 and the IP ceiling at 5, once each", crossedAt)
	}
	// Correct credentials do not help: the check refuses before they are looked at.
	ctx2, rec := ratelimit.NewContext(ctx)
	err := fa.Enforce(ctx2, "203.0.113.50", acct) // another IP, same account
	if gatehouse.ErrorCode(err) != gatehouse.ERateLimited {
		t.Fatalf("blocked account from another IP: %v", err)
	}
	if wait, _ := ratelimit.RetryAfterOf(err); wait != 15*time.Minute {
		t.Fatalf("retry after %s, want 15m", wait)
	}
	if ra, denied := ratelimit.RetryAfter(rec.Decisions()); !denied || ra != "900" {
		t.Fatalf("Retry-After %q %v, want 900", ra, denied)
	}
	// The same IP, another account: the IP has 6 failures, over its ceiling of 5.
	if v, _ := fa.Check(ctx, ip, "email:other@example.com"); !v.Blocked || v.Account.Count != 0 {
		t.Fatalf("IP over its ceiling: %+v", v)
	}
	// An attempt that names no account (a bad PAT) counts per IP only.
	v, _ := fa.Fail(ctx, "203.0.113.77", "")
	if v.IP.Count != 1 || v.Account.Count != 0 {
		t.Fatalf("account-less failure: %+v", v)
	}
	c.Advance(15 * time.Minute)
	if err := fa.Enforce(ctx, ip, acct); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// An administrator's unlock.
	for i := 0; i < 3; i++ {
		fa.Fail(ctx, "", acct)
	}
	if err := fa.Reset(ctx, "", acct); err != nil {
		t.Fatal(err)
	}
	if err := fa.Enforce(ctx, ip, acct); err != nil {
		t.Fatalf("after reset: %v", err)
	}
}

func TestGCRAProperties(t *testing.T) {
	// Whatever the limit and window, a fresh key admits exactly Limit at once
	// and then one per interval.
	for _, p := range []ratelimit.Policy{
		{"a", 1, time.Second}, {"b", 7, time.Minute}, {"c", 1000, time.Hour}, {"d", 3, 10 * time.Second},
	} {
		now := int64(1_800_000_000_000_000)
		var tat, mark int64
		n := 0
		for {
			var d ratelimit.Decision
			tat, mark, d = ratelimit.GCRA(now, tat, mark, p, true)
			if !d.Allowed {
				if d.RetryAfter <= 0 || d.RetryAfter > time.Duration(ratelimit.Interval(p))*time.Microsecond {
					t.Fatalf("%s: retry after %s", p, d.RetryAfter)
				}
				if !d.FirstDenied || mark != now+p.Window.Microseconds() {
					t.Fatalf("%s: first denial not marked: %+v mark %d", p, d, mark)
				}
				break
			}
			n++
		}
		if n != p.Limit {
			t.Fatalf("%s: %d admitted at once, want %d", p, n, p.Limit)
		}
		now += ratelimit.Interval(p)
		if _, _, d := ratelimit.GCRA(now, tat, mark, p, true); !d.Allowed || d.FirstDenied {
			t.Fatalf("%s: not admitted one interval later", p)
		}
	}
}
