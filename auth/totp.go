package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"time"
)

// TOTP (RFC 6238) over HOTP (RFC 4226): HMAC-SHA-1, 6 digits, 30-second
// steps from the Unix epoch, one step of drift either way. A code is
// accepted once: the factor keeps the last step accepted, and only a later
// step is (sqlstore's UseTOTPStep moves it forward in one statement).
const (
	totpDigits  = 6
	totpPeriod  = 30
	totpDrift   = 1
	totpKeySize = 20 // 160 bits, RFC 4226 section 4 R6 recommends it
)

var totpB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// hotp is RFC 4226 section 5.3: HMAC-SHA-1 of the counter, dynamic
// truncation, modulo 10^digits.
func hotp(key []byte, counter uint64, digits int) uint32 {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return bin % mod
}

// formatCode writes v with leading zeros to digits places.
func formatCode(v uint32, digits int) string {
	b := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b)
}

// totpStep is the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// totpCode is the code of key at step.
func totpCode(key []byte, step int64) string {
	return formatCode(hotp(key, uint64(step), totpDigits), totpDigits)
}

// checkTOTP returns the step code matches at now (±totpDrift), comparing
// each candidate in constant time; ok false when none does.
func checkTOTP(key []byte, code string, now time.Time) (step int64, ok bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	cur := totpStep(now)
	for d := int64(-totpDrift); d <= totpDrift; d++ {
		if subtle.ConstantTimeCompare([]byte(totpCode(key, cur+d)), []byte(code)) == 1 && !ok {
			step, ok = cur+d, true
		}
	}
	return step, ok
}

// otpauthURI is the Key Uri Format authenticator apps read
// (github.com/google/google-authenticator/wiki/Key-Uri-Format).
func otpauthURI(issuer, account, secret string) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	q := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + label + "?" + q.Encode()
}
