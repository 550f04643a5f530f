package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
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

// A request for an address without an active account stores a decoy: a row
// with no user, used from the start, which even its hash cannot consume;
// a request for an active account stores a live link.
func TestMagicLinkDecoys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("jane@example.com")
		locked := e.signup("locked@example.com")
		if _, err := e.s.SetStatus(ctx, nil, locked.ID, gatehouse.StatusLocked, ""); err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"nobody@example.com", "locked@example.com", "jane@example.com"} {
			if err := e.s.RequestMagicLink(ctx, email); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := db.SQL().QueryContext(ctx, `select hash, user_id is null, used_at is not null from magic_links`)
		if err != nil {
			t.Fatal(err)
		}
		var decoys [][]byte
		live := 0
		for rows.Next() {
			var hash []byte
			var noUser, used bool
			if err := rows.Scan(&hash, &noUser, &used); err != nil {
				t.Fatal(err)
			}
			switch {
			case noUser && used:
				decoys = append(decoys, hash)
			case !noUser && !used:
				live++
			default:
				t.Fatalf("a magic link with no user %v and used %v", noUser, used)
			}
		}
		rows.Close()
		if len(decoys) != 2 || live != 1 {
			t.Fatalf("%d decoys and %d live links, want 2 and 1", len(decoys), live)
		}
		for _, h := range decoys {
			err := db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
				_, err := tx.ConsumeMagicLink(ctx, h, e.clock.Now())
				return err
			})
			if !errors.Is(err, gatehouse.ErrNotFound) {
				t.Fatalf("consuming a decoy by its hash: %v, want not found", err)
			}
		}
	})
}
