// Package ratelimit is gatehouse's abuse resistance: named rate-limit policies
// decided with GCRA (the generic cell rate algorithm), failed-authentication
// ceilings per IP and per account, and the RateLimit header fields of the IETF
// httpapi draft. It holds the contract every backend implements (Backend) and
// the logic above it; the backends live in ratelimit/memory and ratelimit/redis.
//
// The package imports only the standard library and the root package, so that
// package auth may use it; no package outside ratelimit/ talks to Redis.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// KeyPrefix is the one prefix under which every rate-limit key lives in Redis.
// Tests add a per-run suffix to it so parallel runs never share state.
const KeyPrefix = "gatehouse:rl:"

// Policy is a named limit: at most Limit requests per Window for one key, with
// a burst of up to Limit at once (GCRA with burst tolerance Window - Window/Limit).
// For a failed-auth ceiling, Limit failures within Window block the key for a
// full Window from the failure that crossed it.
type Policy struct {
	Name   string // e.g. "token.ip"; part of the key and of the RateLimit-Policy field
	Limit  int
	Window time.Duration
}

// Validate reports whether p can be enforced.
func (p Policy) Validate() error {
	switch {
	case p.Name == "":
		return errors.New("ratelimit: policy without a name")
	case p.Limit < 1 || p.Limit > 1_000_000:
		return fmt.Errorf("ratelimit: policy %s: limit %d out of range 1..1000000", p.Name, p.Limit)
	case p.Window < time.Second || p.Window > 7*24*time.Hour:
		return fmt.Errorf("ratelimit: policy %s: window %s out of range 1s..168h", p.Name, p.Window)
	}
	return nil
}

// String formats p as in configuration: "name=limit/window".
func (p Policy) String() string { return fmt.Sprintf("%s=%d/%s", p.Name, p.Limit, fmtWindow(p.Window)) }

// Decision is the outcome of one rate-limit decision (or of a Peek).
type Decision struct {
	Policy     Policy
	Allowed    bool          // the request may proceed (Peek: the next one would)
	Remaining  int           // requests still allowed now, after this one
	ResetAfter time.Duration // until the full quota is available again
	RetryAfter time.Duration // when denied: until one request is allowed again
	// FirstDenied is set on the first denial of a key in a window (Allow
	// only): the caller records rate_limit.exceeded for it, and not for the
	// denials that follow, so a flood cannot flood the audit trail.
	FirstDenied bool
}

// Failures is the state of one failed-auth counter.
type Failures struct {
	Policy     Policy
	Count      int           // failures in the current window
	Blocked    bool          // Count reached Policy.Limit: refuse until the window ends
	Crossed    bool          // this very failure reached the ceiling (true once per window)
	RetryAfter time.Duration // when blocked: until the window ends
}

// Backend stores rate-limit state. Implementations: memory.Store (one
// process) and redis.Limiter (shared by every instance), and redis.Failover
// (Redis with a memory fallback). Keys are opaque strings built by this
// package; a backend keeps GCRA buckets and failure counters apart. Every
// call is one atomic step (in Redis, one round trip); a Batcher also takes
// several steps in one round trip (Batch).
type Backend interface {
	// Allow consumes one request from key's GCRA bucket under p.
	Allow(ctx context.Context, key string, p Policy) (Decision, error)
	// Peek reports key's bucket under p without consuming anything.
	Peek(ctx context.Context, key string, p Policy) (Decision, error)
	// AddFailure counts one failure against key's ceiling p.
	AddFailure(ctx context.Context, key string, p Policy) (Failures, error)
	// Failures reports key's failure count under p without changing it.
	Failures(ctx context.Context, key string, p Policy) (Failures, error)
	// ResetFailures forgets key's failures (an administrator's unlock).
	ResetFailures(ctx context.Context, key string) error
}

// Key returns the backend key for identity under the policy named name. The
// identity (an IP, an email, a client id, a token) is hashed, so keys are
// bounded in length and hold no address or secret in clear.
func Key(name, identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return name + ":" + base64.RawURLEncoding.EncodeToString(sum[:15])
}

// Micro converts t to unix microseconds, the unit backends compute in.
func Micro(t time.Time) int64 { return t.UnixMicro() }

// GCRA computes one decision from the stored theoretical arrival time tat
// and the end of the current denial mark (both unix µs; 0 when none) at now
// (unix µs). It returns the tat and mark to store (unchanged when consume is
// false) and the decision. A denial while no mark is live sets one for a
// window and reports FirstDenied. Both backends use it: memory directly,
// Redis as the same arithmetic in Lua. The algorithm: ITU-T I.371's GCRA as
// in https://brandur.org/rate-limiting.
func GCRA(now, tat, mark int64, p Policy, consume bool) (int64, int64, Decision) {
	win := p.Window.Microseconds()
	t := Interval(p)
	if tat < now {
		tat = now
	}
	newTat := tat + t
	allowAt := newTat - win
	if now < allowAt {
		d := FromGCRA(p, false, tat-now, allowAt-now)
		if consume && mark <= now {
			mark, d.FirstDenied = now+win, true
		}
		return tat, mark, d
	}
	if !consume {
		return tat, mark, FromGCRA(p, true, tat-now, 0)
	}
	return newTat, mark, FromGCRA(p, true, newTat-now, 0)
}

// Interval is p's emission interval in microseconds: Window/Limit, at least 1.
func Interval(p Policy) int64 {
	t := p.Window.Microseconds() / int64(p.Limit)
	if t < 1 {
		t = 1
	}
	return t
}

// FromGCRA builds a Decision from the raw figures a backend computed:
// resetUS is the stored tat minus now, retryUS the wait when denied.
func FromGCRA(p Policy, allowed bool, resetUS, retryUS int64) Decision {
	win := p.Window.Microseconds()
	rem := 0
	if resetUS < win {
		rem = int((win - resetUS) / Interval(p))
	}
	if rem > p.Limit {
		rem = p.Limit
	}
	if !allowed {
		rem = 0
	}
	if resetUS < 0 {
		resetUS = 0
	}
	return Decision{
		Policy:     p,
		Allowed:    allowed,
		Remaining:  rem,
		ResetAfter: time.Duration(resetUS) * time.Microsecond,
		RetryAfter: time.Duration(retryUS) * time.Microsecond,
	}
}

// CountFailure computes one failed-auth step from the stored count n and
// window end exp (unix µs; 0 when none) at now. add counts one failure. It
// returns the count and end to store and the state. When a failure reaches the
// ceiling the key is blocked for a full window from that failure; later
// failures in the window do not extend the block (an attacker cannot hold a
// victim's account locked for longer than one window per crossing).
func CountFailure(now int64, n int, exp int64, p Policy, add bool) (int, int64, Failures) {
	if exp <= now {
		n, exp = 0, now+p.Window.Microseconds()
	}
	crossed := false
	if add {
		n++
		if n == p.Limit {
			crossed = true
			exp = now + p.Window.Microseconds()
		}
	}
	return n, exp, FromCount(p, n, exp-now, crossed)
}

// FromCount builds Failures from the raw figures a backend computed.
func FromCount(p Policy, n int, leftUS int64, crossed bool) Failures {
	f := Failures{Policy: p, Count: n, Crossed: crossed}
	if n >= p.Limit {
		f.Blocked = true
		f.RetryAfter = time.Duration(leftUS) * time.Microsecond
	}
	return f
}

// ClientKey is the rate-limit identity of a client IP address as
// gatehouse.RequestInfo holds it: the IPv4 address, or the /64 network of an
// IPv6 address (one subscriber or host usually holds a whole /64, so keying
// by full address would let it rotate through 2^64 keys; RFC 6177, RFC
// 7721). A peer without an address (a unix socket) shares the one key
// "unknown"; a string that is not an address is its own key.
func ClientKey(ip string) string {
	if ip == "" {
		return "unknown"
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
