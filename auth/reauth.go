package auth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// DefaultReauthMaxAge is how recent a sign-in must be for the actions that
// ask for one (GATEHOUSE_REAUTH_MAX_AGE, default 10 minutes).
const DefaultReauthMaxAge = 10 * time.Minute

// errReauth answers an action that needs a recent sign-in.
var errReauth = gatehouse.Errorf(gatehouse.EReauthenticationRequired, "this needs a recent sign-in; sign in again")

// RequireRecentSignIn refuses (403 reauthentication_required) a caller whose
// session did not prove a factor within maxAge (zero: DefaultReauthMaxAge):
// changing the address, deleting the account, and (for the factors area)
// adding or removing a factor and creating a PAT. It reads the session's
// auth_time in the caller's transaction t, not the token's claim, so a
// re-authentication counts at once and a revoked session never passes.
// Only a person's session can pass: a PAT or a client gets 403 forbidden
// (OWASP Authentication Cheat Sheet, "Reauthentication after critical
// actions"; NIST SP 800-63B-4 section 2.2.3 on re-authentication).
func (c *Core) RequireRecentSignIn(ctx context.Context, t *Tx, p *gatehouse.Principal, maxAge time.Duration) error {
	if err := requireSession(p, "this is done"); err != nil {
		return err
	}
	if maxAge <= 0 {
		maxAge = DefaultReauthMaxAge
	}
	s, err := t.SessionByID(ctx, p.SessionID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return errEnded
	}
	if err != nil {
		return err
	}
	if s.UserID != p.UserID {
		return errEnded
	}
	if s.AuthTime.IsZero() || c.now().Sub(s.AuthTime) > maxAge {
		return errReauth
	}
	return nil
}
