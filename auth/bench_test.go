package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/postgres"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// queryCounter counts every statement pgx sends, BEGIN and COMMIT included.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// countingPostgres opens a fresh test database as the app role through a
// pgx connection that counts statements.
func countingPostgres(tb testing.TB) (*sqlstore.DB, *queryCounter) {
	tb.Helper()
	pg := testdb.Postgres(tb)
	cfg, err := pgx.ParseConfig(pg.AppURL)
	if err != nil {
		tb.Fatal(err)
	}
	qc := &queryCounter{}
	cfg.Tracer = qc
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	tb.Cleanup(func() { db.Close() })
	return sqlstore.New(db, postgres.Dialect), qc
}

// TestRefreshStatements pins the cost of a refresh: BEGIN, the one UPDATE
// that rotates, the one INSERT of refresh.rotated, COMMIT.
func TestRefreshStatements(t *testing.T) {
	db, qc := countingPostgres(t)
	e := newEnv(t, db, nil)
	e.signup("jane@example.com")
	tok := e.login("jane@example.com").RefreshToken
	for i := 0; i < 5; i++ {
		before := qc.n.Load()
		r, err := e.s.Refresh(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if n := qc.n.Load() - before; n != 4 {
			t.Fatalf("a refresh sent %d statements, want 4 (begin, update, insert audit, commit)", n)
		}
		tok = r.RefreshToken
	}
}

func benchEnv(b *testing.B, store gatehouse.Store, params password.Params) *auth.Sessions {
	b.Helper()
	h, err := password.New(password.Config{Params: params, QueueLimit: 1024})
	if err != nil {
		b.Fatal(err)
	}
	core := auth.NewCore(store, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	kek, _ := kms.NewLocal(bytes.Repeat([]byte{9}, 32))
	keys, err := auth.NewKeys(core, auth.KeysConfig{Issuer: "https://auth.example.com", KEK: kek})
	if err != nil {
		b.Fatal(err)
	}
	if err := keys.Tick(context.Background()); err != nil {
		b.Fatal(err)
	}
	s, err := auth.NewSessions(core, auth.SessionConfig{
		Hasher: h, Mailer: discardMailer{}, Tokens: keys,
		RefreshKey: bytes.Repeat([]byte("r"), 32), CSRFKey: bytes.Repeat([]byte("c"), 32),
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

type discardMailer struct{}

func (discardMailer) SendMagicLink(context.Context, gatehouse.MagicLinkMail) error { return nil }

func benchStores(b *testing.B, fn func(b *testing.B, store gatehouse.Store)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, testdb.Postgres(b).DB) })
}

// BenchmarkRefresh measures refreshes per second with 8 clients at once,
// each rotating its own session's token (compare with pgbench -c 8).
func BenchmarkRefresh(b *testing.B) {
	benchStores(b, func(b *testing.B, store gatehouse.Store) {
		s := benchEnv(b, store, fastParams)
		var seq atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			email := fmt.Sprintf("bench%d@example.com", seq.Add(1))
			if _, err := s.Signup(ctx, email, goodPassword); err != nil {
				b.Error(err)
				return
			}
			tr, err := s.PasswordLogin(ctx, email, goodPassword)
			if err != nil {
				b.Error(err)
				return
			}
			tok := tr.RefreshToken
			for pb.Next() {
				r, err := s.Refresh(ctx, tok)
				if err != nil {
					b.Error(err)
					return
				}
				tok = r.RefreshToken
			}
		})
	})
}

// BenchmarkPasswordLogin measures password logins per second at the default
// argon2id parameters on every core (compare with password's
// BenchmarkVerifyParallel, the argon2 ceiling).
func BenchmarkPasswordLogin(b *testing.B) {
	benchStores(b, func(b *testing.B, store gatehouse.Store) {
		s := benchEnv(b, store, password.DefaultParams)
		if _, err := s.Signup(ctx, "jane@example.com", goodPassword); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.PasswordLogin(ctx, "jane@example.com", goodPassword); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkLoginVsArgon2 interleaves, in one run, rounds of bare argon2id
// verifications and rounds of whole password logins (8 clients each, default
// parameters), and reports logins/s as a share of the argon2 ceiling, and the
// logins' p50 and p99 latency. Interleaving keeps a shared machine's load
// from favouring either side.
func BenchmarkLoginVsArgon2(b *testing.B) {
	benchStores(b, func(b *testing.B, store gatehouse.Store) {
		s := benchEnv(b, store, password.DefaultParams)
		if _, err := s.Signup(ctx, "jane@example.com", goodPassword); err != nil {
			b.Fatal(err)
		}
		h, _ := password.New(password.Config{QueueLimit: 1024})
		enc, _ := h.Hash(ctx, goodPassword)
		const clients, perRound = 8, 24
		round := func(op func() error) (time.Duration, []time.Duration) {
			var wg sync.WaitGroup
			var next atomic.Int64
			lat := make([]time.Duration, perRound)
			start := time.Now()
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1) - 1; i < perRound; i = next.Add(1) - 1 {
						t0 := time.Now()
						if err := op(); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			return time.Since(start), lat
		}
		var argonTime, loginTime time.Duration
		var lats []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			d, _ := round(func() error { _, _, err := h.Verify(ctx, goodPassword, enc); return err })
			argonTime += d
			d, l := round(func() error { _, err := s.PasswordLogin(ctx, "jane@example.com", goodPassword); return err })
			loginTime += d
			lats = append(lats, l...)
		}
		b.StopTimer()
		slices.Sort(lats)
		n := float64(b.N * perRound)
		b.ReportMetric(n/argonTime.Seconds(), "argon2/s")
		b.ReportMetric(n/loginTime.Seconds(), "logins/s")
		b.ReportMetric(argonTime.Seconds()/loginTime.Seconds(), "login/argon2")
		b.ReportMetric(float64(lats[len(lats)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lats[len(lats)*99/100].Milliseconds()), "p99-ms")
	})
}
