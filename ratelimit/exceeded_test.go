package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// TestExceededNamesPolicyAndSetting: a 429's description says which policy
// refused and which setting changes it.
func TestExceededNamesPolicyAndSetting(t *testing.T) {
	err := Exceeded(Decision{Policy: Policy{Name: SignupIP, Limit: 10, Window: time.Hour}, RetryAfter: 90 * time.Second})
	msg := gatehouse.ErrorMessage(err)
	for _, want := range []string{"signup.ip", "10 per 1 hour", "GATEHOUSE_RATE_LIMITS"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if gatehouse.ErrorCode(err) != gatehouse.ERateLimited {
		t.Errorf("code %s", gatehouse.ErrorCode(err))
	}
}
