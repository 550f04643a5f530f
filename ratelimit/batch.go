package ratelimit

import (
	"context"
	"fmt"
)

// Op is what a Step does: the Backend method of the same name.
type Op int

const (
	OpAllow      Op = iota // Backend.Allow: consumes one request
	OpPeek                 // Backend.Peek
	OpAddFailure           // Backend.AddFailure: counts one failure
	OpFailures             // Backend.Failures
)

// Step is one decision of a batch: Op on Key under Policy.
type Step struct {
	Op     Op
	Key    string
	Policy Policy
}

// Outcome is what a Step decided: Decision for OpAllow and OpPeek, Failures
// for OpAddFailure and OpFailures, or Err.
type Outcome struct {
	Decision Decision
	Failures Failures
	Err      error
}

// Batcher is a Backend that takes several steps in one round trip
// (redis.Limiter: one pipeline of its scripts; redis.Failover).
type Batcher interface {
	Backend
	// Batch takes steps in order, each exactly as the Backend method of its
	// Op would (each one atomic, the batch as a whole not), and returns one
	// Outcome per step.
	Batch(ctx context.Context, steps []Step) []Outcome
}

// Batch takes steps on b in order: in one round trip when b is a Batcher,
// else one call after another. Every step is taken, whatever the outcome
// of the ones before it.
func Batch(ctx context.Context, b Backend, steps []Step) []Outcome {
	if bb, ok := b.(Batcher); ok && len(steps) > 1 {
		return bb.Batch(ctx, steps)
	}
	out := make([]Outcome, len(steps))
	for i, s := range steps {
		o := &out[i]
		switch s.Op {
		case OpAllow:
			o.Decision, o.Err = b.Allow(ctx, s.Key, s.Policy)
		case OpPeek:
			o.Decision, o.Err = b.Peek(ctx, s.Key, s.Policy)
		case OpAddFailure:
			o.Failures, o.Err = b.AddFailure(ctx, s.Key, s.Policy)
		case OpFailures:
			o.Failures, o.Err = b.Failures(ctx, s.Key, s.Policy)
		default:
			o.Err = fmt.Errorf("ratelimit: unknown step %d", s.Op)
		}
	}
	return out
}

// EnforceAttempt is l.Enforce(ctx, name, identity) (skipped when name is
// empty) and then fa.Enforce(ctx, ip, account), with the same outcome, the
// same decisions added to the request's Record and the same OnExceeded
// calls, but taken in one round trip when l and fa share a Batcher: the
// policy's request is consumed first, also when a ceiling then refuses; the
// ceilings are only read; when the policy refuses (or its backend fails),
// that is the answer, and the ceilings, read in the same round trip, are
// neither used nor recorded. Package auth's guard calls it before every
// credential check.
func EnforceAttempt(ctx context.Context, l *Limits, name, identity string, fa *FailedAuth, ip, account string) error {
	if name == "" {
		return fa.Enforce(ctx, ip, account)
	}
	p, ok := l.policies[name]
	if !ok || l.backend != fa.backend {
		if err := l.Enforce(ctx, name, identity); err != nil {
			return err
		}
		return fa.Enforce(ctx, ip, account)
	}
	steps := append([]Step{{Op: OpAllow, Key: Key(name, identity), Policy: p}}, fa.steps(ip, account, OpFailures)...)
	out := Batch(ctx, l.backend, steps)
	if err := enforced(l.took(ctx, out[0].Decision, out[0].Err)); err != nil {
		return err
	}
	v, err := fa.verdict(ip, account, out[1:])
	return enforceVerdict(ctx, v, err)
}
