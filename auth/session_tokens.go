package auth

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// SessionClientID is the client_id (RFC 9068 section 2.2) of the access
// tokens of people's own sessions: gatehouse itself is the client.
const SessionClientID = "gatehouse"

var _ SessionTokenIssuer = (*Keys)(nil)

// IssueSessionToken signs the access token of a person's session with the
// active key: sub is the user, sid the session, client_id SessionClientID.
// It implements SessionTokenIssuer.
func (k *Keys) IssueSessionToken(ctx context.Context, userID, sessionID string) (string, time.Duration, error) {
	tok, secs, err := k.IssueAccessToken(ctx, token.Claims{Subject: userID, SessionID: sessionID, ClientID: SessionClientID})
	if err != nil {
		return "", 0, err
	}
	return tok, time.Duration(secs) * time.Second, nil
}
