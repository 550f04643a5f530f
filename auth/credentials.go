package auth

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Credentials turns a bearer credential into the caller: a JWT access token
// (verified against the published signing keys, no store access) or a
// personal access token (gth_…, checked for format and checksum first, then
// looked up by its SHA-256 hash).
type Credentials struct {
	Keys *Keys
	PATs *PATs // nil: PATs are not accepted
}

var errBadBearer = gatehouse.Errorf(gatehouse.EUnauthorized, "the bearer token is not valid")

// Authenticate returns the caller of bearer, or unauthorized.
func (c *Credentials) Authenticate(ctx context.Context, bearer string) (*gatehouse.Principal, error) {
	if token.LooksLikePAT(bearer) {
		if c.PATs == nil {
			return nil, errBadBearer
		}
		return c.PATs.Authenticate(ctx, bearer)
	}
	claims, err := c.Keys.VerifyAccessToken(bearer)
	if err != nil {
		return nil, &gatehouse.Error{Code: gatehouse.EUnauthorized, Message: errBadBearer.Message, Err: err}
	}
	return PrincipalFromClaims(claims)
}

// PrincipalFromClaims maps verified access-token claims to the caller: a
// person's session when the token carries a sid and was issued to gatehouse
// itself (client_id SessionClientID), else an OAuth client. A session may do
// everything its account may (HasScope is true for every scope), so a token a
// client obtained for a person, sid or not, is never taken for one.
func PrincipalFromClaims(c *token.Claims) (*gatehouse.Principal, error) {
	p := &gatehouse.Principal{ClientID: c.ClientID, WorkspaceID: c.WorkspaceID, Scopes: c.Scopes()}
	if c.SessionID != "" && c.ClientID == SessionClientID {
		if !gatehouse.ValidID(c.Subject) {
			return nil, &gatehouse.Error{Code: gatehouse.EUnauthorized, Message: errBadBearer.Message, Err: errors.New("session token sub is not a user id")}
		}
		p.Kind, p.UserID, p.SessionID = gatehouse.KindSession, c.Subject, c.SessionID
	} else {
		p.Kind = gatehouse.KindClient
		// A token the client obtained for a person (the authorization-code
		// grant: sub is the person, not the client) acts for that person,
		// within the client's scopes and workspace (docs/scopes.md).
		if c.Subject != c.ClientID && gatehouse.ValidID(c.Subject) {
			p.UserID = c.Subject
		}
	}
	return p, nil
}
