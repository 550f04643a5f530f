package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/prometheus/client_golang/prometheus"
)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recorder keeps the audit events the HTTP layer records.
type recorder struct {
	mu     sync.Mutex
	events []*gatehouse.AuditEvent
}

func (r *recorder) Record(_ context.Context, ev *gatehouse.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) list() []*gatehouse.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*gatehouse.AuditEvent(nil), r.events...)
}

// testAuthenticator is the test-only identity hook: a bearer token
// "user.<id>" is that user's session. It exists only in tests; production
// wiring passes the real token authenticator.
type testAuthenticator struct{}

func (testAuthenticator) Authenticate(r *http.Request) (*gatehouse.Principal, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	id, ok := strings.CutPrefix(tok, "user.")
	if !ok || id == "" {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "the bearer token is not valid")
	}
	return &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: id, SessionID: "s-" + id}, nil
}

type testEnv struct {
	s   *Server
	log *syncBuffer
	rec *recorder
	reg *prometheus.Registry
}

type option func(*Config, *Deps)

func withPublicURL(u string) option {
	return func(c *Config, _ *Deps) { c.PublicURL, _ = url.Parse(u) }
}

func withCORS(origins ...string) option {
	return func(c *Config, _ *Deps) { c.CORSOrigins = origins }
}

func withChecks(cs ...Check) option {
	return func(_ *Config, d *Deps) { d.Ready = cs }
}

func withAuth(a Authenticator) option {
	return func(_ *Config, d *Deps) { d.Auth = a }
}

func newEnv(t testing.TB, opts ...option) *testEnv {
	t.Helper()
	e := &testEnv{log: &syncBuffer{}, rec: &recorder{}, reg: prometheus.NewRegistry()}
	pub, _ := url.Parse("https://auth.example.com")
	cfg := Config{PublicURL: pub, CORSOrigins: []string{"https://app.example.com"}}
	d := Deps{
		Logger:   slog.New(slog.NewJSONHandler(e.log, nil)),
		Registry: e.reg,
		Recorder: e.rec,
		Auth:     testAuthenticator{},
	}
	for _, o := range opts {
		o(&cfg, &d)
	}
	s, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	return e
}

// with serves extra test routes through the real middleware.
func (e *testEnv) with(t testing.TB, routes map[string]handlerFunc) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.Handle(p, withPattern(e.s.handle(h)))
	}
	h, err := e.s.middleware(mux)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func req(method, target, body string, headers ...string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// errBody decodes the contract's error body, failing on any other shape.
func errBody(t testing.TB, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %q", ct, w.Body.String())
	}
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	var b errorBody
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if b.Error == "" || b.Description == "" {
		t.Fatalf("error body %q lacks error or error_description", w.Body.String())
	}
	return b
}
