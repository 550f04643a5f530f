package auth

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// DefaultReauthMaxAge is GATEHOUSE_REAUTH_MAX_AGE's default: a sensitive
// change (adding or removing a factor, making recovery codes, creating a
// PAT) needs a sign-in or re-authentication at most this old (OWASP ASVS
// 3.7.1 / Authentication Cheat Sheet, "Reauthentication").
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

// requireRecentSignIn refuses (403 reauthentication_required) a change
// made with a person's session whose auth_time, as stored (a
// re-authentication freshens it), is older than the maximum age. Other
// credentials are refused as requireSession does.
func (c *Core) requireRecentSignIn(ctx context.Context, t *Tx, p *gatehouse.Principal) error {
	if err := requireSession(p, "this change is made"); err != nil {
		return err
	}
	s, err := t.SessionByID(ctx, p.SessionID)
	if err != nil || s.UserID != p.UserID {
		return errEnded
	}
	if c.now().Sub(s.AuthTime) > c.reauthMaxAge() {
		return errReauth
	}
	return nil
}
