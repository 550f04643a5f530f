package auth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// DefaultReauthMaxAge is GATEHOUSE_REAUTH_MAX_AGE's default: a sensitive
// change (adding or removing a factor, making recovery codes, creating a
// PAT, changing the address, deleting the account, linking a provider)
// needs a sign-in or re-authentication at most this old (OWASP
// Authentication Cheat Sheet, "Reauthentication after critical actions";
// NIST SP 800-63B-4 on re-authentication).
const DefaultReauthMaxAge = 10 * time.Minute

var errReauth = gatehouse.Errorf(gatehouse.EReauthenticationRequired,
	"this change needs a recent sign-in: reauthenticate (POST /v1/auth/reauthenticate) and try again")

// reauthMaxAge is c.ReauthMaxAge or its default.
func (c *Core) reauthMaxAge() time.Duration {
	if c.ReauthMaxAge > 0 {
		return c.ReauthMaxAge
	}
	return DefaultReauthMaxAge
}

// RequireRecentSignIn refuses (403 reauthentication_required) a change made
// with a person's session whose auth_time is older than the maximum age. It
// reads auth_time from the session row in the change's own transaction t,
// not from the token's claim, so a re-authentication counts at once and an
// ended session never passes. Any other credential is refused as
// requireSession does: a PAT never proves a recent sign-in.
func (c *Core) RequireRecentSignIn(ctx context.Context, t *Tx, p *gatehouse.Principal) error {
	if err := requireSession(p, "this change is made"); err != nil {
		return err
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
	if s.AuthTime.IsZero() || c.now().Sub(s.AuthTime) > c.reauthMaxAge() {
		return errReauth
	}
	return nil
}
