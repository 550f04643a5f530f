package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// The OAuth 2.0 endpoints (docs/reference.md §6, docs/oauth.md): the token endpoint
// (RFC 6749), introspection (RFC 7662) and revocation (RFC 7009), all taking
// application/x-www-form-urlencoded bodies and authenticating the client
// with client_secret_basic or client_secret_post, and the discovery
// documents (RFC 8414).

func (s *Server) oauthOrUnavailable() (*auth.OAuth, error) {
	if s.oauth == nil {
		return nil, gatehouse.Errorf(gatehouse.EUnavailable, "OAuth is not available")
	}
	return s.oauth, nil
}

// oauthForm is the opening of the token, introspection and revocation
// endpoints: the response is marked never cached (RFC 6749 section 5.1), then
// the OAuth service and the form-encoded body are returned.
func (s *Server) oauthForm(w http.ResponseWriter, r *http.Request) (*auth.OAuth, url.Values, error) {
	noStore(w)
	o, err := s.oauthOrUnavailable()
	if err != nil {
		return nil, nil, err
	}
	form, err := decodeForm(r)
	if err != nil {
		return nil, nil, err
	}
	return o, form, nil
}

// clientCredentials are the client credentials a request presents.
type clientCredentials struct {
	id, secret string
	basic      bool // sent with HTTP Basic (client_secret_basic)
}

var errNoClientAuth = gatehouse.Errorf(gatehouse.EInvalidClient, "client authentication is required (client_secret_basic or client_secret_post)")

// readClientCredentials finds the client's credentials, by exactly one
// method (RFC 6749 section 2.3: "MUST NOT use more than one authentication
// method in each request"): HTTP Basic with the form-encoded id and secret
// (section 2.3.1), or client_id and client_secret in the body. Both: 400
// invalid_request. Neither, or an Authorization header of another scheme or
// that does not parse: 401 invalid_client.
func readClientCredentials(r *http.Request, form url.Values) (clientCredentials, error) {
	hdr := r.Header.Values("Authorization")
	_, postSecret := form["client_secret"]
	if len(hdr) == 0 {
		if !postSecret || form.Get("client_id") == "" {
			return clientCredentials{}, errNoClientAuth
		}
		return clientCredentials{id: form.Get("client_id"), secret: form.Get("client_secret")}, nil
	}
	if postSecret {
		return clientCredentials{}, gatehouse.Errorf(gatehouse.EInvalidRequest, "use one client authentication method: HTTP Basic or client_secret in the body, not both")
	}
	user, pass, ok := r.BasicAuth()
	if len(hdr) != 1 || !ok {
		return clientCredentials{}, errNoClientAuth
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || id == "" {
		return clientCredentials{}, errNoClientAuth
	}
	if fid, ok := form["client_id"]; ok && fid[0] != id {
		return clientCredentials{}, gatehouse.Errorf(gatehouse.EInvalidRequest, "client_id in the body differs from the one in the Authorization header")
	}
	return clientCredentials{id: id, secret: secret, basic: true}, nil
}

// authenticateClient reads the client's credentials and checks them;
// auth.OAuth.AuthenticateClient applies the per-client policy named and the
// failed-auth ceilings of the IP and the client before the secret is hashed
// and compared (the credential guard, auth/guard.go). A malformed client id
// names no client and meets only the IP's ceiling. A wrong secret counts
// one failure; a right one never does.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, form url.Values, policy string) (*gatehouse.Client, error) {
	o, err := s.oauthOrUnavailable()
	if err != nil {
		return nil, err
	}
	if r.Header.Get("Authorization") != "" {
		// RFC 6749 section 5.2: a 401 to a client that tried the
		// Authorization header names the scheme, also when it did not parse.
		defer func() {
			if gatehouse.ErrorCode(err) == gatehouse.EInvalidClient {
				w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
			}
		}()
	}
	cc, err := readClientCredentials(r, form)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInvalidClient {
			// No usable credentials is a failed authentication too, under
			// the IP's ceiling.
			err = auth.CredentialsMissing(r.Context(), err)
		}
		return nil, err
	}
	return o.AuthenticateClient(r.Context(), policy, cc.id, cc.secret)
}

// noStore marks an OAuth response as never cached (RFC 6749 section 5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

type oauthTokenJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// oauthToken is POST /v1/oauth/token. It runs the shared steps of every
// grant in the registry (auth/grants.go), in order: the grant type is
// known (so an unsupported one is unsupported_grant_type whoever asks);
// the client authenticates under the token endpoint's limits (a public
// client, for a grant that allows one, names itself with client_id alone);
// then auth's Token checks the client's registration and the scope and runs
// the grant.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) error {
	o, form, err := s.oauthForm(w, r)
	if err != nil {
		return err
	}
	g, err := auth.LookupGrant(form.Get("grant_type"))
	if err != nil {
		return err
	}
	var c *gatehouse.Client
	if g.Public && namesPublicClient(r, form) {
		c, err = s.publicClient(r, form.Get("client_id"), ratelimit.OAuthTokenClient)
	} else {
		c, err = s.authenticateClient(w, r, form, ratelimit.OAuthTokenClient)
	}
	if err != nil {
		return err
	}
	ig, err := o.Token(r.Context(), g, c, form)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, oauthTokenJSON{AccessToken: ig.AccessToken, TokenType: "Bearer", ExpiresIn: ig.ExpiresIn,
		Scope: ig.Scope, RefreshToken: ig.RefreshToken, IDToken: ig.IDToken})
}

// namesPublicClient reports whether a request authenticates as a public
// client does (token_endpoint_auth_method "none", RFC 7591 section 2):
// client_id in the body, and neither a client_secret nor an Authorization
// header.
func namesPublicClient(r *http.Request, form url.Values) bool {
	_, secret := form["client_secret"]
	return !secret && r.Header.Get("Authorization") == "" && form.Get("client_id") != ""
}

// publicClient identifies a public client by its client_id (RFC 6749
// section 2.1; it proves itself with PKCE) under the same limits as a
// secret: the per-client policy named and the failed-auth ceilings; an
// unknown or confidential client counts one failure.
func (s *Server) publicClient(r *http.Request, clientID, policy string) (*gatehouse.Client, error) {
	return s.oauth.PublicClient(r.Context(), policy, clientID)
}

// introspectionJSON is RFC 7662 section 2.2's answer; an inactive token gets
// {"active":false} and nothing else.
type introspectionJSON struct {
	Active      bool   `json:"active"`
	Scope       string `json:"scope,omitempty"`
	ClientID    string `json:"client_id,omitempty"`
	TokenType   string `json:"token_type,omitempty"`
	Exp         int64  `json:"exp,omitempty"`
	Iat         int64  `json:"iat,omitempty"`
	Sub         string `json:"sub,omitempty"`
	Aud         any    `json:"aud,omitempty"`
	Iss         string `json:"iss,omitempty"`
	JTI         string `json:"jti,omitempty"`
	WorkspaceID string `json:"workspace_id,omitempty"`
	TokenKind   string `json:"token_kind,omitempty"`
}

// oauthIntrospect is POST /v1/oauth/introspect (RFC 7662).
func (s *Server) oauthIntrospect(w http.ResponseWriter, r *http.Request) error {
	o, form, err := s.oauthForm(w, r)
	if err != nil {
		return err
	}
	c, err := s.authenticateClient(w, r, form, ratelimit.IntrospectClient)
	if err != nil {
		return err
	}
	tok, ok := form["token"]
	if !ok {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "token is required")
	}
	in, err := o.Introspect(r.Context(), c, tok[0])
	if err != nil {
		return err
	}
	if !in.Active {
		return writeJSON(w, http.StatusOK, introspectionJSON{})
	}
	tokenType := "Bearer"
	if in.TokenType == auth.TokenTypeRefresh {
		tokenType = auth.TokenTypeRefresh // not presented as a bearer token
	}
	out := introspectionJSON{Active: true, Scope: in.Scope, ClientID: in.ClientID, TokenType: tokenType, Sub: in.Subject,
		Iss: in.Issuer, JTI: in.JTI, WorkspaceID: in.WorkspaceID, TokenKind: in.TokenType,
		Exp: in.ExpiresAt.Unix(), Iat: in.IssuedAt.Unix()}
	switch len(in.Audience) {
	case 0:
	case 1:
		out.Aud = in.Audience[0]
	default:
		out.Aud = in.Audience
	}
	return writeJSON(w, http.StatusOK, out)
}

// oauthRevoke is POST /v1/oauth/revoke (RFC 7009): 200 with an empty body
// for every token, revoked or not (section 2.2).
func (s *Server) oauthRevoke(w http.ResponseWriter, r *http.Request) error {
	o, form, err := s.oauthForm(w, r)
	if err != nil {
		return err
	}
	var c *gatehouse.Client
	if namesPublicClient(r, form) {
		// A public client revokes its own grants' refresh tokens with its
		// client_id alone (RFC 7009 section 2.1).
		c, err = s.publicClient(r, form.Get("client_id"), ratelimit.IntrospectClient)
	} else {
		c, err = s.authenticateClient(w, r, form, ratelimit.IntrospectClient)
	}
	if err != nil {
		return err
	}
	tok, ok := form["token"]
	if !ok {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "token is required")
	}
	if err := o.Revoke(r.Context(), c, tok[0]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// discoveryJSON is the authorization server metadata (RFC 8414 section 2).
type discoveryJSON struct {
	Issuer                           string   `json:"issuer"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	ScopesSupported                  []string `json:"scopes_supported"`
	CodeChallengeMethodsSupported    []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIss         bool     `json:"authorization_response_iss_parameter_supported"`
	// OpenID Connect Discovery 1.0 section 3.
	UserinfoEndpoint           string   `json:"userinfo_endpoint"`
	EndSessionEndpoint         string   `json:"end_session_endpoint"`
	BackchannelLogoutSupported bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSession   bool     `json:"backchannel_logout_session_supported"`
	SubjectTypesSupported      []string `json:"subject_types_supported"`
	IDTokenSigningAlgs         []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported            []string `json:"claims_supported"`
	ResponseModesSupported     []string `json:"response_modes_supported"`
	PromptValuesSupported      []string `json:"prompt_values_supported"`
	ClaimsParameterSupported   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupport bool     `json:"request_uri_parameter_supported"`
	ServiceDocumentation       string   `json:"service_documentation,omitempty"`
}

// discovery is GET /.well-known/oauth-authorization-server and GET
// /.well-known/openid-configuration: one document, the same issuer and
// endpoints, with the authorization-code grant (PKCE S256 only) and the iss
// parameter of RFC 9207. The grant types are the registry's
// (auth.GrantTypes); "none" (a public client's client_id alone) is a token
// endpoint method when a grant allows public clients, and a revocation
// method, since public clients revoke their own grants (RFC 7009 section
// 2.1); introspection needs a secret.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) error {
	iss := strings.TrimSuffix(s.cfg.PublicURL.String(), "/")
	methods := []string{"client_secret_basic", "client_secret_post"}
	tokenMethods := methods
	if len(auth.PublicGrantTypes()) > 0 {
		tokenMethods = append(append([]string(nil), methods...), "none")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	return writeJSON(w, http.StatusOK, discoveryJSON{
		Issuer:                           iss,
		AuthorizationEndpoint:            iss + "/v1/oauth/authorize",
		TokenEndpoint:                    iss + "/v1/oauth/token",
		JWKSURI:                          iss + "/.well-known/jwks.json",
		IntrospectionEndpoint:            iss + "/v1/oauth/introspect",
		RevocationEndpoint:               iss + "/v1/oauth/revoke",
		GrantTypesSupported:              auth.GrantTypes(),
		ResponseTypesSupported:           []string{"code"},
		TokenEndpointAuthMethods:         tokenMethods,
		IntrospectionEndpointAuthMethods: methods,
		RevocationEndpointAuthMethods:    append(append([]string(nil), methods...), "none"),
		ScopesSupported:                  append(append([]string(nil), auth.OIDCScopes...), auth.ClientScopes...),
		CodeChallengeMethodsSupported:    []string{"S256"},
		AuthorizationResponseIss:         true,
		UserinfoEndpoint:                 iss + "/v1/oauth/userinfo",
		EndSessionEndpoint:               iss + "/v1/oauth/logout",
		BackchannelLogoutSupported:       true,
		BackchannelLogoutSession:         true,
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgs:               s.idTokenAlgs(),
		ClaimsSupported:                  auth.OIDCClaims,
		ResponseModesSupported:           []string{"query"},
		PromptValuesSupported:            []string{"none", "login", "consent"},
		RequestURIParameterSupport:       false,
	})
}
