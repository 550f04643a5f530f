package auth

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// OpenID Connect (OpenID Connect Core 1.0, docs/oidc.md): an
// authorization-code grant whose scope holds openid also gets an id_token,
// from the code exchange and from each refresh; userinfo answers the same
// claims for the grant's access token.

// The OpenID Connect scopes (Core section 5.4). They are a vocabulary apart
// from the client scopes (ClientScopes): any client of the
// authorization-code grant may ask for them without registering them, since
// they only let it learn who the person is.
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
	ScopeEmail   = "email"
)

// OIDCScopes lists the OpenID Connect scopes, as discovery advertises them.
var OIDCScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail}

// OIDCClaims are the claims the id_token and userinfo carry
// (claims_supported, Discovery 1.0 section 3).
var OIDCClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "at_hash", "email"}

// personScope parses the scope of a request that acts for a person (the
// authorization-code and refresh grants): OpenID Connect scopes are always
// allowed, every other scope must be one of c's; invalid_scope otherwise.
func personScope(c *gatehouse.Client, scope string) ([]string, error) {
	req, err := parsePersonScope(scope)
	if err != nil {
		return nil, err
	}
	for _, sc := range req {
		if !slices.Contains(OIDCScopes, sc) && !contains(c.Scopes, sc) {
			return nil, gatehouse.Errorf(gatehouse.EInvalidScope, "the requested scope exceeds the client's")
		}
	}
	return req, nil
}

// parsePersonScope is parseScope with the OpenID Connect scopes added to
// the vocabulary.
func parsePersonScope(s string) ([]string, error) {
	if len(s) > 1024 || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ") {
		return nil, gatehouse.Errorf(gatehouse.EInvalidScope, "scope must be scope tokens separated by single spaces")
	}
	return inVocabulary(strings.Split(s, " "), append(append([]string(nil), ClientScopes...), OIDCScopes...), gatehouse.EInvalidScope, "scope")
}

// IDTokenClaims are an id_token's claims (Core sections 2 and 3.1.3.6).
type IDTokenClaims struct {
	Issuer    string         `json:"iss"`
	Subject   string         `json:"sub"`
	Audience  token.Audience `json:"aud"`
	ExpiresAt int64          `json:"exp"`
	IssuedAt  int64          `json:"iat"`
	AuthTime  int64          `json:"auth_time,omitempty"`
	Nonce     string         `json:"nonce,omitempty"`
	AMR       []string       `json:"amr,omitempty"`
	SessionID string         `json:"sid,omitempty"`
	AtHash    string         `json:"at_hash,omitempty"`
	Email     string         `json:"email,omitempty"`
}

// IDTokenAlgs returns the algorithms id_tokens can be signed with: one per
// key family (KeysConfig.IDTokenAlgs), the access-token family first.
func (k *Keys) IDTokenAlgs() []string {
	out := make([]string, len(k.cfg.IDTokenAlgs))
	for i, a := range k.cfg.IDTokenAlgs {
		out[i] = string(a)
	}
	return out
}

// signIDToken signs c with the active key of alg's family (empty: the
// access-token family), typ JWT. It fills iss, iat and exp (the access
// token's lifetime) and at_hash from accessToken when given.
func (k *Keys) signIDToken(c *IDTokenClaims, alg, accessToken string) (string, error) {
	signer, a, now, err := k.activeSigner(alg)
	if err != nil {
		return "", err
	}
	c.Issuer = k.cfg.Issuer
	c.IssuedAt = now.Unix()
	c.ExpiresAt = now.Add(k.cfg.AccessTTL).Unix()
	if accessToken != "" {
		c.AtHash = atHash(a, accessToken)
	}
	return signer.Sign(token.IDTokenType, c)
}

// activeSigner is the signer of the active key of alg's family (empty: the
// access-token family), with the algorithm and the time it was chosen at;
// unavailable while that family has no active key.
func (k *Keys) activeSigner(alg string) (*token.Signer, token.Alg, time.Time, error) {
	a := k.cfg.Alg
	if alg != "" {
		a = token.Alg(alg)
	}
	now := k.Now()
	st := k.state.Load()
	active, _ := k.classifyAlg(st.keys, now, a)
	if active == nil || st.signers[active.KID] == nil {
		return nil, a, now, gatehouse.Errorf(gatehouse.EUnavailable, "no %s signing key is available", a)
	}
	return st.signers[active.KID], a, now, nil
}

// atHash is the at_hash of accessToken (Core section 3.1.3.6): the
// base64url left half of its hash with the hash of the JWS alg, SHA-512
// for EdDSA with Ed25519 (as OpenID Foundation libraries compute it).
func atHash(alg token.Alg, accessToken string) string {
	var sum []byte
	if alg == token.EdDSA {
		h := sha512.Sum512([]byte(accessToken))
		sum = h[:]
	} else {
		h := sha256.Sum256([]byte(accessToken))
		sum = h[:]
	}
	return b64url.EncodeToString(sum[:len(sum)/2])
}

// errBadHint refuses an id_token_hint that is not an id_token this server
// issued.
var errBadHint = gatehouse.Errorf(gatehouse.EInvalidRequest, "id_token_hint is not an id_token issued here")

// VerifyIDTokenHint checks an id_token_hint (Core section 3.1.2.1,
// RP-Initiated Logout 1.0 section 2): an id_token this issuer signed with
// a published key, typ JWT (an access token, typ at+jwt, is refused), with
// sub and aud. Its expiry is not checked: the specifications let a hint
// outlive its token, and it proves only which person and client it names.
func (k *Keys) VerifyIDTokenHint(tok string) (*IDTokenClaims, error) {
	if tok == "" {
		return nil, errBadHint
	}
	st := k.state.Load()
	payload, err := token.VerifySigned(tok, token.IDTokenType, liveKeys{st: st, now: k.Now(), keep: k.keep()})
	if err != nil {
		return nil, &gatehouse.Error{Code: errBadHint.Code, Message: errBadHint.Message, Err: err}
	}
	var c IDTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != k.cfg.Issuer || c.Subject == "" || len(c.Audience) == 0 {
		return nil, errBadHint
	}
	return &c, nil
}

// idToken makes the id_token of a grant's token response when scope holds
// openid (else ""), for the person of sess (which may be nil once it has
// ended: auth_time and amr are then left out), the access token it comes
// with and the request's nonce.
func (o *OAuth) idToken(c *gatehouse.Client, u *gatehouse.User, sess *gatehouse.Session, scope, nonce, accessToken string) (string, error) {
	scopes := strings.Fields(scope)
	if !slices.Contains(scopes, ScopeOpenID) {
		return "", nil
	}
	claims := &IDTokenClaims{Subject: u.ID, Audience: token.Audience{c.ClientID}, Nonce: nonce}
	if sess != nil {
		claims.SessionID = sess.ID
		at := sess.AuthTime
		if at.IsZero() {
			at = sess.CreatedAt
		}
		claims.AuthTime = at.Unix()
		claims.AMR = sess.AMR
		if len(claims.AMR) == 0 {
			claims.AMR = []string{string(sess.Method)}
		}
	}
	if slices.Contains(scopes, ScopeEmail) || slices.Contains(scopes, ScopeProfile) {
		claims.Email = u.Email
	}
	return o.Keys.signIDToken(claims, c.IDTokenAlg, accessToken)
}

// UserInfo is the userinfo answer (Core section 5.3.2) for the access token
// of principal p: sub always, email with the profile or email scope. A
// token without openid is insufficient_scope (RFC 6750 section 3.1); a
// token that acts for no person (a client's own) is unauthorized.
func (o *OAuth) UserInfo(ctx context.Context, p *gatehouse.Principal) (map[string]any, error) {
	if p == nil || p.Kind != gatehouse.KindClient || p.UserID == "" {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "userinfo needs an access token a person granted")
	}
	if !slices.Contains(p.Scopes, ScopeOpenID) {
		return nil, gatehouse.Errorf(gatehouse.EInsufficientScope, "the access token lacks the openid scope")
	}
	var u *gatehouse.User
	err := o.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		u, err = tx.UserByID(ctx, p.UserID)
		return err
	})
	if errors.Is(err, gatehouse.ErrNotFound) || err == nil && u.Status != gatehouse.StatusActive {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "the access token's person is not active")
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"sub": u.ID}
	if slices.Contains(p.Scopes, ScopeEmail) || slices.Contains(p.Scopes, ScopeProfile) {
		out["email"] = u.Email
	}
	return out, nil
}

// authAgeOK reports whether a session that authenticated at authTime
// satisfies max_age seconds (Core section 3.1.2.1) at now; a negative
// maxAge means none was given. A max_age beyond what a time.Duration holds
// (about 292 years) is satisfied by any session: converting it would
// overflow and wrap.
func authAgeOK(authTime time.Time, maxAge int64, now time.Time) bool {
	return maxAge < 0 || maxAge > int64(math.MaxInt64/time.Second) || now.Sub(authTime) <= time.Duration(maxAge)*time.Second
}

// Now is the OAuth service's clock.
func (o *OAuth) Now() time.Time { return o.now() }

// ReauthNeeded reports whether the authorization request q needs the
// person of portal session sessionID to sign in again (OpenID Connect Core
// section 3.1.2.1): prompt=login, a max_age the session's auth_time is
// older than, or auth_after (Unix milliseconds: what a request that sent
// the person to sign in again carries back) not before the session's
// auth_time. The session is read only when the answer depends on it.
func (o *OAuth) ReauthNeeded(ctx context.Context, sessionID string, q interface{ Get(string) string }) (bool, error) {
	r, err := parseReauth(q)
	if err == nil && r.after != 0 && !o.checkAuthAfter(q, r, o.now()) {
		err = gatehouse.Errorf(gatehouse.EInvalidRequest, "auth_after is not one this server gave, or it has expired")
	}
	if err != nil || r.login || r.maxAge < 0 && r.after == 0 {
		return r.login, err
	}
	var sess *gatehouse.Session
	if err := o.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		sess, err = tx.SessionByID(ctx, sessionID)
		return err
	}); err != nil {
		return false, err
	}
	at := sess.AuthTime
	if at.IsZero() {
		at = sess.CreatedAt
	}
	return r.needs(at, o.now()), nil
}

// ParseMaxAge reads an authorization request's max_age (Core section
// 3.1.2.1: the allowable time in seconds since the person last
// authenticated): decimal digits only (no sign, no space) within an int64;
// invalid_request otherwise. The authorization endpoint's checks and
// ReauthNeeded read it alike.
func ParseMaxAge(v string) (int64, error) {
	if v != "" && strings.Trim(v, "0123456789") == "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, gatehouse.Errorf(gatehouse.EInvalidRequest, "max_age must be a number of seconds")
}

// reauthRequest is what an authorization request asks of the age of the
// person's sign-in: prompt=login, max_age in seconds (-1: none), auth_after
// in Unix milliseconds (0: none), which replaces the other two, with its
// MAC (AuthAfter).
type reauthRequest struct {
	login         bool
	maxAge, after int64
	afterMAC      string
}

// AuthAfterTTL is how long the auth_after of a request sent to sign in
// again stays good: the new sign-in must come back within it.
const AuthAfterTTL = 15 * time.Minute

// AuthAfter is the auth_after parameter of authorization request q, sent at
// now to sign in again: the time in Unix milliseconds, ".", and a MAC over
// it and the request (client, redirect URI, state, PKCE challenge, nonce).
// auth_after replaces prompt=login and max_age in the request that comes
// back, so a value the browser made up (auth_after=1) would skip both; the
// MAC and AuthAfterTTL make it one this server gave for this request, lately.
// Empty without the session service's key.
func (o *OAuth) AuthAfter(q interface{ Get(string) string }, now time.Time) string {
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	if mac := o.authAfterMAC(q, ms); mac != "" {
		return ms + "." + mac
	}
	return ""
}

func (o *OAuth) authAfterMAC(q interface{ Get(string) string }, ms string) string {
	if o.Sessions == nil {
		return ""
	}
	return o.Sessions.CSRF.mac("gatehouse auth_after v1", ms, q.Get("client_id"), q.Get("redirect_uri"), q.Get("state"),
		q.Get("code_challenge"), q.Get("nonce"))
}

// checkAuthAfter reports whether r's auth_after is AuthAfter's for q (in
// constant time) and no older than AuthAfterTTL at now.
func (o *OAuth) checkAuthAfter(q interface{ Get(string) string }, r reauthRequest, now time.Time) bool {
	want := o.authAfterMAC(q, strconv.FormatInt(r.after, 10))
	at := time.UnixMilli(r.after)
	return want != "" && subtle.ConstantTimeCompare([]byte(r.afterMAC), []byte(want)) == 1 &&
		!at.After(now) && now.Sub(at) <= AuthAfterTTL
}

// parseReauth reads prompt, max_age and auth_after from q; a malformed
// max_age or auth_after is invalid_request.
func parseReauth(q interface{ Get(string) string }) (reauthRequest, error) {
	r := reauthRequest{login: slices.Contains(strings.Fields(q.Get("prompt")), "login"), maxAge: -1}
	if v := q.Get("max_age"); v != "" {
		var err error
		if r.maxAge, err = ParseMaxAge(v); err != nil {
			return reauthRequest{}, err
		}
	}
	if v := q.Get("auth_after"); v != "" {
		ms, mac, _ := strings.Cut(v, ".")
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil || n <= 0 || mac == "" {
			return reauthRequest{}, gatehouse.Errorf(gatehouse.EInvalidRequest, "auth_after is malformed")
		}
		r = reauthRequest{maxAge: -1, after: n, afterMAC: mac} // it replaces prompt=login and max_age
	}
	return r, nil
}

// needs reports whether a session that authenticated at authTime must sign
// in again at now.
func (r reauthRequest) needs(authTime, now time.Time) bool {
	if r.login {
		return true
	}
	if r.after > 0 && !authTime.After(time.UnixMilli(r.after)) {
		return true
	}
	return !authAgeOK(authTime, r.maxAge, now)
}
