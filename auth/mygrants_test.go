package auth_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestConnectedAppsAcrossWorkspaces: a person's grants in two workspaces
// are listed with the client's and the workspace's names; a PAT may not
// list them; revoking one records oauth_grant.revoked (reason
// user_revoked) in its workspace, ends its refresh token and leaves the
// other; a session that has ended revokes nothing.
func TestConnectedAppsAcrossWorkspaces(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		o := &auth.OAuth{Core: e.core, Keys: e.keys, Sessions: e.s}
		ada := e.signup("ada@example.com")
		tr := e.login("ada@example.com")
		p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: ada.ID, SessionID: tr.SessionID}
		verifier := strings.Repeat("Vv-._~", 8)
		grant := func(wsName, clientName string) (*gatehouse.Workspace, *gatehouse.Client, string) {
			t.Helper()
			w, err := (&auth.Workspaces{Core: e.core}).Create(ctx, p, wsName)
			if err != nil {
				t.Fatal(err)
			}
			cc, err := (&auth.Clients{Core: e.core}).CreateAsSystem(ctx, w.ID, auth.ClientSpec{Name: clientName, Public: true,
				RedirectURIs: []string{"https://app.example.com/cb"}})
			if err != nil {
				t.Fatal(err)
			}
			req := auth.AuthorizationRequest{ClientID: cc.Client.ClientID, RedirectURI: "https://app.example.com/cb", ResponseType: "code",
				CodeChallenge: auth.S256(verifier), CodeChallengeMethod: "S256", Scope: "openid"}
			code, err := o.IssueCode(ctx, cc.Client, ada.ID, tr.SessionID, req, "openid")
			if err != nil {
				t.Fatal(err)
			}
			g, err := o.ExchangeCode(ctx, cc.Client, code, req.RedirectURI, verifier)
			if err != nil {
				t.Fatal(err)
			}
			return w, cc.Client, g.RefreshToken
		}
		wa, ca, rta := grant("alpha", "Notes")
		wb, cb, rtb := grant("beta", "Calendar")

		apps, err := o.ConnectedApps(ctx, p)
		if err != nil || len(apps) != 2 {
			t.Fatalf("ConnectedApps: %v %v", apps, err)
		}
		seen := map[string]auth.ConnectedApp{}
		for _, a := range apps {
			seen[a.Grant.WorkspaceID] = a
		}
		if a := seen[wa.ID]; a.ClientName != "Notes" || a.WorkspaceName != "alpha" || a.Grant.Scope != "openid" {
			t.Fatalf("alpha: %+v", a)
		}
		if a := seen[wb.ID]; a.ClientName != "Calendar" || a.WorkspaceName != "beta" {
			t.Fatalf("beta: %+v", a)
		}
		pat := &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: ada.ID, TokenID: gatehouse.NewID(e.clock.Now()), WorkspaceID: wa.ID}
		if _, err := o.ConnectedApps(ctx, pat); gatehouse.ErrorCode(err) != gatehouse.EForbidden {
			t.Fatalf("a PAT listing: %v", err)
		}

		if err := o.RevokeConnectedApp(ctx, p, seen[wb.ID].Grant.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := o.RefreshGrant(ctx, cb, rtb, ""); gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("the revoked grant's refresh: %v", err)
		}
		if _, err := o.RefreshGrant(ctx, ca, rta, ""); err != nil {
			t.Fatalf("the other grant's refresh: %v", err)
		}
		var evs []*gatehouse.AuditEvent
		_ = e.core.InTx(ctx, gatehouse.Scope{WorkspaceID: wb.ID}, func(tx *auth.Tx) error {
			evs, err = tx.AuditEvents(ctx, gatehouse.AuditFilter{WorkspaceID: wb.ID, Type: gatehouse.EventOAuthGrantRevoked, Limit: 10})
			return err
		})
		if len(evs) != 1 || evs[0].Details["reason"] != "user_revoked" || evs[0].Actor != ada.ID {
			t.Fatalf("oauth_grant.revoked: %+v", evs)
		}

		// A session that has ended changes nothing (WriteTx).
		if err := e.s.Logout(ctx, tr.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if err := o.RevokeConnectedApp(ctx, p, seen[wa.ID].Grant.ID); gatehouse.ErrorCode(err) != gatehouse.EUnauthorized {
			t.Fatalf("revoking with an ended session: %v", err)
		}
	})
}
