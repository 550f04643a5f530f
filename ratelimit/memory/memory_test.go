package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/ratelimit/ratelimittest"
)

func TestConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Backend {
		return memory.New(memory.Options{Now: now})
	})
}

func TestKeyCap(t *testing.T) {
	ctx := context.Background()
	s := memory.New(memory.Options{MaxKeys: 256})
	p := ratelimit.Policy{Name: "cap", Limit: 1, Window: time.Hour}
	for i := 0; i < 20_000; i++ {
		if _, err := s.Allow(ctx, fmt.Sprint(i), p); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n > 256 {
		t.Fatalf("%d keys stored, cap 256", n)
	}
}

// A flood of short-lived keys must not evict a live failed-auth block: the
// eviction takes the entry that expires first.
func TestEvictionKeepsLongLivedBlocks(t *testing.T) {
	ctx := context.Background()
	s := memory.New(memory.Options{MaxKeys: 256})
	ceiling := ratelimit.Policy{Name: "fa", Limit: 1, Window: time.Hour}
	if f, err := s.AddFailure(ctx, "victim", ceiling); err != nil || !f.Blocked {
		t.Fatalf("setup: %+v %v", f, err)
	}
	short := ratelimit.Policy{Name: "flood", Limit: 10, Window: time.Second}
	for i := 0; i < 50_000; i++ {
		if _, err := s.Allow(ctx, fmt.Sprint("flood", i), short); err != nil {
			t.Fatal(err)
		}
	}
	if f, _ := s.Failures(ctx, "victim", ceiling); !f.Blocked {
		t.Fatal("a flood of new keys evicted a live failed-auth block")
	}
}

// Refuse and Block set the state a refusal read elsewhere implies: refused
// until the retry time, with no second FirstDenied meanwhile, and never
// loosening what the store holds.
func TestRefuseAndBlock(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := memory.New(memory.Options{Now: func() time.Time { return now }})
	p := ratelimit.Policy{Name: "mirror", Limit: 5, Window: time.Minute}

	s.Refuse("k", p, 10*time.Second)
	d, _ := s.Allow(ctx, "k", p)
	if d.Allowed || d.FirstDenied || d.RetryAfter != 10*time.Second {
		t.Fatalf("after Refuse(10s): %+v, want refused for 10s without FirstDenied", d)
	}
	s.Refuse("k", p, time.Second) // shorter: must not loosen
	if d, _ := s.Peek(ctx, "k", p); d.Allowed || d.RetryAfter != 10*time.Second {
		t.Fatalf("a shorter Refuse loosened the bucket: %+v", d)
	}
	now = now.Add(10 * time.Second)
	if d, _ := s.Allow(ctx, "k", p); !d.Allowed {
		t.Fatalf("at the retry time: %+v, want allowed", d)
	}
	if d, _ := s.Allow(ctx, "fresh", p); !d.Allowed || d.Remaining != p.Limit-1 {
		t.Fatalf("a key never refused: %+v", d)
	}

	s.Block("a", p, 30*time.Second)
	f, _ := s.Failures(ctx, "a", p)
	if !f.Blocked || f.RetryAfter != 30*time.Second {
		t.Fatalf("after Block(30s): %+v", f)
	}
	s.Block("a", p, time.Second)
	if f, _ := s.Failures(ctx, "a", p); !f.Blocked || f.RetryAfter != 30*time.Second {
		t.Fatalf("a shorter Block loosened the counter: %+v", f)
	}
	now = now.Add(30 * time.Second)
	if f, _ := s.Failures(ctx, "a", p); f.Blocked {
		t.Fatalf("past the block: %+v", f)
	}
	s.Refuse("z", p, 0)
	s.Block("z", p, 0)
	if s.Len() != 3 {
		t.Fatalf("%d keys: a zero retry must store nothing", s.Len())
	}
}
