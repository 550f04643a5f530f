package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// RFC 4226 Appendix D: HOTP values of the secret "12345678901234567890"
// for counters 0 to 9.
func TestHOTPRFC4226Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := formatCode(hotp(key, uint64(i), 6), 6); got != w {
			t.Errorf("counter %d: %s, want %s", i, got, w)
		}
	}
}

// RFC 6238 Appendix B, the SHA-1 rows (8 digits, 30-second steps).
func TestTOTPRFC6238Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		step := totpStep(time.Unix(v.unix, 0))
		if got := formatCode(hotp(key, uint64(step), 8), 8); got != v.code {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.code)
		}
		// The 6-digit code is the same truncation modulo 10^6.
		if s, ok := checkTOTP(key, v.code[2:], time.Unix(v.unix, 0)); !ok || s != step {
			t.Errorf("T=%d: 6-digit code not accepted", v.unix)
		}
	}
}

// With the real clock, a code from an independent implementation
// (pquerna/otp) is accepted now, a step before and a step after, and not
// two steps away.
func TestTOTPRealClock(t *testing.T) {
	key := make([]byte, totpKeySize)
	rand.Read(key)
	secret := totpB32.EncodeToString(key)
	now := time.Now()
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		code, err := totp.GenerateCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := checkTOTP(key, code, now); !ok {
			t.Errorf("a code %v away is refused", d)
		}
	}
	far, _ := totp.GenerateCode(secret, now.Add(-90*time.Second))
	near := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, _ := totp.GenerateCode(secret, now.Add(d))
		near[c] = true
	}
	if _, ok := checkTOTP(key, far, now); ok && !near[far] {
		t.Error("a code three steps old is accepted")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := checkTOTP(key, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// BenchmarkTOTPVerify against BenchmarkBareHMACSHA1: a TOTP check is three
// HMAC-SHA-1 (one per step of the window) and their comparisons.
func BenchmarkTOTPVerify(b *testing.B) {
	key := make([]byte, totpKeySize)
	rand.Read(key)
	now := time.Now()
	code := totpCode(key, totpStep(now)+1)
	for b.Loop() {
		checkTOTP(key, code, now)
	}
}

func BenchmarkBareHMACSHA1(b *testing.B) {
	key := make([]byte, totpKeySize)
	rand.Read(key)
	msg := make([]byte, 8)
	for b.Loop() {
		m := hmac.New(sha1.New, key)
		m.Write(msg)
		m.Sum(nil)
	}
}
