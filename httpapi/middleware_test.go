package httpapi

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	var got gatehouse.RequestInfo
	h := e.with(t, map[string]handlerFunc{"GET /v1/ri": func(w http.ResponseWriter, r *http.Request) error {
		got = gatehouse.RequestInfoFromContext(r.Context())
		return writeJSON(w, 200, map[string]string{})
	}})
	long := strings.Repeat("a", 129)
	tests := []struct {
		name, in string
		echoed   bool
	}{
		{"safe", "abc-123_X.y", true},
		{"128 chars", strings.Repeat("b", 128), true},
		{"none", "", false},
		{"too long", long, false},
		{"space", "a b", false},
		{"newline", "a\x01b", false},
		{"quote", `a"b`, false},
		{"slash", "a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req("GET", "/v1/ri", "", "User-Agent", "test-agent/1")
			if tt.in != "" {
				r.Header.Set("X-Request-ID", tt.in)
			}
			r.RemoteAddr = "198.51.100.7:5555"
			w := do(h, r)
			id := w.Header().Get("X-Request-ID")
			if tt.echoed && id != tt.in {
				t.Fatalf("X-Request-ID = %q, want %q echoed", id, tt.in)
			}
			if !tt.echoed && (id == tt.in || !gatehouse.ValidID(id)) {
				t.Fatalf("X-Request-ID = %q, want a new id", id)
			}
			if got.RequestID != id || got.IP != "198.51.100.7" || got.UserAgent != "test-agent/1" {
				t.Fatalf("RequestInfo = %+v", got)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	for _, tt := range []struct {
		public string
		hsts   bool
	}{{"https://auth.example.com", true}, {"http://127.0.0.1:8080", false}} {
		e := newEnv(t, withPublicURL(tt.public))
		for _, path := range []string{"/v1/anything", "/healthz"} {
			w := do(e.s, req("GET", path, ""))
			if got := w.Header().Get("Strict-Transport-Security") != ""; got != tt.hsts {
				t.Fatalf("%s %s: HSTS present = %v, want %v", tt.public, path, got, tt.hsts)
			}
			noStore := w.Header().Get("Cache-Control") == "no-store"
			if noStore != strings.HasPrefix(path, "/v1/") {
				t.Fatalf("%s: Cache-Control = %q", path, w.Header().Get("Cache-Control"))
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("%s: no nosniff", path)
			}
		}
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	h := e.with(t, map[string]handlerFunc{
		"POST /v1/json": func(w http.ResponseWriter, r *http.Request) error {
			var v map[string]any
			if err := decodeJSON(r, &v); err != nil {
				return err
			}
			return writeJSON(w, 200, v)
		},
		"POST /v1/raw": func(w http.ResponseWriter, r *http.Request) error {
			if _, err := io.ReadAll(r.Body); err != nil {
				if errTooLarge(err) {
					return errTooLargeBody
				}
				return err
			}
			return writeJSON(w, 200, map[string]string{})
		},
	})
	big := `{"a":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	for _, path := range []string{"/v1/json", "/v1/raw"} {
		// Declared length over the limit: refused before the handler.
		r := req("POST", path, big, "Content-Type", "application/json")
		if w := do(h, r); w.Code != 413 || errBody(t, w).Error != "payload_too_large" {
			t.Fatalf("%s declared: status %d", path, w.Code)
		}
		// Unknown length (chunked): refused on reading.
		r = req("POST", path, "", "Content-Type", "application/json")
		r.Body = io.NopCloser(strings.NewReader(big))
		r.ContentLength = -1
		if w := do(h, r); w.Code != 413 || errBody(t, w).Error != "payload_too_large" {
			t.Fatalf("%s chunked: status %d body %q", path, w.Code, w.Body.String())
		}
	}
	ok := `{"a":"` + strings.Repeat("x", MaxBodyBytes-10) + `"}`
	if w := do(h, req("POST", "/v1/json", ok, "Content-Type", "application/json")); w.Code != 200 {
		t.Fatalf("body at the limit: status %d", w.Code)
	}
}
