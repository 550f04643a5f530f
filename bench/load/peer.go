package main

import (
	"errors"
	"net/url"
)

// setupPeer is a worker of the peer modes, which drive another OAuth 2.0
// server side by side with gatehouse (bench/peer.sh: Ory Hydra): -base is
// its public URL, -peer-admin its admin URL. Each worker registers a
// client_credentials client of its own through the admin API (POST
// /admin/clients), as gatehouse's cc and introspect modes register one
// each, and then
//
//	peer-cc          POST /oauth2/token, client_credentials, client_secret_basic
//	peer-introspect  POST /admin/oauth2/introspect of that client's token
func setupPeer(o *opts) (func() error, error) {
	if o.peerAdmin == "" {
		return nil, errors.New("the peer modes need -peer-admin")
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := post(o.cl, o.peerAdmin+"/admin/clients", map[string]any{
		"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_basic", "scope": "workspaces:read",
	}, &c); err != nil {
		return nil, err
	}
	cc := func(into any) error {
		return postForm(o.cl, o.base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, c.ClientID, c.ClientSecret, into)
	}
	if o.mode == "peer-cc" {
		return func() error { return cc(nil) }, nil
	}
	var at tokens
	if err := cc(&at); err != nil {
		return nil, err
	}
	return introspect(o.cl, o.peerAdmin+"/admin/oauth2/introspect", c.ClientID, c.ClientSecret, at.AccessToken), nil
}
