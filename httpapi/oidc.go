package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// OpenID Connect endpoints (docs/oidc.md, OpenID Connect Core 1.0).

// userinfo is GET and POST /v1/oauth/userinfo (Core section 5.3): the
// claims of the person an access token was granted by, Bearer only (RFC
// 6750 section 2.1). A token without openid is 403 insufficient_scope with
// the WWW-Authenticate challenge of RFC 6750 section 3.1.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	o, err := s.oauthOrUnavailable()
	if err != nil {
		return err
	}
	claims, err := o.UserInfo(r.Context(), gatehouse.PrincipalFromContext(r.Context()))
	if gatehouse.ErrorCode(err) == gatehouse.EInsufficientScope {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="openid"`)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, claims)
}

// idTokenAlgs lists the id_token algorithms of the key families; RS256
// always (Discovery 1.0 section 3 requires it, and the wiring keeps an
// RS256 family).
func (s *Server) idTokenAlgs() []string {
	if s.oauth == nil || s.oauth.Keys == nil {
		return []string{string(token.RS256)}
	}
	return s.oauth.Keys.IDTokenAlgs()
}
