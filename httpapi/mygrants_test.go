package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// TestConnectedApps: GET /v1/me/grants lists the caller's own grant (client
// and workspace names, scopes); another person sees none and cannot revoke
// it (404); DELETE ends it (the client's refresh token gets invalid_grant)
// and writes a back-channel logout notice for the session the grant was
// approved from; a PAT cannot list them.
func TestConnectedApps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rp := newOIDCRP(t, db)
		api := func(method, path, bearer, body string) (int, map[string]any) {
			t.Helper()
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			if body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			w := do(rp.e.s, r)
			var v map[string]any
			json.Unmarshal(w.Body.Bytes(), &v)
			return w.Code, v
		}
		signIn := func(email string) string {
			_, tok := api("POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
			return tok["access_token"].(string)
		}
		ada := signIn("ada@example.com")
		_, wl := api("GET", "/v1/workspaces", ada, "")
		wsID := wl["workspaces"].([]any)[0].(map[string]any)["id"].(string)
		st, c := api("POST", "/v1/workspaces/"+wsID+"/clients", ada,
			`{"name":"Notes","public":true,"redirect_uris":["`+rpCallback+`"],"backchannel_logout_uri":"https://app.example.com/bc"}`)
		if st != 201 {
			t.Fatalf("client: %d %v", st, c)
		}
		rp.clientID = c["client_id"].(string)
		tok := rp.tokens(t, "openid email")
		rt := tok["refresh_token"].(string)

		st, list := api("GET", "/v1/me/grants", ada, "")
		grants, _ := list["grants"].([]any)
		if st != 200 || len(grants) != 1 {
			t.Fatalf("GET /v1/me/grants: %d %v", st, list)
		}
		g := grants[0].(map[string]any)
		if g["client_name"] != "Notes" || g["client_id"] != rp.clientID || g["workspace_name"] != "acme" || g["workspace_id"] != wsID ||
			strings.Join(toStrings(g["scopes"]), " ") != "email openid" || g["created_at"] == nil || g["last_used_at"] == nil {
			t.Fatalf("grant: %v", g)
		}
		id := g["id"].(string)

		// Another person: sees nothing, revokes nothing.
		api("POST", "/v1/auth/signup", "", `{"email":"bob@example.com","password":"`+httpPassword+`"}`)
		bob := signIn("bob@example.com")
		if st, l := api("GET", "/v1/me/grants", bob, ""); st != 200 || len(l["grants"].([]any)) != 0 {
			t.Fatalf("bob's list: %d %v", st, l)
		}
		if st, _ := api("DELETE", "/v1/me/grants/"+id, bob, ""); st != 404 {
			t.Fatalf("bob revoking ada's grant: %d, want 404", st)
		}
		if st, _ := api("DELETE", "/v1/me/grants/not-an-id", ada, ""); st != 404 {
			t.Fatalf("a malformed id: %d, want 404", st)
		}
		// A PAT is not a signed-in session.
		_, pat := api("POST", "/v1/tokens", ada, `{"name":"script","workspace_id":"`+wsID+`"}`)
		if st, _ := api("GET", "/v1/me/grants", pat["token"].(string), ""); st != 403 {
			t.Fatalf("a PAT listing grants: %d, want 403", st)
		}
		core := auth.NewCore(db, nil)
		if items, err := core.ClaimOutbox(context.Background(), 10, time.Minute); err != nil || len(items) != 0 {
			t.Fatalf("outbox before the revocation: %v %v", items, err)
		}

		if st, body := api("DELETE", "/v1/me/grants/"+id, ada, ""); st != 204 {
			t.Fatalf("revoke: %d %v", st, body)
		}
		fw := form(rp.e.s, "/v1/oauth/token", "grant_type=refresh_token&client_id="+rp.clientID+"&refresh_token="+rt)
		if fw.Code != 400 || jsonOf(t, fw)["error"] != "invalid_grant" {
			t.Fatalf("refresh after the revocation: %d %s", fw.Code, fw.Body)
		}
		items, err := core.ClaimOutbox(context.Background(), 10, time.Minute)
		if err != nil || len(items) != 1 || items[0].Kind != auth.OutboxBackchannel {
			t.Fatalf("outbox after the revocation: %v %v", items, err)
		}
		var n auth.BackchannelNotice
		if err := json.Unmarshal(items[0].Payload, &n); err != nil || n.ClientID != rp.clientID || n.URI != "https://app.example.com/bc" ||
			n.SessionID != jwtPart(t, tok["id_token"].(string), 1)["sid"] || n.WorkspaceID != wsID || n.Subject == "" {
			t.Fatalf("notice %+v %v", n, err)
		}
		if st, l := api("GET", "/v1/me/grants", ada, ""); st != 200 || len(l["grants"].([]any)) != 0 {
			t.Fatalf("list after the revocation: %d %v", st, l)
		}
		if st, _ := api("DELETE", "/v1/me/grants/"+id, ada, ""); st != 404 {
			t.Fatalf("revoking again: %d, want 404", st)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
