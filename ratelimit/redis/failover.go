package redis

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
)

// Failover is a ratelimit.Backend that decides in Redis and, while Redis is
// unreachable (an error or a timeout of a short per-call deadline), decides in
// a per-instance memory store instead, so limits never stop (docs/reference.md §10).
// It logs each transition once, exports the state as metrics and in Status
// (for /readyz), and goes back to Redis when a probe, at most once per probe
// interval while requests arrive, or a Ping, finds it answering again.
//
// Every refusal Redis answers is also copied into memory (Refuse, Block),
// so a fallback starts from them: a key over its limit in Redis is still
// refused in memory until its retry time, rather than finding a fresh
// allowance there; a failed-auth ceiling Redis answers as not blocked (an
// administrator's reset) drops its copy. Allowed decisions are not copied
// (that would be a second write on every request); a key under its limit in
// Redis starts the fallback with the per-instance allowance, the documented
// cost of an outage. The copies live in a store of their own (mirror), apart
// from the fallback's, so that copies accumulated while Redis is up never
// push the fallback's own state (a live block) out of its bounded store.
type Failover struct {
	redis    *Limiter
	fallback *memory.Store
	mirror   *memory.Store
	mem      mirrored // what decides in memory: mirror, then fallback
	log      *slog.Logger
	timeout  time.Duration
	every    time.Duration

	degraded  atomic.Bool
	probing   atomic.Bool
	lastProbe atomic.Int64 // unix ns

	mu      sync.Mutex // guards since and lastErr
	since   time.Time
	lastErr string

	active      prometheus.Gauge
	transitions *prometheus.CounterVec
	fallbacks   prometheus.Counter
}

// DefaultTimeout is the deadline of one Redis call before the Failover
// takes Redis for unreachable. A Redis answer takes well under a
// millisecond, but on a machine whose cores are saturated the goroutine
// waiting for it can wait tens of milliseconds to run: at 100 ms, three
// instances under load on two cores (bench/three.sh) took slow answers for
// an outage and, for half a minute, limits for per-instance ones. A Redis
// that stalls costs the requests already waiting on it this long, once.
const DefaultTimeout = 250 * time.Millisecond

// FailoverOptions configure a Failover.
type FailoverOptions struct {
	Logger        *slog.Logger          // required
	Registerer    prometheus.Registerer // nil: metrics are kept but not registered
	Fallback      *memory.Store         // nil: memory.New with defaults
	Timeout       time.Duration         // per Redis call; 0: DefaultTimeout
	ProbeInterval time.Duration         // between probes while on memory; 0: 1s
}

// NewFailover returns a Failover over r. It starts on Redis.
func NewFailover(r *Limiter, o FailoverOptions) (*Failover, error) {
	if o.Logger == nil {
		return nil, errors.New("ratelimit failover: a logger is required")
	}
	if o.Fallback == nil {
		o.Fallback = memory.New(memory.Options{})
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = time.Second
	}
	f := &Failover{
		redis: r, fallback: o.Fallback, mirror: memory.New(memory.Options{}), log: o.Logger, timeout: o.Timeout, every: o.ProbeInterval,
		since: time.Now(),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_ratelimit_fallback_active",
			Help: "1 while rate limits are decided in per-instance memory because Redis is unreachable, else 0.",
		}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_ratelimit_backend_transitions_total",
			Help: "Switches of the rate-limit backend, by the backend switched to (redis or memory).",
		}, []string{"to"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_ratelimit_fallback_decisions_total",
			Help: "Rate-limit and failed-auth decisions taken in per-instance memory because Redis was unreachable.",
		}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{f.active, f.transitions, f.fallbacks} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	f.mem = mirrored{mirror: f.mirror, fallback: f.fallback}
	return f, nil
}

// Status is the failover's state, for /readyz details.
type Status struct {
	Backend   string    `json:"backend"` // "redis" or "memory"
	Degraded  bool      `json:"degraded"`
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
}

// Status returns the current state.
func (f *Failover) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Status{Backend: "redis", Since: f.since}
	if f.degraded.Load() {
		s.Backend, s.Degraded, s.LastError = "memory", true, f.lastErr
	}
	return s
}

// Detail describes the state in a line for /readyz.
func (f *Failover) Detail() string {
	s := f.Status()
	if s.Degraded {
		return "rate limits per instance (memory fallback) since " + s.Since.UTC().Format(time.RFC3339) + ": Redis unreachable"
	}
	return "rate limits shared through Redis"
}

// Ping asks Redis, switches state accordingly, and reports whether it answered.
func (f *Failover) Ping(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	err := f.redis.Ping(cctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			f.down(err)
		}
		return err
	}
	f.up()
	return nil
}

func (f *Failover) down(err error) {
	if !f.degraded.CompareAndSwap(false, true) {
		return
	}
	f.lastProbe.Store(time.Now().UnixNano())
	f.mu.Lock()
	f.since, f.lastErr = time.Now(), err.Error()
	f.mu.Unlock()
	f.active.Set(1)
	f.transitions.WithLabelValues("memory").Inc()
	f.log.Error("rate limits: Redis unreachable; falling back to per-instance memory limits (not shared between instances)",
		slog.String("error", err.Error()))
}

func (f *Failover) up() {
	if !f.degraded.CompareAndSwap(true, false) {
		return
	}
	f.mu.Lock()
	f.since, f.lastErr = time.Now(), ""
	f.mu.Unlock()
	f.active.Set(0)
	f.transitions.WithLabelValues("redis").Inc()
	f.log.Info("rate limits: Redis reachable again; limits shared between instances")
}

// onMemory reports whether to decide in memory, starting a probe when one is due.
func (f *Failover) onMemory() bool {
	if !f.degraded.Load() {
		return false
	}
	now := time.Now().UnixNano()
	if now-f.lastProbe.Load() >= int64(f.every) && f.probing.CompareAndSwap(false, true) {
		f.lastProbe.Store(now)
		go func() {
			defer f.probing.Store(false)
			_ = f.Ping(context.Background())
		}()
	}
	f.fallbacks.Inc()
	return true
}

func decide[T any](f *Failover, ctx context.Context, onRedis, onMemory func(context.Context) (T, error)) (T, error) {
	if !f.onMemory() {
		cctx, cancel := context.WithTimeout(ctx, f.timeout)
		v, err := onRedis(cctx)
		cancel()
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil { // the caller gave up; not Redis's fault
			return v, ctx.Err()
		}
		f.down(err)
		f.fallbacks.Inc()
	}
	return onMemory(ctx)
}

// refused copies a refusal Redis answered into the mirror.
func (f *Failover) refused(key string, d ratelimit.Decision, err error) {
	if err == nil && !d.Allowed {
		f.mirror.Refuse(key, d.Policy, d.RetryAfter)
	}
}

// blocked copies a blocked failed-auth counter Redis answered into the
// mirror, and drops the copy once Redis answers it is not blocked.
func (f *Failover) blocked(key string, v ratelimit.Failures, err error) {
	switch {
	case err != nil:
	case v.Blocked:
		f.mirror.Block(key, v.Policy, v.RetryAfter)
	default:
		_ = f.mirror.ResetFailures(context.Background(), key)
	}
}

// mirrored is the memory side of a Failover, a ratelimit.Backend: a refusal
// or block copied from Redis (mirror) answers first; everything else is
// decided by the per-instance limits (fallback).
type mirrored struct{ mirror, fallback *memory.Store }

func (m mirrored) Allow(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	if d, err := m.mirror.Peek(ctx, key, p); err == nil && !d.Allowed {
		return d, nil
	}
	return m.fallback.Allow(ctx, key, p)
}

func (m mirrored) Peek(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	if d, err := m.mirror.Peek(ctx, key, p); err == nil && !d.Allowed {
		return d, nil
	}
	return m.fallback.Peek(ctx, key, p)
}

func (m mirrored) AddFailure(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	if v, err := m.mirror.Failures(ctx, key, p); err == nil && v.Blocked {
		return v, nil
	}
	return m.fallback.AddFailure(ctx, key, p)
}

func (m mirrored) Failures(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	if v, err := m.mirror.Failures(ctx, key, p); err == nil && v.Blocked {
		return v, nil
	}
	return m.fallback.Failures(ctx, key, p)
}

func (m mirrored) ResetFailures(ctx context.Context, key string) error {
	_ = m.mirror.ResetFailures(ctx, key)
	return m.fallback.ResetFailures(ctx, key)
}

// Allow implements ratelimit.Backend.
func (f *Failover) Allow(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	return decide(f, ctx,
		func(c context.Context) (ratelimit.Decision, error) {
			v, err := f.redis.Allow(c, key, p)
			f.refused(key, v, err)
			return v, err
		},
		func(c context.Context) (ratelimit.Decision, error) { return f.mem.Allow(c, key, p) })
}

// Peek implements ratelimit.Backend.
func (f *Failover) Peek(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	return decide(f, ctx,
		func(c context.Context) (ratelimit.Decision, error) {
			v, err := f.redis.Peek(c, key, p)
			f.refused(key, v, err)
			return v, err
		},
		func(c context.Context) (ratelimit.Decision, error) { return f.mem.Peek(c, key, p) })
}

// AddFailure implements ratelimit.Backend.
func (f *Failover) AddFailure(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	return decide(f, ctx,
		func(c context.Context) (ratelimit.Failures, error) {
			v, err := f.redis.AddFailure(c, key, p)
			f.blocked(key, v, err)
			return v, err
		},
		func(c context.Context) (ratelimit.Failures, error) { return f.mem.AddFailure(c, key, p) })
}

// Failures implements ratelimit.Backend.
func (f *Failover) Failures(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	return decide(f, ctx,
		func(c context.Context) (ratelimit.Failures, error) {
			v, err := f.redis.Failures(c, key, p)
			f.blocked(key, v, err)
			return v, err
		},
		func(c context.Context) (ratelimit.Failures, error) { return f.mem.Failures(c, key, p) })
}

// Batch implements ratelimit.Batcher: the steps go to Redis in one round
// trip. The steps Redis answered keep its answers (with their FirstDenied
// and Crossed, which the caller records once per window, and without
// charging a request twice), as a series of single calls would; the steps
// that failed there (the whole batch when Redis is unreachable) are decided
// in memory, which the refusals and blocks Redis answered were copied into
// first.
func (f *Failover) Batch(ctx context.Context, steps []ratelimit.Step) []ratelimit.Outcome {
	var answered []ratelimit.Outcome
	out, _ := decide(f, ctx,
		func(c context.Context) ([]ratelimit.Outcome, error) {
			out := f.redis.Batch(c, steps)
			var first error
			for i, o := range out {
				switch s := steps[i]; {
				case o.Err != nil:
					first = cmp.Or(first, o.Err)
				case s.Op == ratelimit.OpAllow || s.Op == ratelimit.OpPeek:
					f.refused(s.Key, o.Decision, nil)
				default:
					f.blocked(s.Key, o.Failures, nil)
				}
			}
			answered = out
			return out, first
		},
		func(c context.Context) ([]ratelimit.Outcome, error) {
			var redo []int
			for i := range steps {
				if answered == nil || answered[i].Err != nil {
					redo = append(redo, i)
				}
			}
			if n := len(redo) - 1; n > 0 {
				f.fallbacks.Add(float64(n)) // decide counted one
			}
			rest := make([]ratelimit.Step, len(redo))
			for j, i := range redo {
				rest[j] = steps[i]
			}
			mem := ratelimit.Batch(c, f.mem, rest)
			out := make([]ratelimit.Outcome, len(steps))
			copy(out, answered)
			for j, i := range redo {
				out[i] = mem[j]
			}
			return out, nil
		})
	return out
}

// ResetFailures implements ratelimit.Backend. It clears both stores, so an
// unlock made during an outage also holds once Redis is back.
func (f *Failover) ResetFailures(ctx context.Context, key string) error {
	_ = f.mem.ResetFailures(ctx, key)
	_, err := decide(f, ctx,
		func(c context.Context) (struct{}, error) { return struct{}{}, f.redis.ResetFailures(c, key) },
		func(c context.Context) (struct{}, error) { return struct{}{}, nil })
	return err
}

var _ ratelimit.Batcher = (*Failover)(nil)
