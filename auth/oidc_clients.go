package auth

import (
	"slices"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// validOIDCSpec checks a client's OpenID Connect registration (OpenID
// Connect Dynamic Client Registration 1.0 section 2, RP-Initiated Logout
// 1.0 section 3.1, Back-Channel Logout 1.0 section 2.2), normalizing spec
// in place:
//   - id_token_signed_response_alg: empty (the server's default) or an
//     algorithm of one of the server's key families;
//   - post_logout_redirect_uris: as many as redirect URIs may be, checked as
//     redirect URIs are (absolute, https or http to a loopback host, no
//     fragment) and matched later as exact strings;
//   - backchannel_logout_uri: one URI, checked the same way (the
//     specification allows plain http on loopback only for tests; the
//     delivery worker refuses private addresses unless configured).
//
// Each needs the authorization-code grant: only it has an id_token.
func (s *Clients) validOIDCSpec(spec *ClientSpec, grants []string) error {
	if spec.IDTokenAlg == "" && len(spec.PostLogoutRedirectURIs) == 0 && spec.BackchannelLogoutURI == "" {
		return nil
	}
	if !contains(grants, gatehouse.GrantAuthorizationCode) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "OpenID Connect settings need the authorization_code grant")
	}
	if a := spec.IDTokenAlg; a != "" {
		ok := token.Alg(a).Valid()
		if s.IDTokenAlgs != nil {
			ok = slices.Contains(s.IDTokenAlgs, a)
		}
		if !ok {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "id_token_signed_response_alg must be one of the server's id_token algorithms")
		}
	}
	uris, err := validRedirectURIs(spec.PostLogoutRedirectURIs)
	if err != nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "post-logout redirect URI: %s", gatehouse.ErrorMessage(err))
	}
	spec.PostLogoutRedirectURIs = uris
	if u := spec.BackchannelLogoutURI; u != "" {
		if len(u) > maxRedirectURILen {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "backchannel logout URI is too long")
		}
		if err := ValidRedirectURI(u); err != nil {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "backchannel logout URI: %s", gatehouse.ErrorMessage(err))
		}
	}
	return nil
}
