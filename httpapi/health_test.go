package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	w := do(e.s, req("GET", "/healthz", ""))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("status %d body %q", w.Code, w.Body.String())
	}
	if w.Header().Get("X-Request-ID") == "" {
		t.Fatal("no X-Request-ID")
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error {
		return errors.New("dial tcp 10.0.0.5:5432: connection refused password=hunter2")
	}
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name   string
		checks []Check
		status int
		failed []string
	}{
		{"none", nil, 200, nil},
		{"all ok", []Check{{"database", ok}, {"redis", ok}}, 200, nil},
		{"database down", []Check{{"database", down}, {"redis", ok}}, 503, []string{"database"}},
		{"both down", []Check{{"database", down}, {"redis", down}}, 503, []string{"database", "redis"}},
	}
	if !testing.Short() {
		tests = append(tests, struct {
			name   string
			checks []Check
			status int
			failed []string
		}{"redis hangs", []Check{{"database", ok}, {"redis", slow}}, 503, []string{"redis"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withChecks(tt.checks...))
			start := time.Now()
			w := do(e.s, req("GET", "/readyz", ""))
			if time.Since(start) > 10*time.Second {
				t.Fatal("readyz did not bound its checks")
			}
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body.String())
			}
			var b readyBody
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.checks {
				want := "ok"
				for _, f := range tt.failed {
					if f == c.Name {
						want = "failed"
					}
				}
				if b.Checks[c.Name] != want {
					t.Fatalf("check %s = %q, want %q", c.Name, b.Checks[c.Name], want)
				}
			}
			if tt.status == 503 {
				if b.Error != "unavailable" {
					t.Fatalf("error = %q", b.Error)
				}
				for _, f := range tt.failed {
					if !strings.Contains(b.Description, f) {
						t.Fatalf("description %q does not name %s", b.Description, f)
					}
				}
			}
			if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "10.0.0.5") {
				t.Fatal("readyz body carries a cause")
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	do(e.s, req("GET", "/healthz", ""))
	do(e.s, req("GET", "/healthz", ""))
	do(e.s, req("GET", "/v1/nope/12345", ""))
	w := do(e.s, req("GET", "/metrics", ""))
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	body, _ := io.ReadAll(w.Body)
	text := string(body)
	for _, want := range []string{
		`gatehouse_http_requests_total{code="200",route="GET /healthz"} 2`,
		`gatehouse_http_requests_total{code="404",route="unmatched"} 1`,
		`gatehouse_http_request_duration_seconds_bucket{route="GET /healthz",le=`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("metrics lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "12345") {
		t.Fatal("a raw path became a label")
	}
}
