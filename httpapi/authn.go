package httpapi

import (
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// Authenticator turns a request's bearer credential (an access token or a
// PAT) into the caller. Implementations read the credential only through
// BearerToken: never from a query string, a form or a cookie (RFC 6750
// section 2.1 only; docs/reference.md §6). A credential that is not valid is an
// error with code unauthorized.
type Authenticator interface {
	Authenticate(r *http.Request) (*gatehouse.Principal, error)
}

var errNoBearer = gatehouse.Errorf(gatehouse.EUnauthorized, "a bearer token is required in the Authorization header")

// maxBearerLen bounds a bearer token; JWTs and PATs are far shorter.
const maxBearerLen = 4096

// BearerToken returns the token of the request's one Authorization header of
// scheme Bearer (case-insensitive, RFC 7235 section 2.1), or an unauthorized
// error. It looks nowhere else.
func BearerToken(r *http.Request) (string, error) {
	vs := r.Header.Values("Authorization")
	if len(vs) != 1 {
		return "", errNoBearer
	}
	scheme, tok, ok := strings.Cut(vs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errNoBearer
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || len(tok) > maxBearerLen || !token68(tok) {
		return "", errNoBearer
	}
	return tok, nil
}

// token68 reports whether s has the syntax of RFC 7235's token68, which RFC
// 6750 section 2.1 uses for bearer tokens. It runs on every authenticated
// request over the whole token (a JWT is several hundred bytes), so each
// byte costs one table look-up.
func token68(s string) bool {
	i := 0
	for i < len(s) && token68Chars[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// token68Chars are the bytes of token68 before its trailing "=" padding.
var token68Chars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// requireAuth lets a request through only with a bearer credential that the
// Authenticator accepts, and puts the caller in the context
// (gatehouse.PrincipalFromContext). Without an Authenticator every request
// is refused: there is no unauthenticated path.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if _, err := BearerToken(r); err != nil {
			return err
		}
		if s.auth == nil {
			return gatehouse.Errorf(gatehouse.EUnauthorized, "authentication is not available")
		}
		p, err := s.auth.Authenticate(r)
		if err != nil {
			return err
		}
		if p == nil {
			return gatehouse.Errorf(gatehouse.EUnauthorized, "the bearer token is not valid")
		}
		next.ServeHTTP(w, r.WithContext(gatehouse.NewContextWithPrincipal(r.Context(), p)))
		return nil
	})
}
