package sqlstore_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// BenchmarkWriteTx measures one small write transaction, the shape of a
// request that changes something: BEGIN, the scope statement (PostgreSQL),
// UPDATE users, INSERT audit_events, COMMIT. Compare with pgbench's
// update transaction on the same machine:
//
//	go test -run '^$' -bench WriteTx -benchtime=200ms ./sqlstore/
func BenchmarkWriteTx(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchWriteTx(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchWriteTx(b, testdb.Postgres(b).DB) })
}

func benchWriteTx(b *testing.B, s *sqlstore.DB) {
	now := time.Now()
	ws := gatehouse.NewID(now)
	scope := gatehouse.Scope{WorkspaceID: ws}
	const users = 64
	ids := make([]string, users)
	if err := s.Tx(ctx, scope, func(tx gatehouse.Tx) error {
		if err := tx.CreateWorkspace(ctx, &gatehouse.Workspace{ID: ws, Name: "bench", CreatedAt: now}); err != nil {
			return err
		}
		for i := range ids {
			ids[i] = gatehouse.NewID(now)
			u := &gatehouse.User{ID: ids[i], Email: "u" + ids[i] + "@example.com", Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	one := func() error {
		i := n.Add(1)
		id := ids[i%users]
		status := gatehouse.StatusActive
		if i%2 == 0 {
			status = gatehouse.StatusLocked
		}
		at := time.Now()
		return s.Tx(ctx, scope, func(tx gatehouse.Tx) error {
			if err := tx.UpdateUserStatus(ctx, id, status, at); err != nil {
				return err
			}
			return tx.AppendAuditEvent(ctx, &gatehouse.AuditEvent{
				ID: gatehouse.NewID(at), Time: at, Type: gatehouse.EventAccountStatusChanged, Outcome: gatehouse.OutcomeSuccess,
				Actor: "system", Target: "user:" + id, WorkspaceID: ws, RequestID: "bench",
				Details: map[string]string{"status": string(status)},
			})
		})
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := one(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := one(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkReadTx measures the read that guards every workspace request: a
// scoped transaction that looks up the caller's membership (BEGIN, scope,
// SELECT, COMMIT).
func BenchmarkReadTx(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReadTx(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchReadTx(b, testdb.Postgres(b).DB) })
}

func benchReadTx(b *testing.B, s *sqlstore.DB) {
	now := time.Now()
	ws, uid := gatehouse.NewID(now), gatehouse.NewID(now)
	scope := gatehouse.Scope{WorkspaceID: ws, UserID: uid}
	if err := s.Tx(ctx, scope, func(tx gatehouse.Tx) error {
		if err := tx.CreateUser(ctx, &gatehouse.User{ID: uid, Email: "r@example.com", Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateWorkspace(ctx, &gatehouse.Workspace{ID: ws, Name: "bench", CreatedAt: now}); err != nil {
			return err
		}
		return tx.AddMember(ctx, &gatehouse.Member{WorkspaceID: ws, UserID: uid, Role: gatehouse.RoleOwner, CreatedAt: now})
	}); err != nil {
		b.Fatal(err)
	}
	one := func() error {
		return s.Tx(ctx, scope, func(tx gatehouse.Tx) error {
			_, err := tx.Member(ctx, ws, uid)
			return err
		})
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := one(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := one(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
