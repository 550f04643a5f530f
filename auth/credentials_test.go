package auth_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Only gatehouse's own session tokens carry a session's power: a token issued
// to an OAuth client for a person (as the authorization-code grant will) is a
// client's, even with a sid, and its scopes bound it.
func TestPrincipalFromClaimsSessionNeedsGatehouseClient(t *testing.T) {
	user, sid := gatehouse.NewID(time.Now()), gatehouse.NewID(time.Now())
	p, err := auth.PrincipalFromClaims(&token.Claims{Subject: user, SessionID: sid, ClientID: auth.SessionClientID})
	if err != nil || p.Kind != gatehouse.KindSession || p.UserID != user || p.SessionID != sid {
		t.Fatalf("own session token: %+v %v", p, err)
	}
	p, err = auth.PrincipalFromClaims(&token.Claims{Subject: user, SessionID: sid, ClientID: gatehouse.NewID(time.Now()), Scope: "profile:read"})
	if err != nil || p.Kind == gatehouse.KindSession || p.HasScope(gatehouse.ScopeWorkspacesWrite) {
		t.Fatalf("a client's token with a sid became a session: %+v %v", p, err)
	}
}
