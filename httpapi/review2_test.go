package httpapi

import (
	"database/sql"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestFederatedSignupIsVerified: an account made from a provider's
// verified email counts as verified, so that the owner's first magic link
// or reset does not treat it as pre-hijacked (its identity and sessions
// kept), and a password set later is not refused with email_unverified.
func TestFederatedSignupIsVerified(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		fl := e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-eve", "eve@example.org", true)
		claims := e.signedIn(t, e.finish(fl, fl.cookie), "https://auth.example.com/")
		var at sql.NullInt64
		if err := db.SQL().QueryRow(`select email_verified_at from users where id = $1`, claims["sub"]).Scan(&at); err != nil {
			t.Fatal(err)
		}
		if !at.Valid {
			t.Fatal("an account made from a provider's verified email is unverified")
		}
	})
}
