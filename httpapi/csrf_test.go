package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// testCSRFToken derives a session's token the way the contract says: an HMAC
// over the session id under a key from the master secret.
func testCSRFToken(sessionID string) string {
	m := hmac.New(sha256.New, []byte("test key derived from the master secret"))
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

type eventLog struct {
	mu  sync.Mutex
	evs []*gatehouse.AuditEvent
}

func (l *eventLog) Record(_ context.Context, ev *gatehouse.AuditEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
	return nil
}

func (l *eventLog) all() []*gatehouse.AuditEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*gatehouse.AuditEvent(nil), l.evs...)
}

func newTestCSRF(t testing.TB) (*CSRF, *eventLog) {
	t.Helper()
	evs := &eventLog{}
	g, err := NewCSRF(CSRFConfig{
		Token:  testCSRFToken,
		Record: evs.Record,
		Log:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, evs
}

func TestNewCSRFNeedsItsParts(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	rec := (&eventLog{}).Record
	for _, c := range []CSRFConfig{{Record: rec, Log: log}, {Token: testCSRFToken, Log: log}, {Token: testCSRFToken, Record: rec}} {
		if _, err := NewCSRF(c); err == nil {
			t.Errorf("NewCSRF(%+v) accepted", c)
		}
	}
}

func TestCSRFVerify(t *testing.T) {
	const sid = "0190b7a2-0000-7000-8000-000000000001"
	const other = "0190b7a2-0000-7000-8000-000000000002"
	g, evs := newTestCSRF(t)
	tests := []struct {
		name    string
		headers []string
		session string
		ok      bool
	}{
		{"right token", []string{testCSRFToken(sid)}, sid, true},
		{"another session's token", []string{testCSRFToken(other)}, sid, false},
		{"token with a byte changed", []string{"A" + testCSRFToken(sid)[1:]}, sid, false},
		{"prefix of the token", []string{testCSRFToken(sid)[:10]}, sid, false},
		{"no header", nil, sid, false},
		{"two headers", []string{testCSRFToken(sid), testCSRFToken(sid)}, sid, false},
		{"empty header", []string{""}, sid, false},
		{"oversized header", []string{strings.Repeat("a", 300)}, sid, false},
		{"unknown session", []string{testCSRFToken("")}, "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/v1/auth/logout", nil)
		for _, h := range tt.headers {
			r.Header.Add("X-CSRF-Token", h)
		}
		err := g.Verify(r, tt.session)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify = %v", tt.name, err)
		}
		if err != nil && (gatehouse.ErrorCode(err) != gatehouse.ECSRFFailed || !IsCSRFError(err)) {
			t.Errorf("%s: error %v is not csrf_failed", tt.name, err)
		}
		if err != nil && strings.Contains(gatehouse.ErrorMessage(err), tt.session) && tt.session != "" {
			t.Errorf("%s: message shows the session id", tt.name)
		}
	}
	if n := len(evs.all()); n != 0 {
		t.Fatalf("Verify recorded %d events; it must record nothing (Reject does)", n)
	}
	r := httptest.NewRequest("POST", "/v1/auth/logout", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Cookie", "__Host-gatehouse_refresh=refresh-secret-value")
	r = r.WithContext(gatehouse.NewContextWithRequestInfo(r.Context(),
		gatehouse.RequestInfo{RequestID: "req-1", IP: "198.51.100.0", UserAgent: "test"}))
	g.Reject(r, sid, g.Verify(r, sid))
	r.Header.Set("X-CSRF-Token", testCSRFToken(other))
	g.Reject(r, "", g.Verify(r, sid))
	got := evs.all()
	if len(got) != 2 {
		t.Fatalf("Reject recorded %d events", len(got))
	}
	ev := got[0]
	if ev.Type != gatehouse.EventCSRFRejected || ev.Outcome != gatehouse.OutcomeFailure || ev.Target != "session:"+sid ||
		ev.RequestID != "req-1" || ev.IP != "198.51.100.0" || ev.UserAgent != "test" ||
		ev.Details["reason"] != csrfMissing || ev.Details["path"] != "/v1/auth/logout" || ev.Details["origin"] != "https://app.example.com" {
		t.Errorf("event %+v", ev)
	}
	if got[1].Details["reason"] != csrfMismatch || got[1].Target != "" {
		t.Errorf("second event %+v", got[1])
	}
	for _, ev := range got {
		for _, v := range ev.Details {
			if strings.Contains(v, "refresh-secret-value") || strings.Contains(v, testCSRFToken(other)) {
				t.Errorf("event details carry a secret: %v", ev.Details)
			}
		}
	}
}

func BenchmarkCSRFVerify(b *testing.B) {
	g, _ := newTestCSRF(b)
	const sid = "0190b7a2-0000-7000-8000-000000000001"
	r := httptest.NewRequest("POST", "/v1/auth/refresh", nil)
	r.Header.Set("X-CSRF-Token", testCSRFToken(sid))
	for b.Loop() {
		if err := g.Verify(r, sid); err != nil {
			b.Fatal(err)
		}
	}
}
