package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestPATExpiryMessage: a PAT expiry past the maximum is refused with a
// message a person can read ("365 days"), not Go's "8760h0m0s".
func TestPATExpiryMessage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(s)
		pats := &auth.PATs{Core: f.core}
		alice := f.user(t, "alice@example.com")
		w, err := f.ws.Create(ctx, alice, "Acme")
		if err != nil {
			t.Fatal(err)
		}
		_, err = pats.Create(ctx, alice, w.ID, "ci", nil, time.Now().Add(400*24*time.Hour))
		if code(err) != gatehouse.EInvalidRequest {
			t.Fatalf("expiry in 400 days: %v", err)
		}
		if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, "at most 365 days ahead") || strings.Contains(msg, "h0m0s") {
			t.Fatalf("message %q", msg)
		}
	})
}
