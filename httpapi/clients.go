package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// clientJSON is an OAuth client as listed: never the secret, nor its hash.
type clientJSON struct {
	ClientID        string     `json:"client_id"`
	WorkspaceID     string     `json:"workspace_id"`
	Name            string     `json:"name"`
	GrantTypes      []string   `json:"grant_types"`
	Scopes          []string   `json:"scopes"`
	RedirectURIs    []string   `json:"redirect_uris"`
	Public          bool       `json:"public"`
	CreatedAt       time.Time  `json:"created_at"`
	SecretRotatedAt *time.Time `json:"secret_rotated_at"`
	// OpenID Connect registration (docs/oidc.md).
	IDTokenAlg             string   `json:"id_token_signed_response_alg,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI   string   `json:"backchannel_logout_uri,omitempty"`
}

// createdClientJSON is a client with the one showing of its secret.
type createdClientJSON struct {
	clientJSON
	ClientSecret string `json:"client_secret"`
}

// ClientOut is the JSON form of a client (also printed by `gatehouse
// clients create`); secret is shown only when it is not empty.
func ClientOut(c *gatehouse.Client, secret auth.ClientSecret) any {
	out := clientJSON{ClientID: c.ClientID, WorkspaceID: c.WorkspaceID, Name: c.Name, GrantTypes: c.Grants, Scopes: c.Scopes,
		RedirectURIs: c.RedirectURIs, Public: c.Public, CreatedAt: c.CreatedAt.UTC(),
		IDTokenAlg: c.IDTokenAlg, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, BackchannelLogoutURI: c.BackchannelLogoutURI}
	if out.RedirectURIs == nil {
		out.RedirectURIs = []string{}
	}
	if out.GrantTypes == nil {
		out.GrantTypes = []string{}
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if !c.SecretRotatedAt.IsZero() {
		t := c.SecretRotatedAt.UTC()
		out.SecretRotatedAt = &t
	}
	if secret.Reveal() == "" {
		return out
	}
	return createdClientJSON{clientJSON: out, ClientSecret: secret.Reveal()}
}

func (s *Server) clientsOrUnavailable() (*auth.Clients, error) {
	if s.clients == nil {
		return nil, gatehouse.Errorf(gatehouse.EUnavailable, "OAuth clients are not available")
	}
	return s.clients, nil
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.clientsOrUnavailable()
	if err != nil {
		return err
	}
	var in struct {
		Name         string   `json:"name"`
		GrantTypes   []string `json:"grant_types"`
		Scopes       []string `json:"scopes"`
		RedirectURIs []string `json:"redirect_uris"`
		Public       bool     `json:"public"`
		// OpenID Connect registration (docs/oidc.md).
		IDTokenAlg             string   `json:"id_token_signed_response_alg"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
		BackchannelLogoutURI   string   `json:"backchannel_logout_uri"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	cc, err := cs.Create(r.Context(), principal(r), r.PathValue("id"),
		auth.ClientSpec{Name: in.Name, Grants: in.GrantTypes, Scopes: in.Scopes, RedirectURIs: in.RedirectURIs, Public: in.Public,
			IDTokenAlg: in.IDTokenAlg, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs, BackchannelLogoutURI: in.BackchannelLogoutURI})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ClientOut(cc.Client, cc.Secret))
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.clientsOrUnavailable()
	if err != nil {
		return err
	}
	list, err := cs.List(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, c := range list {
		out = append(out, ClientOut(c, auth.ClientSecret{}))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"clients": out})
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.clientsOrUnavailable()
	if err != nil {
		return err
	}
	c, err := cs.Get(r.Context(), principal(r), r.PathValue("id"), r.PathValue("client_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ClientOut(c, auth.ClientSecret{}))
}

func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.clientsOrUnavailable()
	if err != nil {
		return err
	}
	if err := cs.Delete(r.Context(), principal(r), r.PathValue("id"), r.PathValue("client_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateClientSecret is POST …/clients/{client_id}/secret: a new secret,
// shown once; the old one stops working at once. It takes no body.
func (s *Server) rotateClientSecret(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.clientsOrUnavailable()
	if err != nil {
		return err
	}
	cc, err := cs.RotateSecret(r.Context(), principal(r), r.PathValue("id"), r.PathValue("client_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ClientOut(cc.Client, cc.Secret))
}
