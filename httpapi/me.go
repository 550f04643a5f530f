package httpapi

import (
	"net/http"
	"time"
)

type meJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Status    string    `json:"status"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
	// EmailVerified: the address was proven (docs/reference.md section 16).
	EmailVerified bool `json:"email_verified"`
	// How the caller authenticated, so a client can tell a PAT from a session.
	Auth struct {
		Kind        string   `json:"kind"`
		SessionID   string   `json:"session_id,omitempty"`
		TokenID     string   `json:"token_id,omitempty"`
		WorkspaceID string   `json:"workspace_id,omitempty"`
		Scopes      []string `json:"scopes,omitempty"`
	} `json:"auth"`
}

// me answers GET /v1/me: the caller, at the top level (docs/reference.md §3).
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	u, err := s.profile.Me(r.Context(), p)
	if err != nil {
		return err
	}
	out := meJSON{ID: u.ID, Email: u.Email, Status: string(u.Status), Admin: u.Admin, CreatedAt: u.CreatedAt.UTC(), EmailVerified: !u.EmailVerifiedAt.IsZero()}
	out.Auth.Kind = string(p.Kind)
	out.Auth.SessionID = p.SessionID
	out.Auth.TokenID = p.TokenID
	out.Auth.WorkspaceID = p.WorkspaceID
	out.Auth.Scopes = p.Scopes
	return writeJSON(w, http.StatusOK, out)
}
