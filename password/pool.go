package password

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The hashing pool: Concurrency workers and a queue of at most QueueLimit
// waiters, kept fair and bounded in time (docs/performance.md):
//
//   - fair: waiters are grouped by a key (the client address, WithKey) and
//     served round-robin across keys, one at a time, so a key with many
//     waiters does not make the others wait behind all of them; and when the
//     queue is full, a newcomer whose key holds fewer places than the
//     heaviest key takes the newest place of that key (drop from the longest
//     queue), so one key cannot fill the queue while others are refused;
//   - bounded in time: a caller whose expected wait (waiters × the measured
//     time of a turn ÷ workers) is over MaxWait, or past its context's
//     deadline, is refused on arrival, and a waiter whose wait has gone past
//     either by the time its turn comes is dropped without hashing, as CoDel
//     drops packets that sat too long (RFC 8289): the client has most likely
//     given up, and hashing for it would only delay the others;
//   - cheap to refuse: Admit answers from atomic counters while the queue
//     has room, so the HTTP layer can shed before reading a request's body;
//     Reserve also holds the place of an admitted request until it reaches
//     the pool (or ends without hashing), so that requests admitted together
//     do not all find the queue full once they have read their body and
//     looked up their account; every refusal says when to come back (BusyError.Wait, a jittered
//     multiple of the queue's drain time, for Retry-After: RFC 9110 section
//     10.2.3).

// MaxRetryAfter bounds the wait a refusal asks for.
const MaxRetryAfter = 30 * time.Second

// BusyError is the pool's refusal: ErrBusy (errors.Is holds; the code is
// unavailable, 503) with the wait after which a retry is likely to be
// admitted, jittered so that refused clients do not come back together.
type BusyError struct {
	Wait time.Duration
}

func (e *BusyError) Error() string { return ErrBusy.Error() }

// Unwrap makes errors.Is(err, ErrBusy) and gatehouse.ErrorCode hold.
func (e *BusyError) Unwrap() error { return ErrBusy }

// RetryAfter is the wait to put in Retry-After.
func (e *BusyError) RetryAfter() time.Duration { return e.Wait }

type keyCtx struct{}

// WithKey returns ctx carrying the fairness key of the caller: the client
// address is the one known before a request's body is read (docs/
// performance.md). Callers without a key share the key "".
func WithKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyCtx{}, key)
}

// ticket is a place held by Reserve: it counts as pending until the
// request reaches the pool or ends.
type ticket struct {
	key  string
	p    *pool
	used atomic.Bool
}

func (t *ticket) done() {
	if t.used.CompareAndSwap(false, true) {
		t.p.pending.Add(-1)
	}
}

// keyOf returns the caller's key, giving back the place its ticket held.
func keyOf(ctx context.Context) string {
	switch v := ctx.Value(keyCtx{}).(type) {
	case string:
		return v
	case *ticket:
		v.done()
		return v.key
	}
	return ""
}

// Reserve is Admit that, when it admits, also holds the caller's place
// until ctx (the returned one, which carries key as WithKey does) reaches
// the pool, or until release is called (when the request ends; calling it
// after the pool was reached does nothing).
func (p *pool) Reserve(ctx context.Context, key string) (_ context.Context, release func(), ok bool) {
	if !p.Admit(key) {
		return ctx, nil, false
	}
	p.pending.Add(1)
	t := &ticket{key: key, p: p}
	return context.WithValue(ctx, keyCtx{}, t), t.done, true
}

// Stats are the pool's counters.
type Stats struct {
	Waiting   int    // callers waiting now
	Pending   int    // admitted by Reserve, not yet at the pool
	Refused   uint64 // refused on arrival: queue full or wait too long
	Displaced uint64 // gave their place to a caller of a lighter key
	Expired   uint64 // dropped unhashed: waited past MaxWait or their deadline
}

type waiter struct {
	ks       *keyState
	deadline time.Time
	queued   bool       // under pool.mu
	done     chan error // cap 1: nil, the turn is ours (a worker is held); else the refusal
}

type keyState struct {
	key string
	q   []*waiter
}

type pool struct {
	conc, limit int
	maxWait     time.Duration
	now         func() time.Time

	mu      sync.Mutex
	running int
	waiting int
	keys    map[string]*keyState // the keys that have waiters
	ring    []*keyState          // the same, in round-robin order
	next    int                  // the ring index served next

	nWaiting atomic.Int64 // waiting, for Admit's lock-free path
	pending  atomic.Int64 // places held by Reserve
	svc      atomic.Int64 // moving average of a turn's duration, ns

	refused, displaced, expired atomic.Uint64
}

func (p *pool) init(conc, limit int, maxWait time.Duration) {
	p.conc, p.limit, p.maxWait, p.now = conc, limit, maxWait, time.Now
	p.keys = map[string]*keyState{}
}

// Stats returns the pool's counters.
func (p *pool) Stats() Stats {
	return Stats{Waiting: int(p.nWaiting.Load()), Pending: int(p.pending.Load()), Refused: p.refused.Load(),
		Displaced: p.displaced.Load(), Expired: p.expired.Load()}
}

// expectedWait is how long the n-th waiter can expect to wait for a worker.
func (p *pool) expectedWait(n int) time.Duration {
	return time.Duration(n) * time.Duration(p.svc.Load()) / time.Duration(p.conc)
}

// RetryAfter returns a wait to ask a refused client for: the time the queue
// takes to drain, in whole seconds, at least one, times a uniform jitter in
// [1, 2], so that the clients refused in one burst come back spread over
// as long again instead of together.
func (p *pool) RetryAfter() time.Duration {
	drain := p.expectedWait(int(p.nWaiting.Load()) + p.conc)
	base := int((drain + time.Second - 1) / time.Second)
	base = min(max(base, 1), int(MaxRetryAfter/time.Second)/2)
	return time.Duration(base+rand.IntN(base+1)) * time.Second
}

func (p *pool) busy() error { return &BusyError{Wait: p.RetryAfter()} }

// Admit reports whether a caller with key would be let in now, so that the
// HTTP layer can refuse before reading the request. While the queue has room
// it reads one atomic counter; when it is full, it looks whether key would
// take the place of a heavier key's waiter. Places held by Reserve count as
// taken. The pool still has the final say when the hash is asked for. It
// allocates nothing.
func (p *pool) Admit(key string) bool {
	pending := int(p.pending.Load())
	if n := int(p.nWaiting.Load()) + pending; n < p.limit && p.expectedWait(n+1) <= p.maxWait {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running+pending < p.conc && p.waiting == 0 {
		return true
	}
	if n := p.waiting + pending; n < p.limit && p.expectedWait(n+1) <= p.maxWait {
		return true
	}
	return p.heavierThan(p.keys[key]) != nil
}

// heavierThan returns the key with the most waiters if it has at least two
// more than ks (nil: none), so that moving one place from it to ks leaves it
// no lighter than ks. Under p.mu; the ring holds at most limit keys.
func (p *pool) heavierThan(ks *keyState) *keyState {
	mine := 0
	if ks != nil {
		mine = len(ks.q)
	}
	var heavy *keyState
	for _, k := range p.ring {
		if heavy == nil || len(k.q) > len(heavy.q) {
			heavy = k
		}
	}
	if heavy == nil || len(heavy.q) < mine+2 {
		return nil
	}
	return heavy
}

// acquire returns nil when the caller holds a worker: at once if one is free
// and nobody waits, else after its turn in the queue.
func (p *pool) acquire(ctx context.Context) error {
	key := keyOf(ctx)
	p.mu.Lock()
	if p.running < p.conc && p.waiting == 0 {
		p.running++
		p.mu.Unlock()
		return nil
	}
	now := p.now()
	deadline := now.Add(p.maxWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ks := p.keys[key]
	if p.waiting >= p.limit || now.Add(p.expectedWait(p.waiting+1)).After(deadline) {
		heavy := p.heavierThan(ks)
		if heavy == nil {
			p.mu.Unlock()
			p.refused.Add(1)
			return p.busy()
		}
		victim := heavy.q[len(heavy.q)-1] // the newest place of the heaviest key
		p.remove(victim)
		p.displaced.Add(1)
		victim.done <- p.busy()
	}
	if ks == nil {
		ks = &keyState{key: key}
		p.keys[key] = ks
		p.ring = append(p.ring, ks)
	}
	w := &waiter{ks: ks, deadline: deadline, queued: true, done: make(chan error, 1)}
	ks.q = append(ks.q, w)
	p.waiting++
	p.nWaiting.Store(int64(p.waiting))
	p.mu.Unlock()

	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
	}
	p.mu.Lock()
	if w.queued {
		p.remove(w)
		p.mu.Unlock()
	} else {
		p.mu.Unlock()
		if err := <-w.done; err == nil { // the turn came as the context ended: pass it on
			p.release(0)
		}
	}
	return gatehouse.Wrap(gatehouse.EUnavailable, ctx.Err(), "the request was cancelled")
}

// remove takes w out of the queue. Under p.mu.
func (p *pool) remove(w *waiter) {
	ks := w.ks
	for i, x := range ks.q {
		if x == w {
			copy(ks.q[i:], ks.q[i+1:])
			ks.q[len(ks.q)-1] = nil
			ks.q = ks.q[:len(ks.q)-1]
			break
		}
	}
	w.queued = false
	p.waiting--
	p.nWaiting.Store(int64(p.waiting))
	if len(ks.q) == 0 {
		p.dropKey(ks)
	}
}

// dropKey forgets ks, which has no waiters left, keeping the round-robin
// position on the key that followed it. Under p.mu.
func (p *pool) dropKey(ks *keyState) {
	delete(p.keys, ks.key)
	for i, k := range p.ring {
		if k == ks {
			copy(p.ring[i:], p.ring[i+1:])
			p.ring[len(p.ring)-1] = nil
			p.ring = p.ring[:len(p.ring)-1]
			if i < p.next {
				p.next--
			}
			break
		}
	}
	if p.next >= len(p.ring) {
		p.next = 0
	}
}

// release hands the caller's worker to the next waiter in round-robin order
// across keys, dropping unhashed the waiters whose wait ran past their
// deadline, or frees it. took is how long the turn took (0: it did not run).
func (p *pool) release(took time.Duration) {
	if took > 0 {
		old := p.svc.Load()
		if old == 0 {
			p.svc.Store(int64(took))
		} else {
			p.svc.Store(old + (int64(took)-old)/8) // a racy average is fine: it is an estimate
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for p.waiting > 0 {
		ks := p.ring[p.next]
		w := ks.q[0]
		if len(ks.q) > 1 {
			p.next = (p.next + 1) % len(p.ring)
		}
		p.remove(w) // moves p.next back onto the following key if ks empties
		if now.After(w.deadline) {
			p.expired.Add(1)
			w.done <- p.busy()
			continue
		}
		w.done <- nil // the worker is w's now
		return
	}
	p.running--
}
