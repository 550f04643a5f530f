package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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

func newTestCSRF(t testing.TB, cfg CookieConfig) (*CSRF, *eventLog) {
	t.Helper()
	evs := &eventLog{}
	g, err := NewCSRF(CSRFConfig{
		Cookies:        cfg,
		Token:          testCSRFToken,
		Record:         evs.Record,
		TrustedOrigins: []string{"http://localhost:5173", "https://app.example.com"},
		Log:            slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, evs
}

func TestNewCSRFRefusesBadOrigins(t *testing.T) {
	for _, o := range []string{"app.example.com", "https://app.example.com/path", "*"} {
		_, err := NewCSRF(CSRFConfig{Token: testCSRFToken, Record: (&eventLog{}).Record,
			Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), TrustedOrigins: []string{o}})
		if err == nil {
			t.Errorf("origin %q accepted", o)
		}
	}
}

func TestCSRFMiddleware(t *testing.T) {
	const sid = "0190b7a2-0000-7000-8000-000000000001"
	good := testCSRFToken(sid)
	cookie := "__Host-gatehouse_refresh=refresh-secret-value; __Host-gatehouse_csrf=" + good
	tests := []struct {
		name    string
		method  string
		ct      string
		body    string
		headers map[string]string
		cookie  string
		pass    bool
		reason  string
	}{
		{"no cookie passes (body mode)", "POST", "application/json", `{"refresh_token":"x"}`, nil, "", true, ""},
		{"cookie + JSON + header, same origin", "POST", "application/json", `{}`,
			map[string]string{"X-CSRF-Token": good, "Sec-Fetch-Site": "same-origin", "Origin": "http://gatehouse.test"}, cookie, true, ""},
		{"cookie + JSON + header, trusted cross origin", "POST", "application/json; charset=utf-8", `{}`,
			map[string]string{"X-CSRF-Token": good, "Sec-Fetch-Site": "same-site", "Origin": "http://localhost:5173"}, cookie, true, ""},
		{"no body, no content type", "POST", "", "",
			map[string]string{"X-CSRF-Token": good}, cookie, true, ""},
		{"missing header", "POST", "application/json", `{}`, nil, cookie, false, csrfMissing},
		{"empty header", "POST", "application/json", `{}`, map[string]string{"X-CSRF-Token": ""}, cookie, false, csrfMissing},
		{"oversized header", "POST", "application/json", `{}`, map[string]string{"X-CSRF-Token": strings.Repeat("a", 300)}, cookie, false, csrfMissing},
		{"form-encoded POST with the cookie", "POST", "application/x-www-form-urlencoded", "a=b",
			map[string]string{"X-CSRF-Token": good}, cookie, false, csrfNotJSON},
		{"text/plain POST with the cookie", "POST", "text/plain", `{}`,
			map[string]string{"X-CSRF-Token": good}, cookie, false, csrfNotJSON},
		{"multipart POST with the cookie", "POST", "multipart/form-data; boundary=x", "--x--",
			map[string]string{"X-CSRF-Token": good}, cookie, false, csrfNotJSON},
		{"state change through GET", "GET", "", "", map[string]string{"X-CSRF-Token": good}, cookie, false, csrfSafeMethod},
		{"HEAD", "HEAD", "", "", map[string]string{"X-CSRF-Token": good}, cookie, false, csrfSafeMethod},
		{"cross-site from an untrusted origin", "POST", "application/json", `{}`,
			map[string]string{"X-CSRF-Token": good, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, cookie, false, csrfCrossOrigin},
		{"old browser, Origin not Host", "POST", "application/json", `{}`,
			map[string]string{"X-CSRF-Token": good, "Origin": "https://evil.example"}, cookie, false, csrfCrossOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, evs := newTestCSRF(t, CookieConfig{RefreshTTL: time.Hour})
			reached := 0
			h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached++
				w.WriteHeader(http.StatusNoContent)
			}))
			r := httptest.NewRequest(tt.method, "http://gatehouse.test/v1/auth/refresh", strings.NewReader(tt.body))
			if tt.body == "" {
				r.ContentLength = 0
			}
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			if tt.cookie != "" {
				r.Header.Set("Cookie", tt.cookie)
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			r = r.WithContext(gatehouse.NewContextWithRequestInfo(r.Context(),
				gatehouse.RequestInfo{RequestID: "req-1", IP: "198.51.100.0", UserAgent: "test"}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if tt.pass {
				if reached != 1 || w.Code != http.StatusNoContent || len(evs.all()) != 0 {
					t.Fatalf("want pass: reached %d, status %d, events %d", reached, w.Code, len(evs.all()))
				}
				return
			}
			if reached != 0 {
				t.Fatal("refused request reached the handler")
			}
			if w.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", w.Code)
			}
			var body map[string]string
			if err := json.NewDecoder(w.Body).Decode(&body); err != nil || body["error"] != "csrf_failed" || body["error_description"] == "" {
				t.Fatalf("body %v (%v)", body, err)
			}
			got := evs.all()
			if len(got) != 1 {
				t.Fatalf("%d events, want 1 csrf.rejected", len(got))
			}
			ev := got[0]
			if ev.Type != gatehouse.EventCSRFRejected || ev.Outcome != gatehouse.OutcomeFailure ||
				ev.Details["reason"] != tt.reason || ev.RequestID != "req-1" || ev.IP != "198.51.100.0" {
				t.Errorf("event %+v", ev)
			}
			for _, v := range ev.Details {
				if strings.Contains(v, good) || strings.Contains(v, "refresh-secret-value") {
					t.Errorf("event details carry a secret: %v", ev.Details)
				}
			}
		})
	}
}

func TestCSRFVerify(t *testing.T) {
	const sid = "0190b7a2-0000-7000-8000-000000000001"
	const other = "0190b7a2-0000-7000-8000-000000000002"
	g, evs := newTestCSRF(t, CookieConfig{RefreshTTL: time.Hour})
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
	g.Reject(r, sid, g.Verify(r, sid))
	got := evs.all()
	if len(got) != 1 || got[0].Target != "session:"+sid || got[0].Details["reason"] != csrfMissing {
		t.Fatalf("Reject recorded %+v", got)
	}
}

func TestCSRFDomainModeReadsSecureCookie(t *testing.T) {
	g, _ := newTestCSRF(t, CookieConfig{Domain: "example.com", RefreshTTL: time.Hour})
	r := httptest.NewRequest("POST", "/v1/auth/refresh", nil)
	r.Header.Set("Cookie", "__Host-gatehouse_refresh=x")
	if g.CarriesCookie(r) {
		t.Error("domain mode treats the __Host- name as its cookie")
	}
	r.Header.Set("Cookie", "__Secure-gatehouse_refresh=x")
	if !g.CarriesCookie(r) {
		t.Error("domain mode misses the __Secure- cookie")
	}
	if err := g.Precheck(r); gatehouse.ErrorCode(err) != gatehouse.ECSRFFailed {
		t.Errorf("Precheck without a header = %v", err)
	}
}

func BenchmarkCSRFVerify(b *testing.B) {
	g, _ := newTestCSRF(b, CookieConfig{RefreshTTL: time.Hour})
	const sid = "0190b7a2-0000-7000-8000-000000000001"
	r := httptest.NewRequest("POST", "/v1/auth/refresh", nil)
	r.Header.Set("X-CSRF-Token", testCSRFToken(sid))
	for b.Loop() {
		if err := g.Verify(r, sid); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCSRFMiddlewareBindsTheSession runs the whole check with SessionOf: the
// header must be the CSRF token of the session the cookie's refresh token
// names, not merely some session's.
func TestCSRFMiddlewareBindsTheSession(t *testing.T) {
	const sid = "0190b7a2-0000-7000-8000-000000000001"
	const other = "0190b7a2-0000-7000-8000-000000000002"
	sessionOf := func(tok string) (string, bool) {
		s, ok := strings.CutPrefix(tok, "rt.")
		return s, ok && len(s) == len(sid)
	}
	tests := []struct {
		name, cookie, header string
		status               int
		event                string // reason of the csrf.rejected event; "" for none
	}{
		{"right session", "__Host-gatehouse_refresh=rt." + sid, testCSRFToken(sid), 204, ""},
		{"another session's token", "__Host-gatehouse_refresh=rt." + sid, testCSRFToken(other), 403, csrfMismatch},
		{"garbage header", "__Host-gatehouse_refresh=rt." + sid, "garbage", 403, csrfMismatch},
		{"malformed refresh token reaches the handler (its 401)", "__Host-gatehouse_refresh=junk", "anything", 204, ""},
		{"cookie tossing is 400, not a CSRF event", "__Host-gatehouse_refresh=rt." + sid + "; __Host-gatehouse_refresh=rt." + other, testCSRFToken(sid), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := &eventLog{}
			g, err := NewCSRF(CSRFConfig{Cookies: CookieConfig{RefreshTTL: time.Hour}, Token: testCSRFToken, SessionOf: sessionOf,
				Record: evs.Record, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			reached := false
			h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				w.WriteHeader(http.StatusNoContent)
			}))
			r := httptest.NewRequest("POST", "/v1/auth/logout", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Cookie", tt.cookie)
			r.Header.Set("X-CSRF-Token", tt.header)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || reached != (tt.status == 204) {
				t.Fatalf("status %d (reached %v), want %d", w.Code, reached, tt.status)
			}
			got := evs.all()
			if tt.event == "" {
				if len(got) != 0 {
					t.Fatalf("events %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Details["reason"] != tt.event || got[0].Target != "session:"+sid {
				t.Fatalf("events %+v", got)
			}
		})
	}
}
