package auth

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// DefaultReauthMaxAge is how long a sign-in counts as recent
// (GATEHOUSE_REAUTH_MAX_AGE): actions that add a way into the account ask
// for a sign-in at most this old.
const DefaultReauthMaxAge = 10 * time.Minute

var errReauth = gatehouse.Errorf(gatehouse.EReauthenticationRequired, "this needs a recent sign-in: sign in again, then retry")

// requireRecentSignIn refuses (403 reauthentication_required) a person's
// session whose last proven factor (auth_time) is older than maxAge (zero:
// DefaultReauthMaxAge), read from the session row in t so that it holds
// whatever the access token says. Only a person's session passes: a PAT
// never proves a recent sign-in.
func (c *Core) requireRecentSignIn(ctx context.Context, t *Tx, p *gatehouse.Principal, maxAge time.Duration) error {
	if err := requireSession(p, "this is done"); err != nil {
		return err
	}
	if maxAge <= 0 {
		maxAge = DefaultReauthMaxAge
	}
	sess, err := t.SessionByID(ctx, p.SessionID)
	if err != nil {
		return err
	}
	if sess.UserID != p.UserID || sess.AuthTime.IsZero() || c.now().Sub(sess.AuthTime) > maxAge {
		return errReauth
	}
	return nil
}
