package sqlite_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) gatehouse.Store { return testdb.SQLite(tb) })
}
