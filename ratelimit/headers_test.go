package ratelimit_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

func TestHeaderFields(t *testing.T) {
	ip := ratelimit.Policy{Name: "token.ip", Limit: 30, Window: time.Minute}
	acct := ratelimit.Policy{Name: "token.account", Limit: 10, Window: time.Minute}
	odd := ratelimit.Policy{Name: `we"ird\name` + "\n\xff", Limit: 1, Window: 1500 * time.Millisecond}
	tests := []struct {
		name               string
		ds                 []ratelimit.Decision
		policy, state, ret string
		denied             bool
	}{
		{name: "none"},
		{
			name:   "one allowed",
			ds:     []ratelimit.Decision{{Policy: ip, Allowed: true, Remaining: 29, ResetAfter: 2 * time.Second}},
			policy: `"token.ip";q=30;w=60`,
			state:  `"token.ip";r=29;t=2`,
		},
		{
			name:   "reset rounds up",
			ds:     []ratelimit.Decision{{Policy: ip, Allowed: true, Remaining: 3, ResetAfter: 1001 * time.Millisecond}},
			policy: `"token.ip";q=30;w=60`,
			state:  `"token.ip";r=3;t=2`,
		},
		{
			name: "two policies, one denied",
			ds: []ratelimit.Decision{
				{Policy: ip, Allowed: true, Remaining: 28, ResetAfter: 4 * time.Second},
				{Policy: acct, Allowed: false, Remaining: 0, ResetAfter: 60 * time.Second, RetryAfter: 5500 * time.Millisecond},
			},
			policy: `"token.ip";q=30;w=60, "token.account";q=10;w=60`,
			state:  `"token.ip";r=28;t=4, "token.account";r=0;t=60`,
			ret:    "6", denied: true,
		},
		{
			name: "longest wait wins, at least 1s",
			ds: []ratelimit.Decision{
				{Policy: ip, RetryAfter: 10 * time.Millisecond},
				{Policy: acct, RetryAfter: 0},
			},
			policy: `"token.ip";q=30;w=60, "token.account";q=10;w=60`,
			state:  `"token.ip";r=0;t=0, "token.account";r=0;t=0`,
			ret:    "1", denied: true,
		},
		{
			name: "same policy twice: last decision",
			ds: []ratelimit.Decision{
				{Policy: ip, Allowed: true, Remaining: 5},
				{Policy: ip, Allowed: true, Remaining: 4, ResetAfter: time.Second},
			},
			policy: `"token.ip";q=30;w=60`,
			state:  `"token.ip";r=4;t=1`,
		},
		{
			name:   "name escaped as sf-string, window rounded up",
			ds:     []ratelimit.Decision{{Policy: odd, Allowed: true, Remaining: -1}},
			policy: `"we\"ird\\name??";q=1;w=2`,
			state:  `"we\"ird\\name??";r=0;t=0`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ratelimit.PolicyField(tt.ds); got != tt.policy {
				t.Errorf("RateLimit-Policy = %s, want %s", got, tt.policy)
			}
			if got := ratelimit.StateField(tt.ds); got != tt.state {
				t.Errorf("RateLimit = %s, want %s", got, tt.state)
			}
			ret, denied := ratelimit.RetryAfter(tt.ds)
			if ret != tt.ret || denied != tt.denied {
				t.Errorf("Retry-After = %q %v, want %q %v", ret, denied, tt.ret, tt.denied)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{-time.Second, 0}, {0, 0}, {1, 1}, {time.Second, 1}, {time.Second + 1, 2}, {90 * time.Second, 90}} {
		if got := ratelimit.Seconds(tt.d); got != tt.want {
			t.Errorf("Seconds(%s) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
