package auth_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// A magic-link request sends the same statements whether the address has an
// active account, a locked one, or none (BEGIN, the user look-up, the
// INSERT of a magic link, the INSERT of magic_link.requested, COMMIT): for
// an address without an active account the link is a decoy no one can
// consume, so the answer's timing does not tell which addresses exist.
func TestMagicLinkRequestStatements(t *testing.T) {
	db, qc := countingPostgres(t)
	e := newEnv(t, db, nil)
	e.signup("jane@example.com")
	locked := e.signup("locked@example.com")
	if _, err := e.s.SetStatus(ctx, nil, locked.ID, gatehouse.StatusLocked, ""); err != nil {
		t.Fatal(err)
	}
	count := func(email string) int64 {
		before := qc.n.Load()
		if err := e.s.RequestMagicLink(ctx, email); err != nil {
			t.Fatal(err)
		}
		return qc.n.Load() - before
	}
	known := count("jane@example.com")
	if known != 5 {
		t.Fatalf("a request for a known address sent %d statements, want 5", known)
	}
	for _, email := range []string{"nobody@example.com", "locked@example.com"} {
		if n := count(email); n != known {
			t.Fatalf("a request for %s sent %d statements, one for a known address %d", email, n, known)
		}
	}
}

// BenchmarkMagicLinkRequest compares, on PostgreSQL, a magic-link request
// for a known address with one for an unknown address, interleaved one for
// one so that a shared machine's load hits both alike, and reports each
// one's mean (known-ms, unknown-ms) and their ratio; they should cost the
// same. No assertion: compare the figures.
func BenchmarkMagicLinkRequest(b *testing.B) {
	db, _ := countingPostgres(b)
	s := benchEnv(b, db, fastParams)
	if _, err := s.Signup(ctx, "jane@example.com", goodPassword); err != nil {
		b.Fatal(err)
	}
	var known, unknown time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, email := range []string{"jane@example.com", "nobody@example.com"} {
			t0 := time.Now()
			if err := s.RequestMagicLink(ctx, email); err != nil {
				b.Fatal(err)
			}
			if d := time.Since(t0); email == "nobody@example.com" {
				unknown += d
			} else {
				known += d
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(known.Seconds()*1000/float64(b.N), "known-ms")
	b.ReportMetric(unknown.Seconds()*1000/float64(b.N), "unknown-ms")
	b.ReportMetric(known.Seconds()/unknown.Seconds(), "known/unknown")
}
