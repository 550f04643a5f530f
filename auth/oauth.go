package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// OAuth is the authorization server's side of the OAuth endpoints: client
// authentication, the client credentials grant (RFC 6749 section 4.4),
// introspection (RFC 7662) and revocation (RFC 7009). It knows nothing of
// HTTP; package httpapi parses the requests and writes the answers.
type OAuth struct {
	*Core
	Keys *Keys
	// Sessions, when set, serves the authorization-code grant
	// (authcode.go): who is signed in at the portal, its CSRF (the consent
	// form's token) and its Families (the refresh engine OAuth grants share
	// with sessions: derivation key, lifetime, idle timeout, grace window).
	// Nil: that grant is unavailable.
	Sessions *Sessions
}

// maxSecretLen bounds a presented client secret before it is hashed.
const maxSecretLen = 256

var errBadClient = gatehouse.Errorf(gatehouse.EInvalidClient, "client authentication failed")

// findClient looks a client up by its client_id before its workspace is
// known; nil, nil when there is none.
func (o *OAuth) findClient(ctx context.Context, clientID string) (*gatehouse.Client, error) {
	var c *gatehouse.Client
	err := o.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		c, err = tx.ClientByClientID(ctx, clientID)
		return err
	})
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		return nil, err
	}
	return c, nil
}

// AuthenticateClient returns the confidential client clientID when secret is
// its secret, else invalid_client. A malformed client id never reaches the
// store; an unknown client and a wrong secret take the same path (a SHA-256
// and a constant-time comparison). A failure records login.failed, with the
// client's workspace when the client exists.
//
// policy is the endpoint's per-client rate policy (ratelimit.OAuthTokenClient,
// ratelimit.IntrospectClient): the guard (guard.go) applies it and the
// failed-auth ceilings of the IP and the client before the secret is hashed;
// a malformed client id names no client and meets only the IP's ceiling. A
// failure counts; a success never does.
func (o *OAuth) AuthenticateClient(ctx context.Context, policy, clientID, secret string) (_ *gatehouse.Client, err error) {
	pass, err := enter(ctx, clientAttempt(policy, clientID))
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	if !ValidClientID(clientID) || len(secret) > maxSecretLen {
		secretMatches(secret, dummySecretHash)
		o.clientFailed(ctx, nil, "malformed")
		return nil, errBadClient
	}
	c, err := o.findClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	stored := dummySecretHash
	if c != nil && !c.Public {
		stored = c.SecretHash
	}
	if !secretMatches(secret, stored) || c == nil || c.Public {
		reason := "unknown_client"
		if c != nil {
			reason = "bad_secret"
		}
		o.clientFailed(ctx, c, reason)
		return nil, errBadClient
	}
	return c, nil
}

// clientAttempt is what the guard checks for a client naming itself clientID.
func clientAttempt(policy, clientID string) Attempt {
	if !ValidClientID(clientID) {
		return Attempt{}
	}
	return Attempt{Policy: policy, Identity: clientID, Account: ClientAccount(clientID)}
}

// clientFailed records login.failed for a client authentication that failed.
// The presented client id is named only when it is a registered client's.
func (o *OAuth) clientFailed(ctx context.Context, c *gatehouse.Client, reason string) {
	ev := &gatehouse.AuditEvent{Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure,
		Details: map[string]string{"reason": reason, "method": "client_secret"}}
	if c != nil {
		ev.Target, ev.WorkspaceID = "client:"+c.ClientID, c.WorkspaceID
	}
	if err := o.Record(ctx, ev); err != nil && o.Log != nil {
		o.Log.ErrorContext(ctx, "audit event not recorded", "type", string(ev.Type), "err", err.Error())
	}
}

// IssuedToken is a token response of the token endpoint.
type IssuedToken struct {
	AccessToken string
	ExpiresIn   int
	Scope       string
}

// ClientCredentials runs the client credentials grant (RFC 6749 section 4.4)
// for an authenticated client: requested, the scope (space-separated, RFC
// 6749 section 3.3) must be a subset of the client's; empty, the client's
// whole scope is granted. The access token is an RFC 9068 JWT whose sub and
// client_id are the client id and whose workspace_id is the client's
// workspace; it has no sid and no refresh token comes with it (section
// 4.4.3). token.issued is recorded in the workspace's trail.
func (o *OAuth) ClientCredentials(ctx context.Context, c *gatehouse.Client, scope string) (*IssuedToken, error) {
	if !c.HasGrant(gatehouse.GrantClientCredentials) {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorizedClient, "the client is not registered for the client_credentials grant")
	}
	granted := c.Scopes
	if scope != "" {
		req, err := clientScope(c, scope)
		if err != nil {
			return nil, err
		}
		granted = req
	}
	scopeStr := strings.Join(granted, " ")
	tok, exp, err := o.Keys.IssueAccessToken(ctx, token.Claims{Subject: c.ClientID, ClientID: c.ClientID, WorkspaceID: c.WorkspaceID, Scope: scopeStr})
	if err != nil {
		return nil, err
	}
	err = o.InTx(ctx, gatehouse.Scope{WorkspaceID: c.WorkspaceID}, func(t *Tx) error {
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventTokenIssued, Actor: "client:" + c.ClientID, Target: "client:" + c.ClientID,
			WorkspaceID: c.WorkspaceID, Details: map[string]string{"grant_type": gatehouse.GrantClientCredentials, "scope": scopeStr}})
	})
	if err != nil {
		return nil, err
	}
	return &IssuedToken{AccessToken: tok, ExpiresIn: exp, Scope: scopeStr}, nil
}

// parseScope splits a scope parameter (RFC 6749 section 3.3: scope-tokens
// separated by single spaces) into its distinct tokens, sorted.
func parseScope(s string) ([]string, error) {
	if len(s) > 1024 || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ") {
		return nil, gatehouse.Errorf(gatehouse.EInvalidScope, "scope must be scope tokens separated by single spaces")
	}
	return inVocabulary(strings.Split(s, " "), ClientScopes, gatehouse.EInvalidScope, "scope")
}

// clientScope parses a requested scope and checks that it is within c's
// scopes; invalid_scope otherwise.
func clientScope(c *gatehouse.Client, scope string) ([]string, error) {
	req, err := parseScope(scope)
	if err != nil {
		return nil, err
	}
	for _, sc := range req {
		if !contains(c.Scopes, sc) {
			return nil, gatehouse.Errorf(gatehouse.EInvalidScope, "the requested scope exceeds the client's")
		}
	}
	return req, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Introspection is the answer of RFC 7662 section 2.2. Active false means
// nothing else is told.
type Introspection struct {
	Active      bool
	Scope       string
	ClientID    string
	Subject     string
	TokenType   string // "access_token", "refresh_token" or "personal_access_token" (gatehouse_token_kind)
	WorkspaceID string
	Issuer      string
	Audience    []string
	JTI         string
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

var inactive = &Introspection{}

// Introspect tells caller about tok (RFC 7662). Active only when tok is
//   - an access token (JWT) that verifies against the published keys, was
//     issued to a client of the caller's workspace (workspace_id claim) that
//     still exists;
//   - the current refresh token of a live OAuth grant of the caller's
//     workspace, whose person is active (RFC 7662 section 2.1 covers
//     refresh tokens); or
//   - a PAT of the caller's workspace, unexpired, whose owner is active.
//
// Anything else is {"active": false}: unknown, expired or revoked tokens,
// retired refresh tokens (a grant's earlier ones), tokens of another
// workspace, and every credential of a person's own session (access tokens
// with a sid, session refresh tokens), which belongs to no workspace and so
// is foreign to every client. Introspecting a token does not count as its
// use and changes nothing.
func (o *OAuth) Introspect(ctx context.Context, caller *gatehouse.Client, tok string) (*Introspection, error) {
	if tok == "" || len(tok) > 4096 {
		return inactive, nil
	}
	if rt, ok := parseRefreshToken(tok); ok {
		return o.introspectRefresh(ctx, caller, rt)
	}
	if token.LooksLikePAT(tok) {
		return o.introspectPAT(ctx, caller, tok)
	}
	cl, err := o.Keys.VerifyAccessToken(tok)
	if err != nil || cl.SessionID != "" || cl.WorkspaceID != caller.WorkspaceID || !ValidClientID(cl.ClientID) {
		return inactive, nil
	}
	// The token's client must still exist: when it is the caller, which was
	// just read from the store to authenticate, it does.
	other := cl.ClientID != caller.ClientID
	// Issued for a person (authorization-code grant): inactive once the
	// person is no longer a member of the workspace.
	person := cl.Subject != cl.ClientID && gatehouse.ValidID(cl.Subject)
	if other || person {
		err = o.Store.Tx(ctx, gatehouse.Scope{WorkspaceID: caller.WorkspaceID}, func(tx gatehouse.Tx) error {
			if other {
				if _, err := tx.Client(ctx, caller.WorkspaceID, cl.ClientID); err != nil {
					return err
				}
			}
			if person {
				_, err := tx.Member(ctx, caller.WorkspaceID, cl.Subject)
				return err
			}
			return nil
		})
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return inactive, nil
	}
	if err != nil {
		return nil, err
	}
	return &Introspection{Active: true, Scope: cl.Scope, ClientID: cl.ClientID, Subject: cl.Subject, TokenType: "access_token",
		WorkspaceID: cl.WorkspaceID, Issuer: cl.Issuer, Audience: cl.Audience, JTI: cl.ID,
		IssuedAt: time.Unix(cl.IssuedAt, 0).UTC(), ExpiresAt: time.Unix(cl.ExpiresAt, 0).UTC()}, nil
}

// TokenTypeRefresh is the token type introspection gives a refresh token.
const TokenTypeRefresh = "refresh_token"

// introspectRefresh answers for a refresh token: active when it is the
// current token of a live grant of caller's workspace (any of its clients,
// as for access tokens), the grant's client still exists and its person is
// active. exp is when the
// grant ends unless refreshed (its absolute end, or the idle timeout if
// sooner); iat when this token was issued.
func (o *OAuth) introspectRefresh(ctx context.Context, caller *gatehouse.Client, rt refreshToken) (*Introspection, error) {
	if o.Sessions == nil {
		return inactive, nil
	}
	fams := o.Sessions.Families
	now := o.now()
	var g *gatehouse.OAuthGrant
	err := o.Store.Tx(ctx, gatehouse.Scope{WorkspaceID: caller.WorkspaceID}, func(tx gatehouse.Tx) error {
		var err error
		if g, err = tx.OAuthGrantByID(ctx, caller.WorkspaceID, rt.sid); err != nil {
			return err
		}
		fam := grantFamily(g)
		if g.WorkspaceID != caller.WorkspaceID || rt.gen != g.Generation ||
			subtle.ConstantTimeCompare(hashToken(rt.text), g.RefreshHash) != 1 || !fam.live(now, fams.idle()) {
			g = nil
			return nil
		}
		// The grant's client still exists (as for its access tokens): a
		// deleted client's refresh token can never be used again.
		if _, err := tx.Client(ctx, caller.WorkspaceID, g.ClientID); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, g.UserID)
		if err != nil {
			return err
		}
		if u.Status != gatehouse.StatusActive {
			g = nil
		}
		return nil
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return inactive, nil
	}
	if err != nil {
		return nil, err
	}
	if g == nil {
		return inactive, nil
	}
	exp := g.ExpiresAt
	if idle := fams.idle(); idle > 0 && g.LastUsedAt.Add(idle).Before(exp) {
		exp = g.LastUsedAt.Add(idle)
	}
	iat := g.RotatedAt
	if iat.IsZero() {
		iat = g.CreatedAt
	}
	return &Introspection{Active: true, Scope: g.Scope, ClientID: g.ClientID, Subject: g.UserID, TokenType: TokenTypeRefresh,
		WorkspaceID: g.WorkspaceID, IssuedAt: iat, ExpiresAt: exp}, nil
}

func (o *OAuth) introspectPAT(ctx context.Context, caller *gatehouse.Client, tok string) (*Introspection, error) {
	secret, err := token.ParsePAT(tok)
	if err != nil {
		return inactive, nil
	}
	var pat *gatehouse.PAT
	err = o.Store.Tx(ctx, gatehouse.Scope{WorkspaceID: caller.WorkspaceID}, func(tx gatehouse.Tx) error {
		var err error
		pat, err = tx.PATByHash(ctx, token.LookupHashHex(secret.Reveal()))
		return err
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return inactive, nil
	}
	if err != nil {
		return nil, err
	}
	if pat.WorkspaceID != caller.WorkspaceID || !o.now().Before(pat.ExpiresAt) || pat.OwnerStatus != gatehouse.StatusActive {
		return inactive, nil
	}
	return &Introspection{Active: true, Scope: strings.Join(pat.Scopes, " "), Subject: pat.UserID, TokenType: "personal_access_token",
		WorkspaceID: pat.WorkspaceID, JTI: pat.ID, IssuedAt: pat.CreatedAt, ExpiresAt: pat.ExpiresAt}, nil
}

// Revoke revokes tok for caller (RFC 7009): a PAT of the caller's workspace
// is deleted (pat.deleted, actor the client) when the caller is
// confidential; a refresh token of an OAuth
// grant issued to the caller (authcode.go) ends the grant. Every other token is answered
// with success and left alone (section 2.2: an invalid or unknown token is
// not an error): a PAT of another workspace, anything unknown, and access
// tokens, which are short-lived JWTs that cannot be revoked one by one.
func (o *OAuth) Revoke(ctx context.Context, caller *gatehouse.Client, tok string) error {
	if rt, ok := parseRefreshToken(tok); ok && o.Sessions != nil {
		return o.revokeGrant(ctx, caller, rt)
	}
	if caller.Public {
		// A public client proves nothing but its (public) client_id: it
		// revokes its own grants only (RFC 7009 section 2.1), never a PAT.
		return nil
	}
	if !token.LooksLikePAT(tok) || len(tok) > 4096 {
		return nil
	}
	secret, err := token.ParsePAT(tok)
	if err != nil {
		return nil
	}
	hash := token.LookupHashHex(secret.Reveal())
	return o.InTx(ctx, gatehouse.Scope{WorkspaceID: caller.WorkspaceID}, func(t *Tx) error {
		pat, err := t.PATByHash(ctx, hash)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if pat.WorkspaceID != caller.WorkspaceID {
			return nil
		}
		if err := t.DeletePAT(ctx, pat.UserID, pat.ID); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventPATDeleted, Actor: "client:" + caller.ClientID, Target: "pat:" + pat.ID,
			WorkspaceID: pat.WorkspaceID, Details: map[string]string{"via": "oauth_revoke"}})
	})
}
