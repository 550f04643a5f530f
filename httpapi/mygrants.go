package httpapi

import (
	"net/http"
	"strings"
	"time"
)

// The caller's connected apps (docs/oidc.md, "In the portal"): their own
// OAuth grants, listed and revoked.

type grantJSON struct {
	ID            string    `json:"id"`
	ClientID      string    `json:"client_id"`
	ClientName    string    `json:"client_name"`
	WorkspaceID   string    `json:"workspace_id"`
	WorkspaceName string    `json:"workspace_name"`
	Scopes        []string  `json:"scopes"`
	CreatedAt     time.Time `json:"created_at"`
	LastUsedAt    time.Time `json:"last_used_at"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// listMyGrants: GET /v1/me/grants → 200 {"grants": [...]}.
func (s *Server) listMyGrants(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	o, err := s.oauthOrUnavailable()
	if err != nil {
		return err
	}
	apps, err := o.ConnectedApps(r.Context(), principal(r))
	if err != nil {
		return err
	}
	out := make([]grantJSON, 0, len(apps))
	for _, a := range apps {
		g := a.Grant
		out = append(out, grantJSON{ID: g.ID, ClientID: g.ClientID, ClientName: a.ClientName, WorkspaceID: g.WorkspaceID,
			WorkspaceName: a.WorkspaceName, Scopes: append([]string{}, strings.Fields(g.Scope)...),
			CreatedAt: g.CreatedAt.UTC(), LastUsedAt: g.LastUsedAt.UTC(), ExpiresAt: g.ExpiresAt.UTC()})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"grants": out})
}

// revokeMyGrant: DELETE /v1/me/grants/{id} → 204.
func (s *Server) revokeMyGrant(w http.ResponseWriter, r *http.Request) error {
	o, err := s.oauthOrUnavailable()
	if err != nil {
		return err
	}
	if err := o.RevokeConnectedApp(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
