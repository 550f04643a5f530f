package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Config configures a Hasher. The zero value is valid.
type Config struct {
	// Params for new hashes; zero: DefaultParams.
	Params Params
	// Concurrency is how many hashes run at once; 0 or more than
	// runtime.NumCPU(): runtime.NumCPU(). Each holds Params.Memory KiB.
	Concurrency int
	// QueueLimit is how many more callers may wait for a turn; beyond that a
	// call fails at once with ErrBusy (503 unavailable). 0: DefaultQueueLimit;
	// negative: no waiting at all.
	QueueLimit int
	// MaxWait is how long a caller may wait for its turn: a caller whose
	// expected wait is longer is refused on arrival, and one that has waited
	// longer when its turn comes is dropped without hashing (its client has
	// most likely given up). 0: DefaultMaxWait.
	MaxWait time.Duration
}

// DefaultQueueLimit is the default number of callers that may wait for the
// pool. At ~20 ms a hash on one core, 64 waiting callers on 2 cores wait at
// most ~0.7 s: beyond that, answering 503 at once is kinder than a timeout.
const DefaultQueueLimit = 64

// DefaultMaxWait is the default bound on a caller's wait for the pool: well
// under the patience of an interactive sign-in, and what keeps the latency
// of admitted sign-ins bounded under overload (docs/performance.md).
const DefaultMaxWait = time.Second

// ErrBusy is returned when the hashing pool and its queue are full. The
// error actually returned is a *BusyError that wraps it (errors.Is(err,
// ErrBusy) holds) and carries when to come back.
var ErrBusy = &gatehouse.Error{Code: gatehouse.EUnavailable, Message: "the server is busy; try again shortly"}

// Hasher hashes and verifies passwords with argon2id in a bounded, fair pool
// (pool.go). Its methods are safe for concurrent use.
type Hasher struct {
	params  Params
	dummy   *Hash
	count   atomic.Uint64
	maxConc int
	pool
}

// New returns a Hasher for cfg.
func New(cfg Config) (*Hasher, error) {
	p := cfg.Params
	if p == (Params{}) {
		p = DefaultParams
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	conc := cfg.Concurrency
	if n := runtime.NumCPU(); conc <= 0 || conc > n {
		conc = n
	}
	queue := cfg.QueueLimit
	switch {
	case queue == 0:
		queue = DefaultQueueLimit
	case queue < 0:
		queue = 0
	}
	maxWait := cfg.MaxWait
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	// The dummy hash for unknown users has our parameters but a random key
	// that no password derives to, so verifying against it costs exactly what
	// a real verification costs and always fails. It costs nothing to make.
	dummy := &Hash{Params: p, Salt: make([]byte, p.SaltLen), Key: make([]byte, p.KeyLen)}
	rand.Read(dummy.Salt)
	rand.Read(dummy.Key)
	h := &Hasher{
		params:  p,
		dummy:   dummy,
		maxConc: conc,
	}
	h.pool.init(conc, queue, maxWait)
	return h, nil
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

// Count returns how many argon2id computations have run (hashes and
// verifications, dummy ones included). Rate-limit tests use it to prove that
// an over-limit request did no hashing.
func (h *Hasher) Count() uint64 { return h.count.Load() }

// Busy returns how many calls the pool answered with ErrBusy: refused on
// arrival, displaced by a fairer claim, or dropped after waiting too long.
func (h *Hasher) Busy() uint64 {
	st := h.Stats()
	return st.Refused + st.Displaced + st.Expired
}

// Concurrency returns how many computations may run at once.
func (h *Hasher) Concurrency() int { return h.maxConc }

// Do runs fn as one turn of the pool, under the same admission, fairness and
// wait bound as a hash. The password functions use it; tests of callers use
// it to hold the pool.
func (h *Hasher) Do(ctx context.Context, fn func()) error { return h.do(ctx, fn) }

// do runs fn in the pool: at once when a worker is free, else after a fair
// wait in the queue, or not at all (ErrBusy, or a context error).
func (h *Hasher) do(ctx context.Context, fn func()) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	start := h.now()
	h.count.Add(1)
	fn()
	h.release(h.now().Sub(start))
	return nil
}

// Hash returns the PHC string of password's argon2id hash with a new random
// salt. The password is normalized first (see Normalize); one over MaxBytes is
// refused with invalid_request before any work.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxBytes {
		return "", errTooLong
	}
	pw := []byte(Normalize(password))
	out := &Hash{Params: h.params, Salt: make([]byte, h.params.SaltLen)}
	if _, err := rand.Read(out.Salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	if err := h.do(ctx, func() { out.Key = derive(pw, out.Salt, h.params) }); err != nil {
		return "", err
	}
	return out.String(), nil
}

// Verify reports whether password matches the PHC string encoded, and
// whether that hash should be replaced because its parameters are below the
// Hasher's. An empty encoded (an account without a password) is verified
// against the dummy hash and never matches. A malformed encoded is an
// internal error; it is still answered after the same work as a real check.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	if len(password) > MaxBytes {
		return false, false, errTooLong
	}
	stored := h.dummy
	var parseErr error
	if encoded != "" {
		if stored, parseErr = Parse(encoded); parseErr != nil {
			stored = h.dummy
		}
	}
	pw := []byte(Normalize(password))
	var key []byte
	if err := h.do(ctx, func() { key = derive(pw, stored.Salt, stored.Params) }); err != nil {
		return false, false, err
	}
	if parseErr != nil {
		return false, false, parseErr
	}
	ok = subtle.ConstantTimeCompare(key, stored.Key) == 1 && stored != h.dummy
	return ok, ok && stored.Params.weakerThan(h.params), nil
}

// VerifyDummy does the work of one verification against a hash that nothing
// matches, for an unknown user, so that the answer takes as long as for a
// known user with a wrong password (OWASP Authentication Cheat Sheet,
// "Authentication Responses"). It returns only ErrBusy or a context error.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	if len(password) > MaxBytes {
		return errTooLong
	}
	_, _, err := h.Verify(ctx, password, "")
	return err
}

// NeedsRehash reports whether the hash encoded was made with parameters below
// the Hasher's (or cannot be parsed), so that a successful login should store
// a new hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, err := Parse(encoded)
	return err != nil || p.Params.weakerThan(h.params)
}
