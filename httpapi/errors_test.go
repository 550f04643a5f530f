package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		code   gatehouse.Code
		status int
	}{
		{gatehouse.EInvalidRequest, 400},
		{gatehouse.EInvalidClient, 401},
		{gatehouse.EInvalidGrant, 401},
		{gatehouse.EUnauthorizedClient, 400},
		{gatehouse.EUnsupportedGrantType, 400},
		{gatehouse.EInvalidScope, 400},
		{gatehouse.EUnauthorized, 401},
		{gatehouse.EForbidden, 403},
		{gatehouse.ECSRFFailed, 403},
		{gatehouse.EOriginNotAllowed, 403},
		{gatehouse.EAccountLocked, 403},
		{gatehouse.EAccountDisabled, 403},
		{gatehouse.ENotFound, 404},
		{gatehouse.EConflict, 409},
		{gatehouse.EPayloadTooLarge, 413},
		{gatehouse.EUnsupportedMediaType, 415},
		{gatehouse.ERateLimited, 429},
		{gatehouse.EUnavailable, 503},
		{gatehouse.EInternal, 500},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			h := e.with(t, map[string]handlerFunc{"GET /v1/x": func(w http.ResponseWriter, r *http.Request) error {
				return fmt.Errorf("wrapped: %w", gatehouse.Wrap(tt.code, errors.New("cause-xyz"), "safe message"))
			}})
			w := do(h, req("GET", "/v1/x", ""))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			b := errBody(t, w)
			if b.Error != string(tt.code) {
				t.Fatalf("error = %q, want %q", b.Error, tt.code)
			}
			if strings.Contains(w.Body.String(), "cause-xyz") {
				t.Fatalf("body %q carries the cause", w.Body.String())
			}
			if tt.code == gatehouse.EInternal && b.Description != "internal error" {
				t.Fatalf("500 description = %q", b.Description)
			}
			if tt.code == gatehouse.EUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	// Every code of the domain package has a status.
	for c := range statusOf {
		if StatusOf(c) == 0 {
			t.Fatalf("code %q has no status", c)
		}
	}
}

func TestUnknownErrorIs500WithoutInternals(t *testing.T) {
	e := newEnv(t)
	h := e.with(t, map[string]handlerFunc{
		"GET /v1/plain": func(w http.ResponseWriter, r *http.Request) error {
			return errors.New("pq: password authentication failed for user hunter2")
		},
		"GET /v1/badcode": func(w http.ResponseWriter, r *http.Request) error {
			return &gatehouse.Error{Code: "made_up", Message: "leaky hunter2"}
		},
	})
	for _, path := range []string{"/v1/plain", "/v1/badcode"} {
		w := do(h, req("GET", path, "", "X-Request-ID", "req-"+path[4:]))
		if w.Code != 500 {
			t.Fatalf("%s: status = %d, want 500", path, w.Code)
		}
		b := errBody(t, w)
		if b.Error != "internal" || b.Description != "internal error" {
			t.Fatalf("%s: body = %+v", path, b)
		}
		if strings.Contains(w.Body.String(), "hunter2") {
			t.Fatalf("%s: body leaks the cause", path)
		}
		if !strings.Contains(e.log.String(), `"request_id":"req-`+path[4:]+`"`) {
			t.Fatalf("%s: the 500 was not logged with its request id: %s", path, e.log.String())
		}
	}
}

func TestOAuthErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		code   gatehouse.Code
		basic  bool
		status int
	}{
		{gatehouse.EInvalidGrant, false, 400},
		{gatehouse.EInvalidRequest, false, 400},
		{gatehouse.EUnsupportedGrantType, false, 400},
		{gatehouse.EInvalidScope, false, 400},
		{gatehouse.EUnauthorizedClient, false, 400},
		{gatehouse.EInvalidClient, false, 401},
		{gatehouse.EInvalidClient, true, 401},
		{gatehouse.ERateLimited, false, 429},
		{gatehouse.EInternal, false, 500},
	}
	for _, tt := range tests {
		r := req("POST", "/v1/oauth/token", "")
		if tt.basic {
			r.SetBasicAuth("client", "secret")
		}
		w := do(e.s.handleOAuth(func(w http.ResponseWriter, r *http.Request) error {
			return gatehouse.Errorf(tt.code, "m")
		}), r)
		if w.Code != tt.status {
			t.Fatalf("%s: status = %d, want %d", tt.code, w.Code, tt.status)
		}
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
			t.Fatalf("%s: missing no-store/no-cache", tt.code)
		}
		if got := w.Header().Get("WWW-Authenticate") != ""; got != tt.basic {
			t.Fatalf("%s basic=%v: WWW-Authenticate present = %v", tt.code, tt.basic, got)
		}
		errBody(t, w)
	}
}

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t)
	h := e.with(t, map[string]handlerFunc{"GET /v1/boom": func(w http.ResponseWriter, r *http.Request) error {
		panic("token gth_SECRETSECRET leaked into a panic")
	}})
	w := do(h, req("GET", "/v1/boom", "", "X-Request-ID", "boom-1"))
	if w.Code != 500 {
		t.Fatalf("status = %d", w.Code)
	}
	b := errBody(t, w)
	if b.Error != "internal" || b.Description != "internal error" {
		t.Fatalf("body = %+v", b)
	}
	logs := e.log.String()
	if strings.Contains(w.Body.String(), "SECRET") || strings.Contains(logs, "SECRETSECRET") {
		t.Fatalf("the panic value leaked: body %q log %q", w.Body.String(), logs)
	}
	if !strings.Contains(logs, `"msg":"panic"`) || !strings.Contains(logs, "boom-1") || !strings.Contains(logs, "goroutine") {
		t.Fatalf("panic not logged with request id and stack: %s", logs)
	}
	if w.Header().Get("X-Request-ID") != "boom-1" {
		t.Fatal("request id lost on a panic")
	}
}

// TestPanicAfterWrite: a panic after the response began aborts the
// connection instead of appending an error to a success.
func TestPanicAfterWrite(t *testing.T) {
	e := newEnv(t)
	h := e.with(t, map[string]handlerFunc{"GET /v1/half": func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(200)
		w.Write([]byte(`{"partial":`))
		panic("late")
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/half")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("the client got a complete response from a handler that panicked mid-way")
	}
	if !strings.Contains(e.log.String(), `"msg":"panic"`) {
		t.Fatal("panic not logged")
	}
}

func TestUnmatchedRoutes(t *testing.T) {
	e := newEnv(t)
	w := do(e.s, req("GET", "/v1/nothing-here", ""))
	if w.Code != 404 || errBody(t, w).Error != "not_found" {
		t.Fatalf("404: status %d body %q", w.Code, w.Body.String())
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("404 under /v1/ without no-store")
	}
	w = do(e.s, req("DELETE", "/healthz", ""))
	if w.Code != 405 || w.Header().Get("Allow") == "" {
		t.Fatalf("405: status %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
	errBody(t, w)
}
