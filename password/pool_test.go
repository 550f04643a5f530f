package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// held is a Hasher with one worker, held busy until release is called, so
// that every arrival queues and the order of events is the test's.
type held struct {
	t       *testing.T
	h       *Hasher
	release func()

	mu      sync.Mutex
	served  []string           // keys in the order their turn ran
	results map[string][]error // per key, each arrival's result
	wg      sync.WaitGroup
}

func newHeld(t *testing.T, cfg Config) *held {
	cfg.Params, cfg.Concurrency = fast, 1
	x := &held{t: t, h: newHasher(t, cfg), results: map[string][]error{}}
	gate, started := make(chan struct{}), make(chan struct{})
	go x.h.Do(context.Background(), func() { close(started); <-gate })
	<-started
	var once sync.Once
	x.release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(x.release)
	return x
}

// progress counts the arrivals the pool has decided on: queued, refused or
// displacing someone.
func (x *held) progress() uint64 {
	st := x.h.Stats()
	return uint64(st.Waiting) + st.Refused + st.Displaced + st.Expired
}

// arrive sends one caller with key and returns once the pool has queued or
// refused it.
func (x *held) arrive(ctx context.Context, key string) {
	before := x.progress()
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		if _, ok := ctx.Value(keyCtx{}).(*ticket); !ok {
			ctx = WithKey(ctx, key)
		}
		err := x.h.Do(ctx, func() {
			x.mu.Lock()
			x.served = append(x.served, key)
			x.mu.Unlock()
		})
		x.mu.Lock()
		x.results[key] = append(x.results[key], err)
		x.mu.Unlock()
	}()
	for x.progress() == before {
		runtime.Gosched()
	}
}

// finish releases the pool and waits for every arrival's answer.
func (x *held) finish() {
	x.release()
	x.wg.Wait()
}

func (x *held) refused(key string) int {
	n := 0
	for _, err := range x.results[key] {
		if err != nil {
			if !errors.Is(err, ErrBusy) || gatehouse.ErrorCode(err) != gatehouse.EUnavailable {
				x.t.Errorf("%s: refusal %v, want ErrBusy", key, err)
			}
			n++
		}
	}
	return n
}

func TestPoolFairness(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    int
		arrivals string         // one key per letter, in order
		refused  map[string]int // arrivals answered ErrBusy, per key
		served   string         // the order the others ran in
	}{
		{"one key alone may fill the queue", 4, "aaaa", nil, "aaaa"},
		{"beyond it, one key is refused", 4, "aaaaa", map[string]int{"a": 1}, "aaaa"},
		{"a newcomer takes the newest place of the heaviest key", 4, "aaaab", map[string]int{"a": 1}, "abaa"},
		{"a flood keeps no more than its share while others wait", 4, "aaaabbb", map[string]int{"a": 2, "b": 1}, "abab"},
		{"shares even out over many keys", 4, "aabbcde", map[string]int{"a": 1, "b": 1, "e": 1}, "abcd"},
		{"late arrivals of the heavy key are refused", 4, "aaaabba", map[string]int{"a": 3}, "abab"},
		{"no queue: every arrival is refused", -1, "ab", map[string]int{"a": 1, "b": 1}, ""},
		{"round-robin across keys, FIFO within one", 6, "aaabbc", nil, "abcaba"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newHeld(t, Config{QueueLimit: tc.limit})
			for _, k := range tc.arrivals {
				x.arrive(context.Background(), string(k))
			}
			x.finish()
			for _, k := range "abcde" {
				if got, want := x.refused(string(k)), tc.refused[string(k)]; got != want {
					t.Errorf("key %c: %d refused, want %d", k, got, want)
				}
			}
			if got := strings.Join(x.served, ""); got != tc.served {
				t.Errorf("served in order %q, want %q", got, tc.served)
			}
			if got, want := x.h.Count(), uint64(1+len(tc.served)); got != want {
				t.Errorf("Count = %d, want %d: a refused caller was hashed", got, want)
			}
		})
	}
}

// TestPoolDropsExpiredWaiters: a waiter whose wait ran past MaxWait or its
// context's deadline when its turn comes is dropped without being hashed.
func TestPoolDropsExpiredWaiters(t *testing.T) {
	base := time.Now()
	for _, tc := range []struct {
		name     string
		maxWait  time.Duration
		deadline time.Duration // of the waiter's context, from base; 0: none
		advance  time.Duration // the clock when the turn comes
		dropped  bool
	}{
		{"within MaxWait", time.Second, 0, time.Second, false},
		{"past MaxWait", time.Second, 0, time.Second + 1, true},
		{"within its deadline", 2 * time.Hour, time.Hour, time.Hour, false},
		{"past its deadline, within MaxWait", 2 * time.Hour, time.Hour, time.Hour + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newHeld(t, Config{MaxWait: tc.maxWait})
			var clock atomic.Int64
			x.h.now = func() time.Time { return base.Add(time.Duration(clock.Load())) }
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, base.Add(tc.deadline))
				defer cancel()
			}
			x.arrive(ctx, "a")
			clock.Store(int64(tc.advance))
			x.finish()
			if got := x.refused("a") == 1; got != tc.dropped {
				t.Fatalf("dropped = %v, want %v (%v)", got, tc.dropped, x.results["a"])
			}
			wantCount, wantExpired := uint64(2), uint64(0)
			if tc.dropped {
				wantCount, wantExpired = 1, 1
			}
			if x.h.Count() != wantCount || x.h.Stats().Expired != wantExpired {
				t.Fatalf("Count = %d, Expired = %d; want %d, %d", x.h.Count(), x.h.Stats().Expired, wantCount, wantExpired)
			}
		})
	}
}

// TestPoolRefusesAnExpectedWaitOverMaxWait: with a turn measured at one
// second on one worker, a caller that would wait more than MaxWait is
// refused on arrival, and Admit says so beforehand.
func TestPoolRefusesAnExpectedWaitOverMaxWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxWait time.Duration
		admit   int // how many of three arrivals of one key are queued
	}{
		{"one second", time.Second, 1},
		{"two seconds", 2 * time.Second, 2},
		{"an hour: the queue limit binds", time.Hour, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newHeld(t, Config{MaxWait: tc.maxWait, QueueLimit: 2})
			x.h.svc.Store(int64(time.Second))
			for i := 0; i < 3; i++ {
				if got, want := x.h.Admit("a"), i < tc.admit; got != want {
					t.Errorf("arrival %d: Admit = %v, want %v", i, got, want)
				}
				x.arrive(context.Background(), "a")
			}
			x.finish()
			if got := x.refused("a"); got != 3-tc.admit {
				t.Fatalf("%d refused, want %d", got, 3-tc.admit)
			}
		})
	}
}

func TestAdmitFollowsFairness(t *testing.T) {
	x := newHeld(t, Config{QueueLimit: 3})
	for _, k := range "aab" {
		if !x.h.Admit(string(k)) {
			t.Fatalf("Admit(%c) on a queue with room = false", k)
		}
		x.arrive(context.Background(), string(k))
	}
	// Full: a (2 waiting) and b (1) would not take a place; c would take a's.
	for _, tc := range []struct {
		key  string
		want bool
	}{{"a", false}, {"b", false}, {"c", true}, {"", true}} {
		if got := x.h.Admit(tc.key); got != tc.want {
			t.Errorf("Admit(%q) on a full queue = %v, want %v", tc.key, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { x.h.Admit("a"); x.h.Admit("c") }); n != 0 {
		t.Errorf("Admit allocates %v times", n)
	}
	x.finish()
}

func TestRetryAfterJitteredWithinBounds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		svc     time.Duration // measured turn
		waiting int
		lo, hi  time.Duration
	}{
		{"nothing measured yet", 0, 0, time.Second, 2 * time.Second},
		{"a short queue: at least a second", 20 * time.Millisecond, 10, time.Second, 2 * time.Second},
		{"drain time of five seconds", time.Second, 4, 5 * time.Second, 10 * time.Second},
		{"drain time rounded up", 1100 * time.Millisecond, 2, 4 * time.Second, 8 * time.Second},
		{"capped at MaxRetryAfter", time.Minute, 64, MaxRetryAfter / 2, MaxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHasher(t, Config{Params: fast, Concurrency: 1})
			h.svc.Store(int64(tc.svc))
			h.nWaiting.Store(int64(tc.waiting))
			seen := map[time.Duration]bool{}
			for i := 0; i < 200; i++ {
				d := h.RetryAfter()
				if d < tc.lo || d > tc.hi || d%time.Second != 0 {
					t.Fatalf("RetryAfter = %v, want whole seconds in [%v, %v]", d, tc.lo, tc.hi)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Fatalf("200 draws gave only %v: not jittered", seen)
			}
			var be *BusyError
			if err := h.busy(); !errors.As(err, &be) || be.RetryAfter() < tc.lo || be.RetryAfter() > tc.hi {
				t.Fatalf("refusal %v carries no wait in bounds", err)
			}
		})
	}
}

// TestCancelledWaiterLeavesTheQueue: a waiter whose context ends leaves its
// place, is not hashed, and the key's share is given back.
func TestCancelledWaiterLeavesTheQueue(t *testing.T) {
	x := newHeld(t, Config{QueueLimit: 2})
	ctx, cancel := context.WithCancel(context.Background())
	x.arrive(ctx, "a")
	x.arrive(context.Background(), "b")
	cancel()
	for x.h.Stats().Waiting != 1 {
		runtime.Gosched()
	}
	x.arrive(context.Background(), "b") // room again
	x.finish()
	if got := strings.Join(x.served, ""); got != "bb" {
		t.Fatalf("served %q, want bb", got)
	}
	if len(x.results["a"]) != 1 || gatehouse.ErrorCode(x.results["a"][0]) != gatehouse.EUnavailable {
		t.Fatalf("the cancelled waiter got %v", x.results["a"])
	}
}

// TestReserveHoldsPlaces: places held by Reserve count as taken until their
// request reaches the pool or ends, so requests admitted together are not
// all refused later by the pool; a place is given back once, however the
// request ends.
func TestReserveHoldsPlaces(t *testing.T) {
	x := newHeld(t, Config{QueueLimit: 2})
	ctxA, releaseA, okA := x.h.Reserve(context.Background(), "a")
	_, releaseB, okB := x.h.Reserve(context.Background(), "b")
	if !okA || !okB {
		t.Fatalf("Reserve on an empty queue = %v, %v", okA, okB)
	}
	if _, _, ok := x.h.Reserve(context.Background(), "c"); ok || x.h.Admit("c") {
		t.Fatal("a third place was given while two are held")
	}
	if st := x.h.Stats(); st.Pending != 2 || st.Waiting != 0 {
		t.Fatalf("Stats = %+v, want 2 pending", st)
	}
	releaseB() // b ended without hashing (a taken email, a bad body)
	releaseB()
	x.arrive(ctxA, "ignored: the ticket's key is used") // a reaches the pool: its place moves to the queue
	releaseA()                                          // the request ends: nothing more to give back
	if st := x.h.Stats(); st.Pending != 0 || st.Waiting != 1 {
		t.Fatalf("Stats = %+v, want 0 pending, 1 waiting", st)
	}
	if _, _, ok := x.h.Reserve(context.Background(), "c"); !ok {
		t.Fatal("no place for c once b gave its place back")
	}
	x.finish()
}
