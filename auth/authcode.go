package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/token"
)

// The authorization-code grant with PKCE (RFC 6749 section 4.1, RFC 7636,
// RFC 9700 section 2.1.1): the authorization request is checked in two
// steps (the client and its redirect URI first, then everything else), a
// signed-in member of the client's workspace approves, a code (60 seconds,
// single use, only its SHA-256 stored) goes back to the redirect URI, and
// the token endpoint exchanges it, with the PKCE verifier, for an access
// token and the first refresh token of an OAuth grant. The grant's refresh
// tokens rotate as a person's session's do (refreshtoken.go: each token
// derived from the one before, reuse detection, a grace window), in their
// own table, bound to the client.

// CodeTTL is an authorization code's lifetime (RFC 6749 section 4.1.2
// recommends at most 10 minutes; a redirect and a back-channel exchange take
// seconds).
const CodeTTL = 60 * time.Second

var (
	errBadCode      = gatehouse.Errorf(gatehouse.EInvalidGrant, "the authorization code is invalid, expired or used, or was issued for another client, redirect URI or code verifier")
	errUnknownRedir = gatehouse.Errorf(gatehouse.EInvalidRequest, "unknown client or unregistered redirect_uri")
	errNoCodeGrant  = gatehouse.Errorf(gatehouse.EUnavailable, "the authorization-code grant is not available")
)

// AuthorizeError is an error of an authorization request once its client and
// redirect URI are known good: it goes back to the client as an error
// redirect (RFC 6749 section 4.1.2.1) with Code as the error parameter.
type AuthorizeError struct{ Code, Description string }

func (e *AuthorizeError) Error() string { return e.Code + ": " + e.Description }

// AuthorizationRequest is an authorization request's parameters (RFC 6749
// section 4.1.1, RFC 7636 section 4.3).
type AuthorizationRequest struct {
	ClientID, RedirectURI, ResponseType, Scope, State, CodeChallenge, CodeChallengeMethod string
	// Nonce is the OpenID Connect request's nonce (Core section 3.1.2.1),
	// carried through the code into the id_token.
	Nonce string
}

// AuthorizationClient returns the client of an authorization request when
// clientID names a client registered for the authorization-code grant and
// redirectURI is one of its redirect URIs (HasRedirectURI: exact, but for a
// loopback URI's port) and valid (a client registered before hosts were
// checked may hold one that is not). Otherwise the
// request must not redirect anywhere (RFC 6749 section 4.1.2.1): the error
// is for an error page.
func (o *OAuth) AuthorizationClient(ctx context.Context, clientID, redirectURI string) (*gatehouse.Client, error) {
	if !ValidClientID(clientID) || redirectURI == "" {
		return nil, errUnknownRedir
	}
	c, err := o.findClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if c == nil || !c.HasRedirectURI(redirectURI) || !c.HasGrant(gatehouse.GrantAuthorizationCode) || ValidRedirectURI(redirectURI) != nil {
		return nil, errUnknownRedir
	}
	return c, nil
}

// CheckAuthorization checks the rest of an authorization request for c and
// returns the scope to ask the person for (space-separated; the client's
// whole scope when none is requested), or an *AuthorizeError. Only PKCE with
// S256 is accepted: a missing method means plain (RFC 7636 section 4.3),
// and plain is refused (RFC 9700 section 2.1.1).
func CheckAuthorization(c *gatehouse.Client, req AuthorizationRequest) (string, error) {
	switch {
	case req.ResponseType != "code":
		return "", &AuthorizeError{"unsupported_response_type", "the supported response_type is code"}
	case req.CodeChallenge == "":
		return "", &AuthorizeError{"invalid_request", "code_challenge is required (PKCE, RFC 7636)"}
	case req.CodeChallengeMethod != "S256":
		return "", &AuthorizeError{"invalid_request", "code_challenge_method must be S256"}
	case !validChallenge(req.CodeChallenge):
		return "", &AuthorizeError{"invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)"}
	case len(req.State) > 1024:
		return "", &AuthorizeError{"invalid_request", "state is too long"}
	case len(req.Nonce) > 512:
		return "", &AuthorizeError{"invalid_request", "nonce is too long"}
	}
	if req.Scope == "" {
		return strings.Join(c.Scopes, " "), nil
	}
	want, err := personScope(c, req.Scope) // the OpenID Connect scopes need no registration
	if err != nil {
		return "", &AuthorizeError{"invalid_scope", gatehouse.ErrorMessage(err)}
	}
	return strings.Join(want, " "), nil
}

// validChallenge reports whether s has the form of an S256 challenge: 43
// base64url characters (32 bytes, unpadded).
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := b64url.DecodeString(s)
	return err == nil && len(b) == 32
}

// validVerifier reports whether s is a code verifier (RFC 7636 section
// 4.1: 43 to 128 characters of [A-Za-z0-9-._~]).
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256 returns the PKCE S256 challenge of verifier (RFC 7636 section 4.2).
func S256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return b64url.EncodeToString(h[:])
}

// SignedIn returns the person and session a portal refresh cookie holds,
// without changing anything: the token must be the session's current one
// (or its parent within the grace window, for a browser that raced itself),
// the session live and its user active. Anything else is unauthorized: the
// person is sent to sign in.
func (o *OAuth) SignedIn(ctx context.Context, refresh string) (userID, sessionID string, err error) {
	notSignedIn := gatehouse.Errorf(gatehouse.EUnauthorized, "not signed in")
	if o.Sessions == nil {
		return "", "", errNoCodeGrant
	}
	fams := o.Sessions.Families
	rt, ok := parseRefreshToken(refresh)
	if !ok {
		return "", "", notSignedIn
	}
	if err := limit(ctx, ratelimit.RefreshToken, refresh); err != nil { // the guard (guard.go), before the look-up
		return "", "", err
	}
	now := o.now()
	err = o.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		sess, err := tx.SessionByID(ctx, rt.sid)
		if err != nil {
			return err
		}
		if !fams.current(sessionFamily(sess), rt, now) {
			return notSignedIn
		}
		u, err := tx.UserByID(ctx, sess.UserID)
		if err != nil {
			return err
		}
		if u.Status != gatehouse.StatusActive {
			return notSignedIn
		}
		userID, sessionID = sess.UserID, sess.ID
		return nil
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return "", "", notSignedIn
	}
	return userID, sessionID, err
}

// ConsentToken returns the token the consent form carries: HMAC-SHA256,
// under the session CSRF key, over the session and every parameter the
// approval will act on (OWASP CSRF Prevention Cheat Sheet, "Signed
// Double-Submit Cookie", here bound to the request too). A GET cannot carry
// X-CSRF-Token, so the form posts this instead.
func (o *OAuth) ConsentToken(sessionID string, c *gatehouse.Client, req AuthorizationRequest, scope string) string {
	if o.Sessions == nil || sessionID == "" {
		return ""
	}
	return o.Sessions.CSRF.mac("gatehouse consent v1", sessionID, c.ClientID, req.RedirectURI, scope, req.State, req.CodeChallenge, req.Nonce)
}

// CheckConsentToken reports whether tok is ConsentToken's, in constant time.
func (o *OAuth) CheckConsentToken(tok, sessionID string, c *gatehouse.Client, req AuthorizationRequest, scope string) bool {
	want := o.ConsentToken(sessionID, c, req, scope)
	return want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1
}

// MayApprove returns nil when userID may approve c's request: a member of
// the client's workspace; else an access_denied *AuthorizeError.
func (o *OAuth) MayApprove(ctx context.Context, c *gatehouse.Client, userID string) error {
	return o.InTx(ctx, gatehouse.Scope{WorkspaceID: c.WorkspaceID, UserID: userID}, func(t *Tx) error {
		return o.mayApprove(ctx, t, c, userID)
	})
}

func (o *OAuth) mayApprove(ctx context.Context, t *Tx, c *gatehouse.Client, userID string) error {
	_, err := t.Member(ctx, c.WorkspaceID, userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return &AuthorizeError{"access_denied", "only members of the client's workspace may authorize it"}
	}
	return err
}

// IssueCode gives c an authorization code for userID, who approved from
// portal session sessionID, bound to the redirect URI, the scope and the
// S256 challenge. Only the code's SHA-256 is stored.
func (o *OAuth) IssueCode(ctx context.Context, c *gatehouse.Client, userID, sessionID string, req AuthorizationRequest, scope string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	code := b64url.EncodeToString(raw[:])
	now := o.now()
	err := o.InTx(ctx, gatehouse.Scope{WorkspaceID: c.WorkspaceID, UserID: userID}, func(t *Tx) error {
		if err := o.mayApprove(ctx, t, c, userID); err != nil {
			return err
		}
		return t.CreateAuthCode(ctx, &gatehouse.AuthCode{Hash: hashToken(code), WorkspaceID: c.WorkspaceID, ClientID: c.ClientID,
			UserID: userID, SessionID: sessionID, RedirectURI: req.RedirectURI, Scope: scope, CodeChallenge: req.CodeChallenge,
			Nonce: req.Nonce, CreatedAt: now, ExpiresAt: now.Add(CodeTTL)})
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// PublicClient returns the public client clientID, which authenticates at
// the token endpoint with its client_id alone and proves itself with PKCE
// (RFC 6749 section 2.1, RFC 7636). A confidential or unknown client gets
// invalid_client, and login.failed is recorded as for a wrong secret.
// policy and the guard are as for AuthenticateClient.
func (o *OAuth) PublicClient(ctx context.Context, policy, clientID string) (_ *gatehouse.Client, err error) {
	pass, err := enter(ctx, clientAttempt(policy, clientID))
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	if !ValidClientID(clientID) {
		o.clientFailed(ctx, nil, "malformed")
		return nil, errBadClient
	}
	c, err := o.findClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if c == nil || !c.Public {
		reason := "unknown_client"
		if c != nil {
			reason = "secret_missing"
		}
		o.clientFailed(ctx, c, reason)
		return nil, errBadClient
	}
	return c, nil
}

// IssuedGrant is the token response of the authorization-code and refresh
// grants: an access token and the grant's next refresh token.
type IssuedGrant struct {
	IssuedToken
	RefreshToken string
	IDToken      string // OpenID Connect, when the scope holds openid (oidc.go)
}

// String describes g without its tokens.
func (g *IssuedGrant) String() string { return "OAuth token response (tokens redacted)" }

// ExchangeCode runs the token request of the authorization-code grant (RFC
// 6749 section 4.1.3, RFC 7636 section 4.6) for client c. In one
// transaction the code is consumed (one UPDATE: only one use can win), then
// checked: issued to c, for exactly this redirect URI, with a verifier whose
// S256 is the challenge (constant-time), its portal session still live, its
// person active and still a member of the client's workspace. A code that
// fails a check stays used. A code used before gets invalid_grant, and the
// grant its first use started is revoked (section 4.1.2). token.issued is
// recorded.
func (o *OAuth) ExchangeCode(ctx context.Context, c *gatehouse.Client, code, redirectURI, verifier string) (*IssuedGrant, error) {
	if !c.HasGrant(gatehouse.GrantAuthorizationCode) {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorizedClient, "the client is not registered for the authorization_code grant")
	}
	if o.Sessions == nil {
		return nil, errNoCodeGrant
	}
	if code == "" || redirectURI == "" || verifier == "" {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "code, redirect_uri and code_verifier are required")
	}
	if len(code) != 43 || !validVerifier(verifier) {
		return nil, errBadCode
	}
	now := o.now()
	grantID := gatehouse.NewID(now)
	refresh, err := newRefreshToken(grantID)
	if err != nil {
		return nil, err
	}
	hash := hashToken(code)
	var ac *gatehouse.AuthCode
	var sess *gatehouse.Session
	var u *gatehouse.User
	err = o.InTx(ctx, gatehouse.Scope{WorkspaceID: c.WorkspaceID}, func(t *Tx) error {
		var err error
		ac, err = t.ConsumeAuthCode(ctx, c.WorkspaceID, hash, grantID, now)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return o.codeReused(ctx, t, c, hash, now)
		}
		if err != nil {
			return err
		}
		if ac.ClientID != c.ClientID || ac.RedirectURI != redirectURI ||
			subtle.ConstantTimeCompare([]byte(S256(verifier)), []byte(ac.CodeChallenge)) != 1 {
			return CommitThen(errBadCode)
		}
		sess, err = t.SessionByID(ctx, ac.SessionID)
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		var uerr error
		u, uerr = t.UserByID(ctx, ac.UserID)
		if uerr != nil && !errors.Is(uerr, gatehouse.ErrNotFound) {
			return uerr
		}
		if sess == nil || !sess.RevokedAt.IsZero() || u == nil || u.Status != gatehouse.StatusActive {
			return CommitThen(errBadCode)
		}
		// Still a member: one removed since approving has no grant to start
		// (removing a member ends their grants in the workspace).
		if _, err := t.Member(ctx, c.WorkspaceID, ac.UserID); errors.Is(err, gatehouse.ErrNotFound) {
			return CommitThen(errBadCode)
		} else if err != nil {
			return err
		}
		if err := t.CreateOAuthGrant(ctx, &gatehouse.OAuthGrant{ID: grantID, WorkspaceID: c.WorkspaceID, ClientID: c.ClientID,
			UserID: ac.UserID, SessionID: ac.SessionID, Scope: ac.Scope, CreatedAt: now, LastUsedAt: now,
			ExpiresAt: o.Sessions.Families.expiry(now), RefreshHash: hashToken(refresh)}); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventTokenIssued, Actor: ac.UserID, Target: "client:" + c.ClientID,
			WorkspaceID: c.WorkspaceID, Details: map[string]string{"grant_type": gatehouse.GrantAuthorizationCode, "scope": ac.Scope,
				"oauth_grant": grantID, "token_type": "refresh+access"}})
	})
	if err != nil {
		return nil, err
	}
	return o.grantResponse(ctx, c, u, sess, ac.Scope, ac.Nonce, refresh)
}

// codeReused tells apart why a code matched nothing: one used before gets
// the grant it started revoked (RFC 6749 section 4.1.2); anything else
// (unknown, expired) is just invalid_grant.
func (o *OAuth) codeReused(ctx context.Context, t *Tx, c *gatehouse.Client, hash []byte, now time.Time) error {
	prev, err := t.AuthCodeByHash(ctx, c.WorkspaceID, hash)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return errBadCode
	}
	if err != nil {
		return err
	}
	if prev.UsedAt.IsZero() || prev.GrantID == "" {
		return errBadCode // expired, never used
	}
	err = t.RevokeOAuthGrant(ctx, c.WorkspaceID, prev.GrantID, now)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return CommitThen(errBadCode) // nothing was issued, or already revoked
	}
	if err != nil {
		return err
	}
	if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthGrantRevoked, Actor: "system", Target: "oauth_grant:" + prev.GrantID,
		WorkspaceID: c.WorkspaceID, Outcome: gatehouse.OutcomeFailure,
		Details: map[string]string{"reason": "code_reuse", "client_id": c.ClientID, "user_id": prev.UserID}}); err != nil {
		return err
	}
	return CommitThen(errBadCode)
}

// grantResponse signs the access token of a committed grant: an RFC 9068
// JWT with sub the person, client_id the client, the grant's scope and the
// client's workspace_id, without sid (it is not the person's own session),
// and, when the scope holds openid, the id_token for sess (oidc.go).
func (o *OAuth) grantResponse(ctx context.Context, c *gatehouse.Client, u *gatehouse.User, sess *gatehouse.Session, scope, nonce, refresh string) (*IssuedGrant, error) {
	tok, exp, err := o.Keys.IssueAccessToken(ctx, token.Claims{Subject: u.ID, ClientID: c.ClientID, WorkspaceID: c.WorkspaceID, Scope: scope})
	if err != nil {
		return nil, err
	}
	idt, err := o.idToken(c, u, sess, scope, nonce, tok)
	if err != nil {
		return nil, err
	}
	if !c.HasGrant(gatehouse.GrantRefreshToken) {
		refresh = "" // the grant still records what the code issued, for a reuse to revoke
	}
	return &IssuedGrant{IssuedToken: IssuedToken{AccessToken: tok, ExpiresIn: exp, Scope: scope}, RefreshToken: refresh, IDToken: idt}, nil
}

// RefreshGrant runs the refresh-token grant (RFC 6749 section 6) for client
// c with the refresh engine people's sessions use (Families.refresh, RFC
// 9700 section 4.14.2): one UPDATE in the common case; the parent within
// the grace window gets the same successor again; an older token is reuse,
// and the grant is revoked (refresh.reuse_detected, oauth_grant.revoked); a
// grant not refreshed for the idle timeout has ended. Only the client the
// grant was issued to can refresh it. A scope, when given, may narrow the
// access token's, never widen it.
func (o *OAuth) RefreshGrant(ctx context.Context, c *gatehouse.Client, refresh, scope string) (*IssuedGrant, error) {
	if !c.HasGrant(gatehouse.GrantRefreshToken) {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorizedClient, "the client is not registered for the refresh_token grant")
	}
	if o.Sessions == nil {
		return nil, errNoCodeGrant
	}
	rt, ok := parseRefreshToken(refresh)
	if !ok {
		return nil, errBadRefresh
	}
	var want []string
	if scope != "" {
		var err error
		if want, err = parsePersonScope(scope); err != nil {
			return nil, err
		}
	}
	fams := o.Sessions.Families
	next := successor(fams.cfg.Key, rt)
	now := o.now()
	var g *gatehouse.OAuthGrant
	var sess *gatehouse.Session
	var u *gatehouse.User
	err := o.InTx(ctx, gatehouse.Scope{WorkspaceID: c.WorkspaceID}, func(t *Tx) error {
		fam, err := fams.refresh(ctx, t, grantRows{c}, rt, next, now)
		if err != nil {
			return err
		}
		g = fam.grant
		have := strings.Fields(g.Scope)
		for _, sc := range want {
			if !contains(have, sc) {
				// Rolled back: the presented token stays current.
				return gatehouse.Errorf(gatehouse.EInvalidScope, "the requested scope exceeds the grant's")
			}
		}
		u = &gatehouse.User{ID: g.UserID}
		if !slices.Contains(have, ScopeOpenID) || want != nil && !slices.Contains(want, ScopeOpenID) {
			return nil // no id_token: the common refresh stays one UPDATE
		}
		if u, err = t.UserByID(ctx, g.UserID); err != nil {
			return err
		}
		// The session the grant was approved from gives the id_token its
		// sid, auth_time and amr (OpenID Connect Core section 12.2).
		if sess, err = t.SessionByID(ctx, g.SessionID); errors.Is(err, gatehouse.ErrNotFound) {
			sess, err = nil, nil
		}
		if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	granted := g.Scope
	if want != nil {
		granted = strings.Join(want, " ")
	}
	return o.grantResponse(ctx, c, u, sess, granted, "", next)
}

// revokeGrant ends the OAuth grant a refresh token belongs to (RFC 7009
// section 2.1: revoking a refresh token ends what it carries), when the
// grant was issued to caller and the token is its current one or an
// ancestor. Anything else is left alone, without an error (section 2.2).
func (o *OAuth) revokeGrant(ctx context.Context, caller *gatehouse.Client, rt refreshToken) error {
	now := o.now()
	return o.InTx(ctx, gatehouse.Scope{WorkspaceID: caller.WorkspaceID}, func(t *Tx) error {
		fam, err := o.Sessions.Families.end(ctx, t, grantRows{caller}, rt, now)
		if err != nil || fam == nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthGrantRevoked, Actor: "client:" + caller.ClientID, Target: fam.target(),
			WorkspaceID: caller.WorkspaceID, Details: fam.details("reason", "oauth_revoke", "user_id", fam.UserID)})
	})
}
