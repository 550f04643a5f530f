package auth

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// FirstPartyClientID is the client_id of access tokens issued to people's
// sessions: gatehouse's own sign-in, not a registered OAuth client. RFC 9068
// section 2.2 requires the claim.
const FirstPartyClientID = "gatehouse"

// sessionScope is the scope claim of a person's access token: every scope,
// since the session is the person. Resource servers that check scopes with
// package verify see the same vocabulary as on PATs.
var sessionScope = strings.Join(PATScopes, " ")

// IssueSessionToken signs the access token of a person's session: sub is
// the user, sid the session. It makes Keys the Sessions' token issuer.
func (k *Keys) IssueSessionToken(ctx context.Context, userID, sessionID string) (string, time.Duration, error) {
	tok, secs, err := k.IssueAccessToken(ctx, token.Claims{Subject: userID, SessionID: sessionID, ClientID: FirstPartyClientID, Scope: sessionScope})
	return tok, time.Duration(secs) * time.Second, err
}
