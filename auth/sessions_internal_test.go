package auth

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// A sign-in that still needs a factor does not become a session: start
// refuses it before touching the store.
func TestStartRefusesPendingSignIn(t *testing.T) {
	k := &SessionKeeper{Core: &Core{Now: time.Now}}
	in := gatehouse.NewSignIn(&gatehouse.User{ID: gatehouse.NewID(time.Now())}, gatehouse.PasswordFactor{}, time.Now())
	in.Pending = []string{"otp"}
	for _, bad := range []*gatehouse.SignIn{in, nil, {User: in.User}} {
		if _, _, err := k.start(context.Background(), nil, bad); err != errSignInPending {
			t.Fatalf("start(%+v) = %v", bad, err)
		}
	}
}
