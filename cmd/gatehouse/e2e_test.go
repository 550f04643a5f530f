package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/sqlite"
)

func call(t *testing.T, method, u, body string, headers ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return resp, v
}

// TestServeDevAPI drives the wired server: the API needs a bearer token (no
// unauthenticated path), /v1/ answers are not cached, and a cross-origin
// state change is refused and recorded in the audit trail and the log.
func TestServeDevAPI(t *testing.T) {
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{"GATEHOUSE_CORS_ORIGINS": "https://app.example.com"}, "--dev")

	for _, tc := range []struct{ method, path, auth string }{
		{"POST", "/v1/workspaces", ""},
		{"GET", "/v1/workspaces", ""},
		{"GET", "/v1/workspaces", "Bearer forged.token.here"},
		{"GET", "/v1/admin/audit-events", ""},
	} {
		h := []string{"Content-Type", "application/json"}
		if tc.auth != "" {
			h = append(h, "Authorization", tc.auth)
		}
		resp, v := call(t, tc.method, r.base+tc.path, `{"name":"w"}`, h...)
		if resp.StatusCode != 401 || v["error"] != "unauthorized" {
			t.Fatalf("%s %s: %d %v, want 401 unauthorized", tc.method, tc.path, resp.StatusCode, v)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Request-ID") == "" {
			t.Fatalf("%s %s: headers %v", tc.method, tc.path, resp.Header)
		}
	}

	resp, v := call(t, "POST", r.base+"/v1/workspaces", `{"name":"w"}`,
		"Content-Type", "application/json", "Origin", "https://evil-app.example.com", "X-Request-ID", "e2e-origin-1")
	if resp.StatusCode != 403 || v["error"] != "origin_not_allowed" {
		t.Fatalf("evil origin: %d %v", resp.StatusCode, v)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("evil origin got CORS headers")
	}
	resp, _ = call(t, "OPTIONS", r.base+"/v1/workspaces", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	if !strings.Contains(r.stderr.String(), `"audit_event":"origin.rejected"`) {
		t.Fatalf("origin.rejected not logged:\n%s", r.stderr.String())
	}
	db, err := sqlite.Open(context.Background(), "gatehouse-data/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var evs []*gatehouse.AuditEvent
	err = db.Tx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
		evs, err = tx.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.EventOriginRejected, Limit: 10})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].RequestID != "e2e-origin-1" || evs[0].IP != "127.0.0.0" {
		t.Fatalf("stored events: %d %+v", len(evs), evs)
	}
}
