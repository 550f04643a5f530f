package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
)

// spyBody is a request body that counts the reads made of it.
type spyBody struct {
	r     io.Reader
	reads atomic.Int64
}

func (b *spyBody) Read(p []byte) (int, error) { b.reads.Add(1); return b.r.Read(p) }
func (b *spyBody) Close() error               { return nil }

func withHasher(h *password.Hasher) option {
	return func(_ *Config, d *Deps) { d.Hasher = h }
}

// holdPool keeps every worker of h busy until the returned release, which
// returns once they are free again.
func holdPool(t *testing.T, h *password.Hasher) (release func()) {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < h.Concurrency(); i++ {
		started := make(chan struct{})
		wg.Go(func() { h.Do(context.Background(), func() { close(started); <-gate }) })
		<-started
	}
	done := false
	release = func() {
		if !done {
			done = true
			close(gate)
			wg.Wait()
		}
	}
	t.Cleanup(release)
	return release
}

// gathered returns the value of the metric name with the label stage (""
// for none) from reg.
func gathered(t *testing.T, reg prometheus.Gatherer, name, stage string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if stage != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != stage) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{stage=%q} not found", name, stage)
	return 0
}

func retryAfterSeconds(t *testing.T, w interface{ Header() http.Header }, lo, hi int) {
	t.Helper()
	v := w.Header().Values("Retry-After")
	if len(v) != 1 {
		t.Fatalf("Retry-After = %q, want one value", v)
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < lo || n > hi {
		t.Fatalf("Retry-After = %q, want whole seconds in [%d, %d]", v[0], lo, hi)
	}
}

// While the hashing pool would refuse, sign-up and sign-in are answered 503
// with Retry-After before their body is read (nothing decoded, nothing looked
// up, nothing hashed), and each is counted; once the pool has room, the same
// request goes through. The rate limits stay in front of the shedding.
func TestShedBeforeTheBodyIsRead(t *testing.T) {
	db := testdb.SQLite(t)
	store := &countingStore{Store: db}
	h, err := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, QueueLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	e := limitEnv(t, memory.New(memory.Options{}), "token.ip=2/1m, signup.ip=1000/1m",
		withCountedSessions(t, store, h), withHasher(h))
	e.s.refusalHold = 0 // answer at once: the test is about what is answered
	send := func(path string) (*spyBody, int, http.Header, string) {
		body := &spyBody{r: strings.NewReader(`{"email":"jane@example.com","password":"` + httpPassword + `"}`)}
		r := req("POST", path, "", "Content-Type", "application/json")
		r.Body, r.ContentLength = body, -1
		r.RemoteAddr = "192.0.2.1:1234"
		w := do(e.s, r)
		return body, w.Code, w.Header(), w.Body.String()
	}

	release := holdPool(t, h)
	hashes, txs := h.Count(), store.txs.Load()
	for i, path := range []string{"/v1/auth/signup", "/v1/auth/token", "/v1/auth/token"} {
		body, code, hdr, out := send(path)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("%s on a full pool: %d %s, want 503", path, code, out)
		}
		if n := body.reads.Load(); n != 0 {
			t.Fatalf("%s: the body was read %d times before shedding", path, n)
		}
		retryAfterSeconds(t, httpHeader(hdr), 1, int(password.MaxRetryAfter/time.Second))
		if hdr.Get("RateLimit-Policy") == "" {
			t.Errorf("%s: a shed response lost the RateLimit fields: the limits are not in front", path)
		}
		if !strings.Contains(out, `"error":"unavailable"`) {
			t.Fatalf("%s: body %s", path, out)
		}
		if got := gathered(t, e.reg, "gatehouse_overload_shed_total", "admission"); got != float64(i+1) {
			t.Fatalf("shed counter = %v after %d sheds", got, i+1)
		}
	}
	if h.Count() != hashes || store.txs.Load() != txs {
		t.Fatalf("shed requests ran %d hashes and %d transactions", h.Count()-hashes, store.txs.Load()-txs)
	}
	// Over the per-IP limit, the answer is the limiter's 429, even on a full pool.
	if _, code, hdr, _ := send("/v1/auth/token"); code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("over the rate limit on a full pool: %d, want 429 with Retry-After", code)
	}
	if strings.Contains(e.log.String(), "request failed") {
		t.Errorf("shed requests were logged one by one:\n%s", e.log)
	}

	release()
	body, code, _, out := send("/v1/auth/signup")
	if code != http.StatusCreated || body.reads.Load() == 0 {
		t.Fatalf("signup with room in the pool: %d %s (body read %d times)", code, out, body.reads.Load())
	}
	if _, code, _, _ = send("/v1/auth/signup"); code != http.StatusConflict { // taken: no hashing
		t.Fatalf("signup again: %d, want 409", code)
	}
	if st := h.Stats(); st.Pending != 0 || st.Waiting != 0 {
		t.Fatalf("after the requests ended the pool holds %+v", st)
	}
}

// httpHeader adapts a header to retryAfterSeconds.
type httpHeader http.Header

func (h httpHeader) Header() http.Header { return http.Header(h) }

// Every 503 carries Retry-After: the wait of a pool refusal as is, a short
// jittered one otherwise (a dependency down, readiness failing); a pool
// refusal deep in a handler is not logged.
func TestEvery503HasRetryAfter(t *testing.T) {
	down := func(context.Context) error { return errors.New("connection refused") }
	e := newEnv(t, withChecks(Check{"database", down}))
	h := e.with(t, map[string]handlerFunc{
		"GET /busy": func(http.ResponseWriter, *http.Request) error {
			return &password.BusyError{Wait: 7 * time.Second}
		},
		"GET /down": func(http.ResponseWriter, *http.Request) error {
			return gatehouse.Errorf(gatehouse.EUnavailable, "rate limiter unavailable")
		},
		"GET /wrapped": func(http.ResponseWriter, *http.Request) error {
			return gatehouse.Wrap(gatehouse.EUnavailable, &password.BusyError{Wait: 2500 * time.Millisecond}, "x")
		},
	})
	for _, tc := range []struct {
		path   string
		lo, hi int
	}{
		{"/busy", 7, 7},
		{"/wrapped", 3, 3},
		{"/down", 1, 5},
		{"/readyz", 1, 5},
	} {
		t.Run(tc.path, func(t *testing.T) {
			seen := map[string]bool{}
			srv := h
			if tc.path == "/readyz" {
				srv = e.s
			}
			for i := 0; i < 50; i++ {
				w := do(srv, req("GET", tc.path, ""))
				if w.Code != http.StatusServiceUnavailable {
					t.Fatalf("status %d", w.Code)
				}
				retryAfterSeconds(t, w, tc.lo, tc.hi)
				seen[w.Header().Get("Retry-After")] = true
			}
			if tc.lo != tc.hi && len(seen) < 2 {
				t.Errorf("50 answers all said Retry-After %v: not jittered", seen)
			}
		})
	}
	failed := map[string]bool{}
	for _, line := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(line, `"msg":"request failed"`) {
			for _, p := range []string{"/busy", "/wrapped", "/down"} {
				failed[p] = failed[p] || strings.Contains(line, `"path":"`+p+`"`)
			}
		}
	}
	if failed["/busy"] || failed["/wrapped"] || !failed["/down"] {
		t.Errorf("logged as failures: %v; want only /down (pool refusals are counted, not logged)", failed)
	}
}

// Past maxHeldRefusals held at once, a shed answer is sent without a pause:
// holding back costs a parked goroutine each, and that stays bounded.
func TestRefusalHoldIsBounded(t *testing.T) {
	e := newEnv(t)
	e.s.refusalHold = time.Hour
	e.s.heldRefusals.Store(maxHeldRefusals)
	e.s.holdRefusal(time.Hour) // returns at once, or the test times out
	if n := e.s.heldRefusals.Load(); n != maxHeldRefusals {
		t.Fatalf("heldRefusals = %d after a refusal sent at once, want %d", n, maxHeldRefusals)
	}
	e.s.heldRefusals.Store(0)
	e.s.refusalHold = 0
	e.s.holdRefusal(time.Hour)
	if n := e.s.heldRefusals.Load(); n != 0 {
		t.Fatalf("heldRefusals = %d after a hold ended, want 0", n)
	}
}
