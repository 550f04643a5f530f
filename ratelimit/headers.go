package ratelimit

import (
	"strconv"
	"strings"
	"time"
)

// The header field names of draft-ietf-httpapi-ratelimit-headers (-09 and
// later: structured-field lists, one item per quota policy) and RFC 9110.
const (
	HeaderPolicy     = "RateLimit-Policy"
	HeaderRateLimit  = "RateLimit"
	HeaderRetryAfter = "Retry-After"
)

// PolicyField formats the RateLimit-Policy field for ds: a structured-field
// List (RFC 8941) with one Item per policy, the policy name as an sf-string,
// q its quota and w its window in seconds, e.g.
//
//	"token.ip";q=30;w=60, "token.account";q=10;w=60
//
// A policy that appears twice is listed once (its last decision).
func PolicyField(ds []Decision) string {
	var b strings.Builder
	for i, d := range dedupe(ds) {
		if i > 0 {
			b.WriteString(", ")
		}
		writeSFString(&b, d.Policy.Name)
		b.WriteString(";q=")
		b.WriteString(strconv.Itoa(d.Policy.Limit))
		b.WriteString(";w=")
		b.WriteString(strconv.FormatInt(Seconds(d.Policy.Window), 10))
	}
	return b.String()
}

// StateField formats the RateLimit field for ds: one Item per policy, with r
// the requests still allowed and t the seconds until the quota is full again,
// e.g.
//
//	"token.ip";r=29;t=2, "token.account";r=0;t=60
func StateField(ds []Decision) string {
	var b strings.Builder
	for i, d := range dedupe(ds) {
		if i > 0 {
			b.WriteString(", ")
		}
		writeSFString(&b, d.Policy.Name)
		b.WriteString(";r=")
		b.WriteString(strconv.Itoa(max(d.Remaining, 0)))
		b.WriteString(";t=")
		b.WriteString(strconv.FormatInt(Seconds(d.ResetAfter), 10))
	}
	return b.String()
}

// RetryAfter returns the Retry-After value (RFC 9110 section 10.2.3, delay in
// seconds) for ds: the longest wait among the denied decisions, at least 1,
// and false when none was denied.
func RetryAfter(ds []Decision) (string, bool) {
	var wait time.Duration
	denied := false
	for _, d := range ds {
		if !d.Allowed {
			denied = true
			wait = max(wait, d.RetryAfter)
		}
	}
	if !denied {
		return "", false
	}
	return strconv.FormatInt(max(Seconds(wait), 1), 10), true
}

// Seconds rounds d up to whole seconds (a client that waits the advertised
// time must not arrive early); negative durations are 0.
func Seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

func dedupe(ds []Decision) []Decision {
	if len(ds) < 2 {
		return ds
	}
	out := make([]Decision, 0, len(ds))
	for _, d := range ds {
		replaced := false
		for i := range out {
			if out[i].Policy.Name == d.Policy.Name {
				out[i], replaced = d, true
			}
		}
		if !replaced {
			out = append(out, d)
		}
	}
	return out
}

// writeSFString writes s as an RFC 8941 sf-string: printable ASCII only, with
// `"` and `\` escaped; any other byte becomes "?".
func writeSFString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
