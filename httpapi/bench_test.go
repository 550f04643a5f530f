package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The middleware's cost per request, against the same handler served bare:
// DESIGN asks an authenticated GET to reach half of a bare net/http handler.

func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func okJSON(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, 200, map[string]string{"status": "ok"})
}

func BenchmarkBareHandler(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/me", func(w http.ResponseWriter, r *http.Request) { okJSON(w, r) })
	benchServe(b, mux, req("GET", "/v1/me", ""))
}

func benchEnv(b *testing.B) *testEnv {
	e := newEnv(b)
	e.s.log = slog.New(slog.NewJSONHandler(io.Discard, nil)) // the access log is written, to nowhere
	return e
}

func BenchmarkMiddlewareGET(b *testing.B) {
	e := benchEnv(b)
	h := e.with(b, map[string]handlerFunc{"GET /v1/me": okJSON})
	benchServe(b, h, req("GET", "/v1/me", ""))
}

func BenchmarkMiddlewareAuthenticatedGET(b *testing.B) {
	e := benchEnv(b)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/me", withPattern(e.s.requireAuth(e.s.handle(okJSON))))
	h, err := e.s.middleware(mux)
	if err != nil {
		b.Fatal(err)
	}
	benchServe(b, h, req("GET", "/v1/me", "", "Authorization", "Bearer user.u1", "Origin", "https://app.example.com"))
}

func BenchmarkServerHealthz(b *testing.B) {
	e := benchEnv(b)
	benchServe(b, e.s, req("GET", "/healthz", ""))
}
