package httpapi

import (
	"sync"
	"time"
)

// coalescer lets one event per key through per window and counts the rest,
// so that a flood of refused requests (one script sending forged Origin
// headers) writes one audit row per client and minute, not one per request.
type coalescer struct {
	mu     sync.Mutex
	window time.Duration
	max    int // entries kept; when full, the table starts over
	seen   map[string]*coalesced
}

type coalesced struct {
	first      time.Time
	suppressed int
}

func newCoalescer(window time.Duration, max int) *coalescer {
	return &coalescer{window: window, max: max, seen: map[string]*coalesced{}}
}

// allow reports whether an event for key should be recorded at now, and how
// many events for key were suppressed since the last one recorded.
func (c *coalescer) allow(key string, now time.Time) (bool, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.seen[key]
	if ok && now.Sub(e.first) < c.window {
		e.suppressed++
		return false, 0
	}
	suppressed := 0
	if ok {
		suppressed = e.suppressed
	}
	if !ok && len(c.seen) >= c.max {
		// Drop what has expired; if nothing has, start over rather than grow.
		for k, v := range c.seen {
			if now.Sub(v.first) >= c.window {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			clear(c.seen)
		}
	}
	c.seen[key] = &coalesced{first: now}
	return true, suppressed
}
