// Package redis is the shared rate-limit backend: every decision is one
// atomic round trip (a Lua script run with EVALSHA, falling back to EVAL when
// the server does not have it yet), and a batch of them one pipelined round
// trip, so limits hold across every gatehouse instance that uses the same
// Redis. Failover wraps it with a per-instance memory fallback for when Redis
// is unreachable.
//
// Keys all start with ratelimit.KeyPrefix and carry a hash tag ("{…}") around
// the whole key, so each script touches one slot and runs on Redis Cluster.
//
// Time: by default the scripts read the clock with Redis's TIME, so every
// instance decides against one clock and the skew between application hosts
// does not matter; tests pass Options.Now to control time.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// Client is what the backend needs of a go-redis client (*Client,
// *ClusterClient and *Ring all qualify).
type Client interface {
	goredis.Scripter
	Pipeline() goredis.Pipeliner
	Ping(ctx context.Context) *goredis.StatusCmd
	Del(ctx context.Context, keys ...string) *goredis.IntCmd
}

// Limiter is a ratelimit.Backend in Redis.
type Limiter struct {
	c      Client
	prefix string
	now    func() time.Time // nil: Redis TIME
}

// Options configure a Limiter.
type Options struct {
	// Prefix replaces ratelimit.KeyPrefix (tests: KeyPrefix plus a run id).
	Prefix string
	// Now, when set, is the clock; nil means the Redis server's TIME.
	Now func() time.Time
}

// New returns a Limiter over c.
func New(c Client, o Options) *Limiter {
	if o.Prefix == "" {
		o.Prefix = ratelimit.KeyPrefix
	}
	return &Limiter{c: c, prefix: o.Prefix, now: o.Now}
}

// Open parses a redis:// or rediss:// URL into a client tuned for limit
// decisions: short dial and socket timeouts, context deadlines honoured, one
// retry (a pooled connection that went stale when Redis restarted).
func Open(url string) (*goredis.Client, error) {
	o, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	o.DialTimeout = 500 * time.Millisecond
	o.ReadTimeout = 250 * time.Millisecond
	o.WriteTimeout = 250 * time.Millisecond
	o.PoolTimeout = 500 * time.Millisecond
	o.ContextTimeoutEnabled = true
	o.MaxRetries = 1
	return goredis.NewClient(o), nil
}

// Ping reports whether Redis answers.
func (l *Limiter) Ping(ctx context.Context) error { return l.c.Ping(ctx).Err() }

func (l *Limiter) key(kind, key string) string { return l.prefix + kind + "{" + key + "}" }

func (l *Limiter) nowArg() string {
	if l.now == nil {
		return "0"
	}
	return strconv.FormatInt(ratelimit.Micro(l.now()), 10)
}

// gcraScript is ratelimit.GCRA in Lua. KEYS[1] is a hash {t: tat, m: end of
// the denial mark} (unix µs). ARGV: now (µs; 0 = Redis TIME), emission
// interval (µs), window (µs), consume (1/0). Returns {allowed, tat-now,
// retry, first denial}.
var gcraScript = goredis.NewScript(`
local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local T = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'm')
local tat = tonumber(v[1]) or now
local mark = tonumber(v[2]) or 0
if tat < now then tat = now end
local newtat = tat + T
local allowat = newtat - win
if now < allowat then
  local first = 0
  if ARGV[4] == '1' and mark <= now then
    first = 1
    mark = now + win
    redis.call('HSET', KEYS[1], 'm', string.format('%.0f', mark))
    redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, mark) - now) / 1000))
  end
  return {0, tat - now, allowat - now, first}
end
if ARGV[4] ~= '1' then
  return {1, tat - now, 0, 0}
end
redis.call('HSET', KEYS[1], 't', string.format('%.0f', newtat))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(newtat, mark) - now) / 1000))
return {1, newtat - now, 0, 0}
`)

// failScript is ratelimit.CountFailure in Lua. KEYS[1] is a hash {n, e}.
// ARGV: now (µs; 0 = TIME), limit, window (µs), add (1/0).
// Returns {n, e-now, crossed}.
var failScript = goredis.NewScript(`
local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local limit = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'n', 'e')
local n = tonumber(v[1]) or 0
local e = tonumber(v[2]) or 0
if e <= now then
  n = 0
  e = now + win
end
local crossed = 0
if ARGV[4] == '1' then
  n = n + 1
  if n == limit then
    crossed = 1
    e = now + win
  end
  redis.call('HSET', KEYS[1], 'n', n, 'e', string.format('%.0f', e))
  redis.call('PEXPIRE', KEYS[1], math.ceil((e - now) / 1000))
end
return {n, e - now, crossed}
`)

// Allow implements ratelimit.Backend.
func (l *Limiter) Allow(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	o := l.run(ctx, ratelimit.Step{Op: ratelimit.OpAllow, Key: key, Policy: p})
	return o.Decision, o.Err
}

// Peek implements ratelimit.Backend.
func (l *Limiter) Peek(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	o := l.run(ctx, ratelimit.Step{Op: ratelimit.OpPeek, Key: key, Policy: p})
	return o.Decision, o.Err
}

// AddFailure implements ratelimit.Backend.
func (l *Limiter) AddFailure(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	o := l.run(ctx, ratelimit.Step{Op: ratelimit.OpAddFailure, Key: key, Policy: p})
	return o.Failures, o.Err
}

// Failures implements ratelimit.Backend.
func (l *Limiter) Failures(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Failures, error) {
	o := l.run(ctx, ratelimit.Step{Op: ratelimit.OpFailures, Key: key, Policy: p})
	return o.Failures, o.Err
}

// run takes one step: its script with EVALSHA, or EVAL when Redis lost it.
func (l *Limiter) run(ctx context.Context, s ratelimit.Step) ratelimit.Outcome {
	sc, keys, args := l.script(s, l.nowArg())
	return outcome(s, sc.Run(ctx, l.c, keys, args...))
}

// Batch implements ratelimit.Batcher: the steps' scripts go to Redis in one
// pipeline, one round trip, and run there in order, each atomic as alone.
// The steps Redis answers NOSCRIPT (it lost the script) are sent again with
// EVAL, in a second pipeline, as Script.Run does for one.
func (l *Limiter) Batch(ctx context.Context, steps []ratelimit.Step) []ratelimit.Outcome {
	now := l.nowArg()
	cmds := make([]*goredis.Cmd, len(steps))
	pipe := l.c.Pipeline()
	for i, s := range steps {
		if sc, keys, args := l.script(s, now); sc != nil {
			cmds[i] = sc.EvalSha(ctx, pipe, keys, args...)
		}
	}
	_, _ = pipe.Exec(ctx) // each command holds its own error
	var again goredis.Pipeliner
	for i, s := range steps {
		if cmds[i] != nil && goredis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			if again == nil {
				again = l.c.Pipeline()
			}
			sc, keys, args := l.script(s, now)
			cmds[i] = sc.Eval(ctx, again, keys, args...)
		}
	}
	if again != nil {
		_, _ = again.Exec(ctx)
	}
	out := make([]ratelimit.Outcome, len(steps))
	for i, s := range steps {
		if cmds[i] == nil {
			out[i].Err = errUnknownStep
		} else {
			out[i] = outcome(s, cmds[i])
		}
	}
	return out
}

var errUnknownStep = errors.New("redis rate limit: unknown step")

// script returns the script of s and its keys and arguments at now (see
// nowArg), or a nil script for an unknown step.
func (l *Limiter) script(s ratelimit.Step, now string) (*goredis.Script, []string, []any) {
	p := s.Policy
	switch s.Op {
	case ratelimit.OpAllow, ratelimit.OpPeek:
		consume := "0"
		if s.Op == ratelimit.OpAllow {
			consume = "1"
		}
		return gcraScript, []string{l.key("r", s.Key)}, []any{now, ratelimit.Interval(p), p.Window.Microseconds(), consume}
	case ratelimit.OpAddFailure, ratelimit.OpFailures:
		add := "0"
		if s.Op == ratelimit.OpAddFailure {
			add = "1"
		}
		return failScript, []string{l.key("f", s.Key)}, []any{now, p.Limit, p.Window.Microseconds(), add}
	}
	return nil, nil, nil
}

// outcome reads the reply of s's script.
func outcome(s ratelimit.Step, c *goredis.Cmd) ratelimit.Outcome {
	r, err := c.Int64Slice()
	if s.Op == ratelimit.OpAllow || s.Op == ratelimit.OpPeek {
		switch {
		case err != nil:
			return ratelimit.Outcome{Err: fmt.Errorf("redis rate limit: %w", err)}
		case len(r) != 4:
			return ratelimit.Outcome{Err: errors.New("redis rate limit: unexpected script reply")}
		}
		d := ratelimit.FromGCRA(s.Policy, r[0] == 1, r[1], r[2])
		d.FirstDenied = r[3] == 1
		return ratelimit.Outcome{Decision: d}
	}
	switch {
	case err != nil:
		return ratelimit.Outcome{Err: fmt.Errorf("redis failed-auth counter: %w", err)}
	case len(r) != 3:
		return ratelimit.Outcome{Err: errors.New("redis failed-auth counter: unexpected script reply")}
	}
	return ratelimit.Outcome{Failures: ratelimit.FromCount(s.Policy, int(r[0]), r[1], r[2] == 1)}
}

// ResetFailures implements ratelimit.Backend.
func (l *Limiter) ResetFailures(ctx context.Context, key string) error {
	if err := l.c.Del(ctx, l.key("f", key)).Err(); err != nil {
		return fmt.Errorf("redis failed-auth reset: %w", err)
	}
	return nil
}

var _ ratelimit.Batcher = (*Limiter)(nil)
