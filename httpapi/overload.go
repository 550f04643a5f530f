package httpapi

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/password"
)

// This file is gatehouse's answer to a login storm (docs/performance.md):
//
//   - s.admitHashing, in the route table on the password-hashing routes
//     behind their rate limits, asks the hashing pool whether it would let
//     the client in (password.Hasher.Reserve: atomic counters while there is
//     room; an admitted request's place is held until it reaches the pool)
//     and, when not, answers 503 with Retry-After before the body is
//     read or decoded, from a response written once at start-up;
//   - the pool keeps the final say, keyed by the client address so that one
//     address cannot fill its queue while others wait;
//   - every 503 carries Retry-After (RFC 9110 section 10.2.3): the pool's
//     jittered wait when it refused, a short jittered default otherwise;
//   - gatehouse_overload_shed_total counts what was shed, and where.

// shedBody is the body of a request shed at admission: the error shape of
// the /v1/auth/ routes, encoded once.
var shedBody = []byte(`{"error":"unavailable","error_description":"the server is busy; try again shortly"}` + "\n")

// retryAfterValues are the header values for 0..MaxRetryAfter seconds,
// made once, so that setting one allocates nothing. Header values are
// never modified in place.
var retryAfterValues = func() [][]string {
	v := make([][]string, int(password.MaxRetryAfter/time.Second)+1)
	for i := range v {
		v[i] = []string{strconv.Itoa(i)}
	}
	return v
}()

// headerRetryAfter is the canonical name: the header map is written directly.
const headerRetryAfter = "Retry-After"

// setRetryAfterWait sets Retry-After to d in whole seconds, at least 1.
func setRetryAfterWait(w http.ResponseWriter, d time.Duration) {
	s := int((d + time.Second - 1) / time.Second)
	s = min(max(s, 1), len(retryAfterValues)-1)
	w.Header()[headerRetryAfter] = retryAfterValues[s]
}

// defaultRetryAfter is the wait given with a 503 that carries none of its
// own (a dependency down, a readiness check failing): 1 to 5 seconds,
// jittered so that clients do not come back in step.
func defaultRetryAfter() time.Duration { return time.Duration(1+rand.IntN(5)) * time.Second }

// setUnavailableRetryAfter gives a 503 its Retry-After: the wait err
// carries (password.BusyError), else the default. Other statuses, and a
// response that already has one, are left alone.
func setUnavailableRetryAfter(w http.ResponseWriter, status int, err error) {
	if status != http.StatusServiceUnavailable || w.Header().Get(headerRetryAfter) != "" {
		return
	}
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		setRetryAfterWait(w, ra.RetryAfter())
		return
	}
	setRetryAfterWait(w, defaultRetryAfter())
}

// shedding reports whether err is an overload refusal: counted in metrics,
// not logged one by one (a storm of them would be a storm of log lines).
func shedding(err error) bool { return errors.Is(err, password.ErrBusy) }

// admitHashing wraps a route that hashes a password: while the hashing pool
// would refuse the client, the request is answered 503 with Retry-After
// before its body is read; else its place in the pool is held until it gets
// there (or ends), with the client's key in its context for the pool's
// fairness. Without a Hasher it is h.
func (s *Server) admitHashing(h http.Handler) http.Handler {
	if s.hasher == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := clientKey(r.Context())
		ctx, release, ok := s.hasher.Reserve(r.Context(), key)
		if !ok {
			s.shedAdmission.Add(1)
			wait := s.hasher.RetryAfter()
			s.holdRefusal(wait)
			hd := w.Header()
			setRetryAfterWait(w, wait)
			hd["Content-Type"] = jsonContentType
			hd["X-Content-Type-Options"] = nosniff
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(shedBody)
			return
		}
		defer release()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// maxHeldRefusals bounds the shed answers held back at once (holdRefusal):
// beyond it, they are sent at once. Each held one costs its connection's
// goroutine, parked, and no CPU.
const maxHeldRefusals = 1024

// maxRefusalHold bounds how long a shed answer is held back: a client that
// honours Retry-After waits the hold and then Retry-After, and the queue
// (at most MaxWait deep, a second by default) must not run dry meanwhile.
const maxRefusalHold = time.Second

// holdRefusal holds a shed answer back for a jittered half to all of its
// Retry-After, at most maxRefusalHold, before it is sent: a client that
// ignores Retry-After and retries as soon as it is answered (most scripts,
// many libraries) then comes back at the pace of one that honours it,
// instead of making the server refuse it thousands of times a second on the
// cores the hashing needs. Parked goroutines cost no CPU; past
// maxHeldRefusals at once, answers are sent without the pause.
func (s *Server) holdRefusal(wait time.Duration) {
	if s.heldRefusals.Add(1) > maxHeldRefusals {
		s.heldRefusals.Add(-1)
		return
	}
	d := min(wait, s.refusalHold)
	time.Sleep(d/2 + rand.N(d/2+1))
	s.heldRefusals.Add(-1)
}

var (
	jsonContentType = []string{"application/json"}
	nosniff         = []string{"nosniff"}
)

// setupOverload takes the Hasher and registers the shedding metrics.
func (s *Server) setupOverload(d Deps) error {
	s.hasher, s.refusalHold = d.Hasher, maxRefusalHold
	return s.registry.Register(overloadCollector{s})
}

var (
	shedDesc = prometheus.NewDesc("gatehouse_overload_shed_total",
		"Password-hashing requests shed with 503 and Retry-After, by stage: admission (before the body was read), "+
			"queue_full (the pool refused on arrival), displaced (gave its place to a lighter client), "+
			"expired (waited past its bound; not hashed).", []string{"stage"}, nil)
	waitingDesc = prometheus.NewDesc("gatehouse_password_queue_waiting",
		"Requests waiting for the password-hashing pool.", nil, nil)
)

// overloadCollector reads the counters when scraped, so the request path
// only ever adds to an atomic.
type overloadCollector struct{ s *Server }

func (c overloadCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- shedDesc
	ch <- waitingDesc
}

func (c overloadCollector) Collect(ch chan<- prometheus.Metric) {
	var st password.Stats
	if c.s.hasher != nil {
		st = c.s.hasher.Stats()
	}
	for _, v := range []struct {
		stage string
		n     uint64
	}{
		{"admission", c.s.shedAdmission.Load()},
		{"queue_full", st.Refused},
		{"displaced", st.Displaced},
		{"expired", st.Expired},
	} {
		ch <- prometheus.MustNewConstMetric(shedDesc, prometheus.CounterValue, float64(v.n), v.stage)
	}
	ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(st.Waiting))
}
