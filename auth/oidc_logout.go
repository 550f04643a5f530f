package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0,
// docs/oidc.md). A valid id_token_hint (an id_token issued here: an
// access token is refused) proves which person, session and client the
// request is about: that session ends and the client's grants of that
// person with it, at once. Without one, the person confirms first (a form:
// no GET ends a session on its own).

// LogoutRequest is an end_session request's parameters.
type LogoutRequest struct {
	IDTokenHint, ClientID, PostLogoutRedirectURI, State string
}

// LogoutPlan is what a checked logout request does: Hint is the verified
// hint (nil without one), Client the client it names (nil when none), and
// RedirectURI where to send the browser afterwards ("" for gatehouse's
// own page).
type LogoutPlan struct {
	Hint        *IDTokenClaims
	Client      *gatehouse.Client
	RedirectURI string
}

// CheckLogout checks req: a hint, when given, must verify (else
// invalid_request: nothing ends, nothing redirects); the client is the
// hint's audience or client_id (both: they must agree); a
// post_logout_redirect_uri needs a client that registered it, matched as
// an exact string (section 3.1), else invalid_request.
func (o *OAuth) CheckLogout(ctx context.Context, req LogoutRequest) (*LogoutPlan, error) {
	p := &LogoutPlan{}
	clientID := req.ClientID
	if req.IDTokenHint != "" {
		h, err := o.Keys.VerifyIDTokenHint(req.IDTokenHint)
		if err != nil {
			return nil, err
		}
		if len(h.Audience) != 1 || clientID != "" && clientID != h.Audience[0] {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "client_id is not the id_token_hint's audience")
		}
		p.Hint, clientID = h, h.Audience[0]
	}
	if len(req.State) > 1024 {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "state is too long")
	}
	if clientID != "" {
		if !ValidClientID(clientID) {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "unknown client")
		}
		c, err := o.findClient(ctx, clientID)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "unknown client")
		}
		p.Client = c
	}
	if u := req.PostLogoutRedirectURI; u != "" {
		if p.Client == nil || !slices.Contains(p.Client.PostLogoutRedirectURIs, u) {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "post_logout_redirect_uri is not registered for the client")
		}
		p.RedirectURI = u
	}
	return p, nil
}

// LogoutByHint ends the session p's hint names (when it is still the
// hint's person's) and p.Client's grants of that person. oidc.logout is
// recorded; the session's end enqueues back-channel logouts (backchannel.go).
func (o *OAuth) LogoutByHint(ctx context.Context, p *LogoutPlan) error {
	if p.Hint == nil || p.Client == nil {
		return errors.New("auth: LogoutByHint needs a verified hint")
	}
	return o.endFor(ctx, p.Client, p.Hint.Subject, p.Hint.SessionID, "id_token_hint")
}

// endFor ends sessionID (if it is userID's and live) and c's grants of
// userID, in one transaction.
func (o *OAuth) endFor(ctx context.Context, c *gatehouse.Client, userID, sessionID, how string) error {
	now := o.now()
	return o.InTx(ctx, gatehouse.Scope{WorkspaceID: c.WorkspaceID}, func(t *Tx) error {
		details := map[string]string{"client_id": c.ClientID, "via": how}
		if gatehouse.ValidID(sessionID) {
			sess, err := t.SessionByID(ctx, sessionID)
			if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
				return err
			}
			if sess != nil && sess.UserID == userID && sess.RevokedAt.IsZero() {
				if err := t.RevokeSession(ctx, sessionID, now); err != nil {
					return err
				}
				details["session_id"] = sessionID
			}
		}
		n, err := t.RevokeClientGrants(ctx, c.WorkspaceID, c.ClientID, userID, now)
		if err != nil {
			return err
		}
		details["grants_revoked"] = strconv.FormatInt(n, 10)
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRPLogout, Actor: userID, Target: "user:" + userID,
			WorkspaceID: c.WorkspaceID, Details: details})
	})
}

// LogoutConfirmed ends the browser's own session (sessionID of userID, as
// SignedIn found it from the refresh cookie) after the person confirmed,
// and p.Client's grants of that person when a client is named.
func (o *OAuth) LogoutConfirmed(ctx context.Context, p *LogoutPlan, userID, sessionID string) error {
	if p.Client != nil {
		return o.endFor(ctx, p.Client, userID, sessionID, "confirmation")
	}
	now := o.now()
	return o.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		if err := t.RevokeSession(ctx, sessionID, now); err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRPLogout, Actor: userID, Target: "session:" + sessionID,
			Details: map[string]string{"via": "confirmation"}})
	})
}

// LogoutFormToken returns the token the logout confirmation form carries: an
// HMAC under the session CSRF key over the session and the request (as
// ConsentToken).
func (o *OAuth) LogoutFormToken(sessionID string, req LogoutRequest) string {
	if o.Sessions == nil || sessionID == "" {
		return ""
	}
	return o.Sessions.CSRF.mac("gatehouse logout v1", sessionID, req.ClientID, req.PostLogoutRedirectURI, req.State)
}

// CheckLogoutFormToken reports whether tok is LogoutFormToken's, in
// constant time.
func (o *OAuth) CheckLogoutFormToken(tok, sessionID string, req LogoutRequest) bool {
	want := o.LogoutFormToken(sessionID, req)
	return want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1
}
