package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/postgres"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestUnreachableDatabaseIsUnavailable: when the database ends the store's
// connections and accepts no new ones (a restart under way), a transaction
// and a plain read fail with unavailable (503 with Retry-After), not an
// internal error (500); found by bench/faults postgres (docs/faults.md).
func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	pg := testdb.Postgres(t)
	ctx := context.Background()
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if admin == "" {
		admin = testdb.DefaultAdminURL
	}
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer adb.Close()
	name := pgx.Identifier{pg.Name}.Sanitize()
	if _, err := adb.ExecContext(ctx, `alter database `+name+` allow_connections false`); err != nil {
		t.Fatal(err)
	}
	if _, err := adb.ExecContext(ctx, `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, pg.Name); err != nil {
		t.Fatal(err)
	}
	err = pg.DB.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		_, err := tx.UserByID(ctx, gatehouse.NewID(time.Now()))
		return err
	})
	if gatehouse.ErrorCode(err) != gatehouse.EUnavailable || !errors.Is(err, sqlstore.ErrUnavailable) {
		t.Errorf("Tx: %v (code %q), want unavailable", err, gatehouse.ErrorCode(err))
	}
	err = pg.DB.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		_, err := tx.UserByID(ctx, gatehouse.NewID(time.Now()))
		return err
	})
	if gatehouse.ErrorCode(err) != gatehouse.EUnavailable {
		t.Errorf("Read: %v (code %q), want unavailable", err, gatehouse.ErrorCode(err))
	}
}

// TestClassifyConnectionErrors: the server ending a connection mid-statement
// (SQLSTATE 57P01 admin_shutdown, 57P02, 57P03, class 08) is unavailable;
// statement errors keep their meaning.
func TestClassifyConnectionErrors(t *testing.T) {
	for code, want := range map[string]error{
		"57P01": sqlstore.ErrUnavailable, "57P02": sqlstore.ErrUnavailable, "57P03": sqlstore.ErrUnavailable,
		"08006": sqlstore.ErrUnavailable, "23505": gatehouse.ErrConflict, "22P02": gatehouse.ErrNotFound, "42601": nil,
	} {
		if got := postgres.Dialect.Classify(&pgconn.PgError{Code: code}); got != want {
			t.Errorf("Classify(SQLSTATE %s) = %v, want %v", code, got, want)
		}
	}
}
