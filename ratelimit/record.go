package ratelimit

import (
	"context"
	"sync"
)

// Record collects the decisions taken for one request, so that whoever writes
// the response (package httpapi) can send RateLimit-Policy, RateLimit and
// Retry-After for every policy applied, also those applied deep in package
// auth once the account was known.
type Record struct {
	mu sync.Mutex
	ds []Decision
}

type recordKey struct{}

// NewContext returns a copy of ctx carrying a new, empty Record, and the Record.
func NewContext(ctx context.Context) (context.Context, *Record) {
	r := &Record{}
	return context.WithValue(ctx, recordKey{}, r), r
}

// FromContext returns the Record in ctx, or nil.
func FromContext(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

// Add appends d. A nil Record ignores it.
func (r *Record) Add(d Decision) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

// Decisions returns a copy of the decisions so far.
func (r *Record) Decisions() []Decision {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Decision(nil), r.ds...)
}
