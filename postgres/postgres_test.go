package postgres_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(tb testing.TB) gatehouse.Store { return testdb.Postgres(tb).DB })
}

// TestEmailCheck: the schema itself refuses an email that is not lower case.
func TestEmailCheck(t *testing.T) {
	t.Parallel()
	pg := testdb.Postgres(t)
	_, err := pg.DB.SQL().Exec(`insert into users (id, email, status, created_at, updated_at)
		values ($1, 'Ada@Example.com', 'active', 0, 0)`, gatehouse.NewID(time.Now()))
	if err == nil {
		t.Error("upper-case email stored")
	}
}
