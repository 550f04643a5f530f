package ratelimit

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// FailedAuth tracks failed authentication per client IP and per account, with
// one ceiling each (OWASP Authentication Cheat Sheet, "Protect against
// automated attacks"). Only failures count: callers call Fail after a wrong
// password, a bad PAT, a bad client secret or a bad magic-link token, and never
// on a success. Check comes first, before any hashing or look-up: once a
// ceiling is reached it refuses, with a retry-after, until the window passes,
// even when the credentials would be right.
//
// account is what the credentials claim to be: "email:<address>" for a
// password (the address trimmed and lower-cased), "client:<id>" for a client
// secret; empty when the attempt names no account (a bad PAT, a bad
// magic-link token), which then counts per IP only. "device:<nonce>" is a
// browser's device cookie (OWASP "Slow Down Online Guessing Attacks with
// Device Cookies"): it stands in for the account it vouches for and meets the
// failed_auth.device ceiling instead of failed_auth.account.
type FailedAuth struct {
	backend    Backend
	perIP      Policy
	perAccount Policy
	perDevice  Policy
}

// NewFailedAuth returns a tracker over b with the failed_auth.ip and
// failed_auth.account ceilings of ps (nil: the defaults).
func NewFailedAuth(b Backend, ps Policies) *FailedAuth {
	if ps == nil {
		ps = DefaultPolicies()
	}
	return &FailedAuth{backend: b, perIP: ps[FailedAuthIP], perAccount: ps[FailedAuthAccount], perDevice: ps[FailedAuthDevice]}
}

// DevicePrefix starts the account of a device cookie's failures.
const DevicePrefix = "device:"

// accountPolicy is the ceiling account meets.
func (fa *FailedAuth) accountPolicy(account string) Policy {
	if strings.HasPrefix(account, DevicePrefix) {
		return fa.perDevice
	}
	return fa.perAccount
}

// Verdict is the failed-auth state of one attempt's IP and account.
type Verdict struct {
	IP, Account Failures // zero when that part was not given
	Blocked     bool     // a ceiling is reached: refuse with 429
	RetryAfter  time.Duration
	// Crossed lists the ceilings this very failure reached (Fail only). Each is
	// reported once per window: the caller records failed_auth.ceiling_reached
	// for each.
	Crossed []Policy
}

// Decision returns v as a denied Decision for the response headers and the
// rate_limited error (the ceiling that blocks longest).
func (v Verdict) Decision() Decision {
	f := v.IP
	if v.Account.Blocked && (!f.Blocked || v.Account.RetryAfter > f.RetryAfter) {
		f = v.Account
	}
	return Decision{Policy: f.Policy, Allowed: !v.Blocked, ResetAfter: f.RetryAfter, RetryAfter: f.RetryAfter}
}

// Check reports the state of ip and account without counting anything (the
// read-only status helper).
func (fa *FailedAuth) Check(ctx context.Context, ip, account string) (Verdict, error) {
	return fa.do(ctx, ip, account, false)
}

// Fail counts one failed attempt against ip and account.
func (fa *FailedAuth) Fail(ctx context.Context, ip, account string) (Verdict, error) {
	return fa.do(ctx, ip, account, true)
}

// Enforce is Check for callers that need a yes or no: nil, or a rate_limited
// error carrying the retry-after (its decision is added to the request's
// Record so the response carries Retry-After), or, as Limits.Enforce, an
// unavailable one when the backend failed.
func (fa *FailedAuth) Enforce(ctx context.Context, ip, account string) error {
	v, err := fa.Check(ctx, ip, account)
	return enforceVerdict(ctx, v, err)
}

// enforceVerdict is Enforce's answer for the verdict v, or for the backend's
// err.
func enforceVerdict(ctx context.Context, v Verdict, err error) error {
	if err != nil {
		return gatehouse.Wrap(gatehouse.EUnavailable, err, "rate limiter unavailable")
	}
	if v.Blocked {
		d := v.Decision()
		FromContext(ctx).Add(d)
		return Exceeded(d)
	}
	return nil
}

// Reset forgets the failures of ip and account (either may be empty), for an
// administrator who lifts a block. The keys are those the guard counts
// under: ip is the client key (ClientKey: an IPv4 address, or an IPv6
// address's /64 as "2001:db8::/64"), account "email:<address>" with the
// address trimmed and lower-cased, "client:<id>" or "device:<nonce>".
// `gatehouse limits reset` builds them as the guard does (auth.EmailAccount, ClientKey).
func (fa *FailedAuth) Reset(ctx context.Context, ip, account string) error {
	if ip != "" {
		if err := fa.backend.ResetFailures(ctx, Key(FailedAuthIP, ip)); err != nil {
			return err
		}
	}
	if account != "" {
		return fa.backend.ResetFailures(ctx, Key(fa.accountPolicy(account).Name, account))
	}
	return nil
}

func (fa *FailedAuth) do(ctx context.Context, ip, account string, add bool) (Verdict, error) {
	op := OpFailures
	if add {
		op = OpAddFailure
	}
	return fa.verdict(ip, account, Batch(ctx, fa.backend, fa.steps(ip, account, op)))
}

// steps are the steps that take op (OpFailures or OpAddFailure) on the
// ceilings of ip and of account, each skipped when empty: one round trip for
// both on a Batcher.
func (fa *FailedAuth) steps(ip, account string, op Op) []Step {
	steps := make([]Step, 0, 2)
	if ip != "" {
		steps = append(steps, Step{Op: op, Key: Key(fa.perIP.Name, ip), Policy: fa.perIP})
	}
	if account != "" {
		p := fa.accountPolicy(account)
		steps = append(steps, Step{Op: op, Key: Key(p.Name, account), Policy: p})
	}
	return steps
}

// verdict is the Verdict of the outcomes of steps(ip, account, …), or the
// first step's error.
func (fa *FailedAuth) verdict(ip, account string, out []Outcome) (Verdict, error) {
	for _, o := range out {
		if o.Err != nil {
			return Verdict{}, o.Err
		}
	}
	var v Verdict
	if ip != "" {
		v.IP, out = out[0].Failures, out[1:]
	}
	if account != "" {
		v.Account = out[0].Failures
	}
	for _, f := range []Failures{v.IP, v.Account} {
		if f.Crossed {
			v.Crossed = append(v.Crossed, f.Policy)
		}
		if f.Blocked {
			v.Blocked = true
			v.RetryAfter = max(v.RetryAfter, f.RetryAfter)
		}
	}
	return v, nil
}
