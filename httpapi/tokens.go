package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// patJSON is a personal access token as listed: never the secret.
type patJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	WorkspaceID string     `json:"workspace_id"`
	Prefix      string     `json:"prefix"`
	Scopes      []string   `json:"scopes"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

func patOut(p *gatehouse.PAT) patJSON {
	out := patJSON{ID: p.ID, Name: p.Name, WorkspaceID: p.WorkspaceID, Prefix: p.Prefix, Scopes: p.Scopes,
		CreatedAt: p.CreatedAt.UTC(), ExpiresAt: p.ExpiresAt.UTC()}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt.UTC()
		out.LastUsedAt = &t
	}
	return out
}

func (s *Server) patsOrUnavailable() (*auth.PATs, error) {
	if s.pats == nil {
		return nil, gatehouse.Errorf(gatehouse.EUnavailable, "personal access tokens are not available")
	}
	return s.pats, nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	pats, err := s.patsOrUnavailable()
	if err != nil {
		return err
	}
	var in struct {
		Name        string     `json:"name"`
		WorkspaceID string     `json:"workspace_id"`
		Scopes      []string   `json:"scopes"`
		ExpiresAt   *time.Time `json:"expires_at"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.WorkspaceID == "" {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "workspace_id is required: the workspace the token is bound to")
	}
	var exp time.Time
	if in.ExpiresAt != nil {
		exp = *in.ExpiresAt
	}
	c, err := pats.Create(r.Context(), principal(r), in.WorkspaceID, in.Name, in.Scopes, exp)
	if err != nil {
		return err
	}
	// The secret is shown this once; it is never stored or listed.
	return writeJSON(w, http.StatusCreated, struct {
		patJSON
		Token string `json:"token"`
	}{patOut(c.PAT), c.Token.Reveal()})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	pats, err := s.patsOrUnavailable()
	if err != nil {
		return err
	}
	list, err := pats.List(r.Context(), principal(r))
	if err != nil {
		return err
	}
	out := make([]patJSON, 0, len(list))
	for _, p := range list {
		out = append(out, patOut(p))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	pats, err := s.patsOrUnavailable()
	if err != nil {
		return err
	}
	p, err := pats.Get(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, patOut(p))
}

func (s *Server) updateToken(w http.ResponseWriter, r *http.Request) error {
	pats, err := s.patsOrUnavailable()
	if err != nil {
		return err
	}
	var in struct {
		Name      *string    `json:"name"`
		Scopes    []string   `json:"scopes"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := pats.Update(r.Context(), principal(r), r.PathValue("id"), auth.PATUpdate{Name: in.Name, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, patOut(p))
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	pats, err := s.patsOrUnavailable()
	if err != nil {
		return err
	}
	if err := pats.Delete(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
