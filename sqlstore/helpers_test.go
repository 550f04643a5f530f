package sqlstore_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/postgres"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// ownerStore opens pg's database as the owner role.
func ownerStore(t *testing.T, pg *testdb.PG) *sqlstore.DB {
	t.Helper()
	db, err := postgres.Open(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
