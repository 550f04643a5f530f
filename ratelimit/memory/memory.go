// Package memory is the in-process rate-limit backend: GCRA buckets,
// failed-auth counters and marks in a sharded map with expiring entries and a
// cap on the number of keys. It serves one instance (gatehouse serve --dev, no
// GATEHOUSE_REDIS_URL) and is the fallback while Redis is unreachable.
package memory

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// DefaultMaxKeys is the default cap on stored keys (about 100 bytes each).
const DefaultMaxKeys = 100_000

const (
	shardCount  = 64
	evictSample = 8 // entries looked at to pick one to evict (as Redis's approximated LRU)
	sweepEvery  = time.Second
)

// Store is a ratelimit.Backend in memory. It is safe for concurrent use.
type Store struct {
	now      func() time.Time
	perShard int
	seed     maphash.Seed
	shards   [shardCount]shard
}

type shard struct {
	mu        sync.Mutex
	m         map[string]entry
	nextSweep int64 // unix µs
}

// entry is one key's state: a GCRA tat in a and the end of its denial mark
// in b, or a failure count in a with the window's end in b; exp is when the
// entry means nothing any more (unix µs).
type entry struct {
	a, b int64
	exp  int64
}

// Options configure a Store.
type Options struct {
	MaxKeys int              // cap on stored keys; 0: DefaultMaxKeys
	Now     func() time.Time // clock; nil: time.Now
}

// New returns an empty Store.
func New(o Options) *Store {
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{now: o.Now, perShard: max(o.MaxKeys/shardCount, 1), seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[string]entry)
	}
	return s
}

// Len returns the number of stored keys (expired ones not yet swept included).
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

func (s *Store) shard(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)%shardCount]
}

// Allow implements ratelimit.Backend.
func (s *Store) Allow(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	return s.gcra(ctx, "r"+key, p, true)
}

// Peek implements ratelimit.Backend.
func (s *Store) Peek(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	return s.gcra(ctx, "r"+key, p, false)
}

func (s *Store) gcra(ctx context.Context, key string, p ratelimit.Policy, consume bool) (ratelimit.Decision, error) {
	if err := ctx.Err(); err != nil {
		return ratelimit.Decision{}, err
	}
	now := ratelimit.Micro(s.now())
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if ok && e.exp <= now {
		ok, e = false, entry{}
	}
	tat, mark, d := ratelimit.GCRA(now, e.a, e.b, p, consume)
	if consume && (d.Allowed || d.FirstDenied) {
		sh.put(s, key, entry{a: tat, b: mark, exp: max(tat, mark)}, ok, now)
	}
	return d, nil
}

// AddFailure implements ratelimit.Backend.
func (s *Store) AddFailure(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	return s.count(ctx, "f"+key, p, true)
}

// Failures implements ratelimit.Backend.
func (s *Store) Failures(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	return s.count(ctx, "f"+key, p, false)
}

func (s *Store) count(ctx context.Context, key string, p ratelimit.Policy, add bool) (ratelimit.Failures, error) {
	if err := ctx.Err(); err != nil {
		return ratelimit.Failures{}, err
	}
	now := ratelimit.Micro(s.now())
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	n, end, f := ratelimit.CountFailure(now, int(e.a), e.b, p, add)
	if add {
		sh.put(s, key, entry{a: int64(n), b: end, exp: end}, ok, now)
	}
	return f, nil
}

// ResetFailures implements ratelimit.Backend.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	key = "f" + key
	sh := s.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
	return ctx.Err()
}

// Refuse makes key's bucket under p refuse for retryAfter from now, without
// a second FirstDenied meanwhile: the state that a refusal decided elsewhere
// (in Redis) implies. It never loosens what the store already holds.
// redis.Failover calls it for every refusal Redis answers, so that a
// fallback to memory starts from those refusals instead of a fresh
// allowance for a key already over its limit.
func (s *Store) Refuse(key string, p ratelimit.Policy, retryAfter time.Duration) {
	if retryAfter <= 0 {
		return
	}
	key = "r" + key
	now := ratelimit.Micro(s.now())
	until := now + retryAfter.Microseconds()
	// GCRA refuses while now < tat + interval - window (ratelimit.GCRA).
	tat := until + p.Window.Microseconds() - ratelimit.Interval(p)
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if ok && e.exp > now && e.a >= tat && e.b >= until {
		return
	}
	sh.put(s, key, entry{a: max(tat, e.a), b: max(until, e.b), exp: max(tat, until, e.exp)}, ok, now)
}

// Block makes key's failed-auth counter under p blocked for retryAfter from
// now, as Refuse does for a bucket: the state a blocked counter read in Redis
// implies.
func (s *Store) Block(key string, p ratelimit.Policy, retryAfter time.Duration) {
	if retryAfter <= 0 {
		return
	}
	key = "f" + key
	now := ratelimit.Micro(s.now())
	until := now + retryAfter.Microseconds()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if ok && e.b > now && int(e.a) >= p.Limit && e.b >= until {
		return
	}
	sh.put(s, key, entry{a: int64(max(p.Limit, int(e.a))), b: until, exp: until}, ok, now)
}

// put stores e under key; existed says key is already in the map. A new key
// in a full shard first sweeps expired entries (at most once per second), then
// evicts, of a few sampled entries, the one that expires first: it holds the
// least limiting state (a bucket closest to full, a counter closest to its
// window's end), so a flood of new keys cannot cheaply erase a live block.
// The caller holds sh.mu.
func (sh *shard) put(s *Store, key string, e entry, existed bool, now int64) {
	if !existed && len(sh.m) >= s.perShard {
		if now >= sh.nextSweep {
			sh.nextSweep = now + sweepEvery.Microseconds()
			for k, v := range sh.m {
				if v.exp <= now {
					delete(sh.m, k)
				}
			}
		}
		if len(sh.m) >= s.perShard {
			victim, first, seen := "", int64(0), 0
			for k, v := range sh.m { // map iteration starts at a random place
				if seen == 0 || v.exp < first {
					victim, first = k, v.exp
				}
				if seen++; seen == evictSample {
					break
				}
			}
			delete(sh.m, victim)
		}
	}
	sh.m[key] = e
}

var _ ratelimit.Backend = (*Store)(nil)
