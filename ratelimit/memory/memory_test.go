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
