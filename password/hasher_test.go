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

// fast are cheap parameters for tests that are about behaviour, not cost.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, Config{Params: fast})
	const pw = "a long enough passphrase for tests"
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding %q", enc)
	}
	if enc2, _ := h.Hash(ctx, pw); enc2 == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	ok, rehash, err := h.Verify(ctx, pw, enc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	for _, wrong := range []string{"", "a long enough passphrase for test", "A long enough passphrase for tests", pw + " "} {
		if ok, _, err := h.Verify(ctx, wrong, enc); ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash of a current hash")
	}
}

func TestRehashWhenParamsRise(t *testing.T) {
	ctx := context.Background()
	old := newHasher(t, Config{Params: fast})
	enc, _ := old.Hash(ctx, "correct horse staple battery extra")
	stronger := fast
	stronger.Time = 2
	h := newHasher(t, Config{Params: stronger})
	ok, rehash, err := h.Verify(ctx, "correct horse staple battery extra", enc)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify old hash under stronger params = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	if !h.NeedsRehash(enc) {
		t.Fatal("NeedsRehash = false for weaker params")
	}
	if ok, rehash, _ := h.Verify(ctx, "wrong password, long enough anyway", enc); ok || rehash {
		t.Fatal("a wrong password must not ask for a rehash")
	}
	// Lower parameters than stored: no rehash (never weaken).
	if old.NeedsRehash(func() string { s, _ := h.Hash(ctx, "x"); return s }()) {
		t.Fatal("NeedsRehash when the stored hash is stronger")
	}
}

func TestNeverTruncated(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, Config{Params: fast})
	a := strings.Repeat("x", MaxBytes-1) + "a"
	b := strings.Repeat("x", MaxBytes-1) + "b"
	enc, err := h.Hash(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := h.Verify(ctx, b, enc); ok {
		t.Fatal("passwords differing in the last byte verify as equal")
	}
}

func TestNormalizedBeforeHashing(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, Config{Params: fast})
	composed := "caf\u00e9 au lait avec du sucre"    // é as one code point
	decomposed := "cafe\u0301 au lait avec du sucre" // e + combining acute
	nbsp := "caf\u00e9\u00a0au lait avec du sucre"   // no-break space
	enc, _ := h.Hash(ctx, decomposed)
	for _, pw := range []string{composed, nbsp} {
		if ok, _, _ := h.Verify(ctx, pw, enc); !ok {
			t.Errorf("%q does not verify against the hash of its canonical equivalent", pw)
		}
	}
}

func TestTooLongRefusedBeforeHashing(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, Config{Params: fast})
	long := strings.Repeat("a", MaxBytes+1)
	before := h.Count()
	_, err := h.Hash(ctx, long)
	if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
		t.Fatalf("Hash(too long) = %v, want invalid_request", err)
	}
	if _, _, err := h.Verify(ctx, long, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
		t.Fatalf("Verify(too long) = %v, want invalid_request", err)
	}
	if err := h.VerifyDummy(ctx, long); gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
		t.Fatalf("VerifyDummy(too long) = %v, want invalid_request", err)
	}
	if h.Count() != before {
		t.Fatalf("argon2 ran %d times for refused passwords", h.Count()-before)
	}
	if _, err := h.Hash(ctx, strings.Repeat("a", MaxBytes)); err != nil {
		t.Fatalf("exactly MaxBytes refused: %v", err)
	}
}

func TestDummyCountsAndNeverMatches(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, Config{})
	if h.dummy.Params != DefaultParams {
		t.Fatalf("dummy params %+v, want the hasher's %+v", h.dummy.Params, DefaultParams)
	}
	before := h.Count()
	if err := h.VerifyDummy(ctx, "anything at all"); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, "", ""); ok || err != nil {
		t.Fatalf("Verify against no hash = %v, %v", ok, err)
	}
	// The dummy itself, encoded and stored somewhere, must not match either.
	if ok, _, _ := h.Verify(ctx, "", h.dummy.String()); ok {
		t.Fatal("the dummy matched")
	}
	if got := h.Count() - before; got != 3 {
		t.Fatalf("Count rose by %d, want 3", got)
	}
}

func TestMalformedStoredHash(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, Config{Params: fast})
	before := h.Count()
	ok, _, err := h.Verify(ctx, "whatever password here", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	if ok || !errors.Is(err, ErrMalformed) {
		t.Fatalf("Verify(malformed) = %v, %v", ok, err)
	}
	if h.Count() != before+1 {
		t.Fatal("a malformed hash must cost the same work as a real one")
	}
}

func TestConcurrencyCapped(t *testing.T) {
	h := newHasher(t, Config{Params: fast, Concurrency: 1000})
	if h.Concurrency() != runtime.NumCPU() {
		t.Fatalf("Concurrency = %d, want NumCPU %d", h.Concurrency(), runtime.NumCPU())
	}
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.do(context.Background(), func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				running.Add(-1)
			})
		}()
	}
	wg.Wait()
	if p := peak.Load(); p < 1 || int(p) > runtime.NumCPU() {
		t.Fatalf("peak concurrency %d, want 1..%d", p, runtime.NumCPU())
	}
}

func TestQueueFullIsUnavailable(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, Config{Params: fast, Concurrency: 1, QueueLimit: 1})
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(ctx, func() { close(started); <-release })
	<-started
	// One caller may wait.
	waited := make(chan error, 1)
	go func() { _, err := h.Hash(ctx, "a queued password of some length"); waited <- err }()
	for h.Stats().Waiting < 1 {
		runtime.Gosched()
	}
	// The next is refused at once, without hashing.
	before := h.Count()
	_, err := h.Hash(ctx, "one password too many for the pool")
	if !errors.Is(err, ErrBusy) || gatehouse.ErrorCode(err) != gatehouse.EUnavailable {
		t.Fatalf("Hash on a full pool = %v, want ErrBusy (unavailable)", err)
	}
	if err := h.VerifyDummy(ctx, "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyDummy on a full pool = %v", err)
	}
	if h.Count() != before || h.Busy() != 2 {
		t.Fatalf("Count moved by %d, Busy = %d", h.Count()-before, h.Busy())
	}
	close(release)
	if err := <-waited; err != nil {
		t.Fatalf("the queued caller failed: %v", err)
	}
}

func TestCancelledWhileQueued(t *testing.T) {
	h := newHasher(t, Config{Params: fast, Concurrency: 1})
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(context.Background(), func() { close(started); <-release })
	<-started
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "cancelled before its turn came"); gatehouse.ErrorCode(err) != gatehouse.EUnavailable {
		t.Fatalf("Hash with a cancelled context = %v", err)
	}
}

func BenchmarkHash(b *testing.B) {
	h := newHasher(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "a benchmark passphrase of decent length"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := newHasher(b, Config{})
	ctx := context.Background()
	enc, _ := h.Hash(ctx, "a benchmark passphrase of decent length")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "a benchmark passphrase of decent length", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkVerifyParallel shows the pool's throughput on all cores.
func BenchmarkVerifyParallel(b *testing.B) {
	h := newHasher(b, Config{QueueLimit: 1024})
	ctx := context.Background()
	enc, _ := h.Hash(ctx, "a benchmark passphrase of decent length")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(ctx, "a benchmark passphrase of decent length", enc); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
