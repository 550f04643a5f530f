package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Limits applies the named policies of a table against a backend. Package
// httpapi calls it per IP before any work; package auth calls it per account,
// client or user once that is known, still before any password hashing,
// token look-up or write.
type Limits struct {
	backend  Backend
	policies Policies
	// OnExceeded, when set, is called for a denied decision at most once per
	// key per policy window (Decision.FirstDenied, kept with the bucket, so
	// across every instance sharing the backend and at no extra round trip),
	// to record rate_limit.exceeded without letting a flood flood the audit
	// trail.
	OnExceeded func(ctx context.Context, d Decision)
}

// NewLimits returns Limits over b with policies ps (nil: the defaults).
func NewLimits(b Backend, ps Policies) *Limits {
	if ps == nil {
		ps = DefaultPolicies()
	}
	return &Limits{backend: b, policies: ps}
}

// Policy returns the policy named name.
func (l *Limits) Policy(name string) (Policy, bool) {
	p, ok := l.policies[name]
	return p, ok
}

// Backend returns the backend the limits are kept in.
func (l *Limits) Backend() Backend { return l.backend }

// Allow consumes one request of identity under the policy named name and adds
// the decision to the request's Record (see NewContext). An unknown name is a
// programming error and is reported as one.
func (l *Limits) Allow(ctx context.Context, name, identity string) (Decision, error) {
	p, ok := l.policies[name]
	if !ok {
		return Decision{}, fmt.Errorf("ratelimit: unknown policy %q", name)
	}
	d, err := l.backend.Allow(ctx, Key(name, identity), p)
	return l.took(ctx, d, err)
}

// took adds the decision d the backend took (unless it failed with err) to
// the request's Record and calls OnExceeded on its first denial.
func (l *Limits) took(ctx context.Context, d Decision, err error) (Decision, error) {
	if err != nil {
		return Decision{}, err
	}
	FromContext(ctx).Add(d)
	if d.FirstDenied && l.OnExceeded != nil {
		l.OnExceeded(ctx, d)
	}
	return d, nil
}

// Peek reports identity's state under the policy named name without
// consuming anything (the read-only status helper).
func (l *Limits) Peek(ctx context.Context, name, identity string) (Decision, error) {
	p, ok := l.policies[name]
	if !ok {
		return Decision{}, fmt.Errorf("ratelimit: unknown policy %q", name)
	}
	return l.backend.Peek(ctx, Key(name, identity), p)
}

// Enforce is Allow for callers that only need a yes or no: it returns nil when
// the request may proceed, a rate_limited *gatehouse.Error (whose cause is an
// *ExceededError) when it may not, and an unavailable one when the backend
// failed, so that a broken limiter refuses rather than lets everything through.
func (l *Limits) Enforce(ctx context.Context, name, identity string) error {
	return enforced(l.Allow(ctx, name, identity))
}

// enforced is Enforce's answer for the decision d, or for the backend's err.
func enforced(d Decision, err error) error {
	if err != nil {
		return gatehouse.Wrap(gatehouse.EUnavailable, err, "rate limiter unavailable")
	}
	if !d.Allowed {
		return Exceeded(d)
	}
	return nil
}

// ExceededError is the cause of a rate_limited error: which policy refused,
// and for how long.
type ExceededError struct {
	Decision Decision
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("rate limit %s exceeded; retry after %s", e.Decision.Policy.Name, e.Decision.RetryAfter)
}

// Exceeded returns the rate_limited error for the denied decision d. Its
// safe message names the policy and the setting that changes it, so that a
// developer who hits a limit knows which one and where to raise it
// (docs/rate-limits.md); the policy's name and rate are public anyway
// (RateLimit-Policy).
func Exceeded(d Decision) error {
	msg := fmt.Sprintf("too many requests: the %s limit (%d per %s) is reached; retry in %s, or change it with %s (docs/rate-limits.md)",
		d.Policy.Name, d.Policy.Limit, gatehouse.FormatDuration(d.Policy.Window), gatehouse.FormatDuration(d.RetryAfter.Round(time.Second)), configVariableName)
	return gatehouse.Wrap(gatehouse.ERateLimited, &ExceededError{Decision: d}, msg)
}

// RetryAfterOf returns how long the caller should wait if err is (or wraps) an
// *ExceededError.
func RetryAfterOf(err error) (time.Duration, bool) {
	var e *ExceededError
	if errors.As(err, &e) {
		return e.Decision.RetryAfter, true
	}
	return 0, false
}
