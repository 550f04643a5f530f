package audit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func TestCutIP(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"198.51.100.77", "198.51.100.0"},
		{"203.0.113.255", "203.0.113.0"},
		{"::ffff:198.51.100.77", "198.51.100.0"},
		{"2001:db8:abcd:1234:5678::1", "2001:db8:abcd::"},
		{"fe80::1%eth0", "fe80::"},
		{"", ""},
		{"not-an-ip", ""},
		{"198.51.100.77:443", ""},
	} {
		if got := CutIP(tc.in); got != tc.want {
			t.Errorf("CutIP(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// secrets are values that must never reach the trail.
var secrets = []string{
	"hunter2-correct-horse-battery",
	"gth_4Vq1xYk2Jf8sP0aT3mN7bC9dE5gH6iJ1kL2mN3oP4qRabc123",
	"eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
	"dGhpcyBpcyBhIHJlZnJlc2ggdG9rZW4gdmFsdWU",
	"jane.doe@example.com",
}

func secretEvent() *gatehouse.AuditEvent {
	return &gatehouse.AuditEvent{
		ID:        gatehouse.NewID(time.Unix(1700000000, 0)),
		Type:      gatehouse.EventLoginFailed,
		Outcome:   gatehouse.OutcomeFailure,
		Actor:     "jane.doe@example.com",
		Target:    "session:gth_4Vq1xYk2Jf8sP0aT3mN7bC9dE5gH6iJ1kL2mN3oP4qRabc123",
		IP:        "2001:db8:abcd:1234::9",
		UserAgent: "curl/8\r\n{\"audit_event\":\"forged\"}" + strings.Repeat("A", 64<<10),
		Details: map[string]string{
			"password":      "hunter2-correct-horse-battery",
			"refresh_token": "dGhpcyBpcyBhIHJlZnJlc2ggdG9rZW4gdmFsdWU",
			"note":          "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
			"email":         "jane.doe@example.com",
			"user_id":       "0191e8a0-0000-7000-8000-000000000001",
			"reason":        "wrong password",
		},
	}
}

func TestRedactRemovesSecrets(t *testing.T) {
	ev := secretEvent()
	Redact(ev)
	var buf bytes.Buffer
	Log(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), ev)
	line := buf.String()
	for _, s := range secrets {
		if strings.Contains(line, s) {
			t.Errorf("log line carries secret %q: %s", s, line)
		}
		for k, v := range ev.Details {
			if strings.Contains(v, s) {
				t.Errorf("detail %s carries secret %q", k, s)
			}
		}
	}
	if strings.Count(line, "\n") != 1 || strings.Count(line, `"audit_event"`) != 1 {
		t.Errorf("want exactly one line with one audit_event key, got %q", line[:min(len(line), 400)])
	}
	if !strings.Contains(line, `"audit_event":"login.failed"`) {
		t.Errorf("log line lacks the audit_event key: %.300s", line)
	}
	if len(ev.UserAgent) > MaxUserAgent || strings.ContainsAny(ev.UserAgent, "\r\n") {
		t.Errorf("user agent not cut or cleaned: %d bytes", len(ev.UserAgent))
	}
	if ev.IP != "2001:db8:abcd::" {
		t.Errorf("IP = %q", ev.IP)
	}
	if ev.Details["user_id"] != "0191e8a0-0000-7000-8000-000000000001" || ev.Details["reason"] != "wrong password" {
		t.Errorf("harmless details were lost: %v", ev.Details)
	}
	if ev.Details["email"] != "***@example.com" || ev.Actor != "***@example.com" {
		t.Errorf("email not masked: %v %q", ev.Details, ev.Actor)
	}
}

func TestRedactBoundsDetails(t *testing.T) {
	d := map[string]string{}
	for i := 0; i < 100; i++ {
		d[strings.Repeat("k", i+1)] = strings.Repeat("v ", 1000)
	}
	ev := &gatehouse.AuditEvent{Details: d}
	Redact(ev)
	if len(ev.Details) > MaxDetails+1 {
		t.Fatalf("%d details kept", len(ev.Details))
	}
	for k, v := range ev.Details {
		if len(v) > MaxDetailValue || len(k) > 64 {
			t.Fatalf("detail %q not cut: %d bytes", k[:8], len(v))
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("198.51.100.7", "Mozilla/5.0", "k", "v")
	f.Add("::1", "\r\n", "password", "gth_x")
	f.Fuzz(func(t *testing.T, ip, ua, k, v string) {
		ev := &gatehouse.AuditEvent{IP: ip, UserAgent: ua, Details: map[string]string{k: v}}
		Redact(ev)
		if len(ev.UserAgent) > MaxUserAgent || strings.ContainsAny(ev.UserAgent, "\r\n") {
			t.Fatalf("bad user agent %q", ev.UserAgent)
		}
		for _, v := range ev.Details {
			if len(v) > MaxDetailValue {
				t.Fatal("detail too long")
			}
		}
	})
}

// A signing key's id is public (the JWKS lists it); key.rotated and
// key.revoked must still say which key, though a kid looks like a token.
func TestRedactKeepsKeyIDs(t *testing.T) {
	kid := "WcvjO3vrd2rO4enVxz7S1u2HiR5XbGd1yGx1dwElwj4"
	ev := &gatehouse.AuditEvent{Type: gatehouse.EventKeyRevoked, Target: "key:" + kid,
		Details: map[string]string{"kid": kid, "previous_kid": kid, "token": kid, "note": kid}}
	Redact(ev)
	if ev.Target != "key:"+kid || ev.Details["kid"] != kid || ev.Details["previous_kid"] != kid {
		t.Errorf("key ids redacted: target %q, details %v", ev.Target, ev.Details)
	}
	if ev.Details["token"] != Redacted || ev.Details["note"] != Redacted {
		t.Errorf("token-shaped values under other keys kept: %v", ev.Details)
	}
}

// TestRedactPasswordTypedAsEmail: a value typed into an email field that is
// a password keeps nothing of itself in the stored event, with an @ or
// without, under an email key or anywhere else; a well-formed address keeps
// its domain only.
func TestRedactPasswordTypedAsEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hunter2@home", "***"},
		{"H@ppyDays2024!", "***"},
		{"correct horse battery staple", "***"},
		{"Summer2024", "***"},
		{"P@ss.w0rd", "***"},
		{"jane.doe@Example.com", "***@example.com"},
	} {
		ev := &gatehouse.AuditEvent{Details: map[string]string{"email": tc.in, "new_email": tc.in, "submitted_Email": tc.in}}
		if strings.Contains(tc.in, "@") {
			ev.Actor, ev.Target = tc.in, tc.in
		}
		Redact(ev)
		for k, v := range ev.Details {
			if v != tc.want {
				t.Errorf("%q under %s: stored %q, want %q", tc.in, k, v, tc.want)
			}
		}

		if strings.Contains(tc.in, "@") && (ev.Actor != tc.want || ev.Target != tc.want) {
			t.Errorf("%q as actor/target: %q, %q; want %q", tc.in, ev.Actor, ev.Target, tc.want)
		}
		var buf bytes.Buffer
		Log(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), ev)
		local, _, _ := strings.Cut(tc.in, "@")
		for _, part := range strings.Fields(local) {
			if len(part) > 1 && strings.Contains(buf.String(), part) {
				t.Errorf("log line holds %q of %q: %s", part, tc.in, buf.String())
			}
		}
	}
}

// TestRedactKeepsOtherEmailKeys: only a detail named email or *_email holds
// an address; email_verified is a flag and stays.
func TestRedactKeepsOtherEmailKeys(t *testing.T) {
	ev := &gatehouse.AuditEvent{Details: map[string]string{"email_verified": "true"}}
	Redact(ev)
	if ev.Details["email_verified"] != "true" {
		t.Errorf("email_verified masked: %v", ev.Details)
	}
}
