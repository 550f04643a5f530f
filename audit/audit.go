// Package audit redacts audit events and mirrors them to the structured log.
// Events are data (gatehouse.AuditEvent): package auth writes them to storage
// in the same transaction as the change they record, and calls Log once that
// transaction has committed.
//
// Redaction follows OWASP's Logging Cheat Sheet: no passwords, tokens, session
// ids in clear, no personal data beyond what the trail needs. IP addresses are
// cut to their network (/24 for IPv4, /48 for IPv6), user agents are cut short,
// email addresses are masked to their domain ("***@example.com", or "***" when
// what was typed is not an address with a DNS domain: see gatehouse.MaskEmail),
// and anything shaped like a secret is dropped.
package audit

import (
	"context"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
)

// Bounds on what one event may carry, so a hostile header or body cannot grow
// a record without limit.
const (
	MaxUserAgent   = 256 // bytes
	MaxDetailValue = 256 // bytes
	MaxDetails     = 16  // keys
	MaxField       = 200 // bytes of actor, target or request id
)

// Redacted replaces a value that must not be stored.
const Redacted = "[redacted]"

// CutIP returns the network address of ip's /24 (IPv4) or /48 (IPv6), e.g.
// "198.51.100.0", or "" when ip is not an address.
func CutIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.Addr().String()
}

// Clean returns s with control characters replaced by spaces, invalid UTF-8
// dropped, and cut to at most max bytes on a rune boundary.
func Clean(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// secretKeys are detail keys whose values are never stored.
var secretKeys = []string{"password", "secret", "token", "authorization", "cookie", "csrf", "code", "credential", "key"}

// Redact makes ev safe to store and log, in place.
func Redact(ev *gatehouse.AuditEvent) {
	ev.IP = CutIP(ev.IP)
	ev.UserAgent = Clean(ev.UserAgent, MaxUserAgent)
	ev.RequestID = Clean(ev.RequestID, MaxField)
	ev.Actor = redactValue(Clean(ev.Actor, MaxField))
	ev.Target = redactValue(Clean(ev.Target, MaxField))
	if len(ev.Details) == 0 {
		ev.Details = nil
		return
	}
	keys := make([]string, 0, len(ev.Details))
	for k := range ev.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, min(len(keys), MaxDetails))
	for _, k := range keys {
		if len(out) == MaxDetails {
			out["truncated"] = "true"
			break
		}
		v := ev.Details[k]
		ck := Clean(k, 64)
		if isSecretKey(ck) {
			out[ck] = Redacted
			continue
		}
		if (ck == "kid" || strings.HasSuffix(ck, "_kid")) && keyID(v) {
			out[ck] = v // a signing key's id is public (the JWKS lists it)
			continue
		}
		if lk := strings.ToLower(ck); lk == "email" || strings.HasSuffix(lk, "_email") {
			// What was typed into an email field may be anything, a
			// password included, with or without an @: only the domain of a
			// well-formed address is kept (gatehouse.MaskEmail).
			out[ck] = gatehouse.MaskEmail(v)
			continue
		}
		out[ck] = redactValue(Clean(v, MaxDetailValue))
	}
	ev.Details = out
}

func isSecretKey(k string) bool {
	lk := strings.ToLower(k)
	if strings.HasSuffix(lk, "_id") || lk == "kid" || lk == "key_id" || lk == "prefix" {
		return false // identifiers, not secrets
	}
	for _, s := range secretKeys {
		if strings.Contains(lk, s) {
			return true
		}
	}
	return false
}

// redactValue masks email addresses and drops anything shaped like a token:
// a PAT, a JWT, or a long run of base64/hex characters that is not a UUID.
// A value with an @ in it is taken for an address and masked: it keeps only
// the domain, when that is a DNS name (gatehouse.MaskEmail), so a password
// that holds an @ leaves nothing of itself.
func redactValue(v string) string {
	if strings.Contains(v, "@") {
		return gatehouse.MaskEmail(v)
	}
	if kid, ok := strings.CutPrefix(v, "key:"); ok && keyID(kid) {
		return v // a signing key's target: its id is public (the JWKS lists it)
	}
	if strings.Contains(v, "gth_") || strings.HasPrefix(v, "eyJ") {
		return Redacted
	}
	// Identifiers of the form "kind:uuid" or a bare uuid stay.
	id := v
	if i := strings.IndexByte(v, ':'); i >= 0 && i < 16 {
		id = v[i+1:]
	}
	if gatehouse.ValidID(id) {
		return v
	}
	if looksSecret(v) {
		return Redacted
	}
	return v
}

// keyID reports whether v has the form of a signing key's id (token.ValidKID):
// 1 to 64 base64url characters.
func keyID(v string) bool {
	if len(v) == 0 || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// looksSecret reports whether v contains a run of 24 or more characters from
// the base64url/hex alphabet: what random tokens and keys are made of, and
// what words and identifiers in this trail are not.
func looksSecret(v string) bool {
	run := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '+' || c == '/' || c == '=' {
			run++
			if run >= 24 {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

// Log writes ev as one JSON log line carrying "audit_event":"<type>". ev must
// already be redacted.
func Log(ctx context.Context, l *slog.Logger, ev *gatehouse.AuditEvent) {
	attrs := []slog.Attr{
		slog.String("audit_event", string(ev.Type)),
		slog.String("event_id", ev.ID),
		slog.Time("event_time", ev.Time),
		slog.String("outcome", string(ev.Outcome)),
		slog.String("actor", ev.Actor),
		slog.String("target", ev.Target),
		slog.String("workspace_id", ev.WorkspaceID),
		slog.String("ip", ev.IP),
		slog.String("user_agent", ev.UserAgent),
		slog.String("request_id", ev.RequestID),
	}
	if len(ev.Details) > 0 {
		keys := make([]string, 0, len(ev.Details))
		for k := range ev.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := make([]any, 0, len(keys))
		for _, k := range keys {
			d = append(d, slog.String(k, ev.Details[k]))
		}
		attrs = append(attrs, slog.Group("details", d...))
	}
	l.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}
