package sqlstore_test

import (
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlite"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// counterUser creates a user whose password_hash serves as a counter.
func counterUser(t *testing.T, s gatehouse.Store) string {
	t.Helper()
	now := time.Now()
	u := &gatehouse.User{ID: gatehouse.NewID(now), Email: "counter@example.com", PasswordHash: "0", Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// increment is a read-modify-write transaction written the way area code
// writes one: SELECT … + Dialect.ForUpdate, then UPDATE.
func increment(s *sqlstore.DB, id string) error {
	return s.Tx(ctx, gatehouse.Scope{}, func(gtx gatehouse.Tx) error {
		tx := gtx.(*sqlstore.Tx).SQL()
		var v string
		if err := tx.QueryRowContext(ctx, `select password_hash from users where id = $1`+s.Dialect().ForUpdate, id).Scan(&v); err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `update users set password_hash = $2 where id = $1`, id, strconv.Itoa(n+1))
		return err
	})
}

func hammer(t *testing.T, stores []*sqlstore.DB, id string, workers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		s := stores[w%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := increment(s, id); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("increment: %v", err)
	}
	var got *gatehouse.User
	if err := stores[0].Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) (err error) { got, err = tx.UserByID(ctx, id); return }); err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(workers * each); got.PasswordHash != want {
		t.Errorf("counter = %s after %d increments: transactions interleaved", got.PasswordHash, workers*each)
	}
}

// TestReadModifyWriteSerializes runs concurrent read-modify-write
// transactions on each backend: none may be lost.
func TestReadModifyWriteSerializes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		hammer(t, []*sqlstore.DB{s}, counterUser(t, s), 8, 25)
	})
}

// TestSQLiteTwoHandlesSerialize opens one SQLite file twice (as two processes
// would: separate pools, no shared in-process lock), so only BEGIN IMMEDIATE
// and busy_timeout keep the transactions apart.
func TestSQLiteTwoHandlesSerialize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	var stores []*sqlstore.DB
	for i := 0; i < 2; i++ {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	if err := sqlite.Migrate(ctx, stores[0]); err != nil {
		t.Fatal(err)
	}
	hammer(t, stores, counterUser(t, stores[0]), 6, 20)
}

func TestErrorMapping(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		id := counterUser(t, s)
		now := time.Now()
		err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			return tx.CreateUser(ctx, &gatehouse.User{ID: id, Email: "other@example.com", Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now})
		})
		var ge *gatehouse.Error
		if !errors.Is(err, gatehouse.ErrConflict) || !errors.As(err, &ge) || ge.Code != gatehouse.EConflict ||
			gatehouse.ErrorMessage(err) != gatehouse.ErrConflict.Message {
			t.Errorf("duplicate id: %v (code %q), want ErrConflict", err, gatehouse.ErrorCode(err))
		}
		if ge != nil && ge.Err == nil {
			t.Error("conflict error lost its cause")
		}
		err = s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { _, err := tx.UserByEmail(ctx, "nobody@example.com"); return err })
		if !errors.Is(err, gatehouse.ErrNotFound) || gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Errorf("missing user: %v, want ErrNotFound", err)
		}
	})
}

func TestTimes(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.FixedZone("X", 3600))
	if got := sqlstore.FromMicros(sqlstore.Micros(at)); !got.Equal(at.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Errorf("round trip = %v, want %v in UTC", got, at.Truncate(time.Microsecond))
	}
	if sqlstore.Micros(time.Time{}) != 0 || !sqlstore.FromMicros(0).IsZero() || sqlstore.NullMicros(time.Time{}) != nil {
		t.Error("zero time is not stored as 0 / NULL")
	}
}
