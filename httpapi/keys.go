package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// jwks serves the published signing keys (docs/reference.md §7; RFC 7517). Clients
// may cache it for the publish-ahead window (a new key is published that long
// before it signs), and revalidate with If-None-Match.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	if s.keys == nil {
		return gatehouse.Errorf(gatehouse.EUnavailable, "no signing keys are configured")
	}
	doc, err := s.keys.JWKS()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(doc.MaxAge.Seconds())))
	h.Set("ETag", doc.ETag)
	if match := r.Header.Get("If-None-Match"); match != "" && (match == doc.ETag || match == "W/"+doc.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Content-Length", strconv.Itoa(len(doc.Body)))
	_, err = w.Write(doc.Body)
	return err
}

// BearerAuth is the Authenticator of a running gatehouse: the request's
// bearer credential (read only through BearerToken) checked by
// auth.Credentials.
type BearerAuth struct{ Credentials *auth.Credentials }

// Authenticate returns the caller of r's bearer credential.
func (b BearerAuth) Authenticate(r *http.Request) (*gatehouse.Principal, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	return b.Credentials.Authenticate(r.Context(), tok)
}
