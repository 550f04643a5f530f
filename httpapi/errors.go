package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// statusOf is the one map from error code to HTTP status for the JSON API
// (docs/reference.md §2). The OAuth endpoints answer through writeOAuthError,
// which follows RFC 6749 section 5.2 instead.
var statusOf = map[gatehouse.Code]int{
	gatehouse.EInvalidRequest:           http.StatusBadRequest,
	gatehouse.EInvalidClient:            http.StatusUnauthorized,
	gatehouse.EInvalidGrant:             http.StatusUnauthorized, // /v1/auth/*: wrong password, bad refresh token
	gatehouse.EUnauthorizedClient:       http.StatusBadRequest,
	gatehouse.EUnsupportedGrantType:     http.StatusBadRequest,
	gatehouse.EInvalidScope:             http.StatusBadRequest,
	gatehouse.EUnauthorized:             http.StatusUnauthorized,
	gatehouse.EForbidden:                http.StatusForbidden,
	gatehouse.ECSRFFailed:               http.StatusForbidden,
	gatehouse.EOriginNotAllowed:         http.StatusForbidden,
	gatehouse.EAccountLocked:            http.StatusForbidden,
	gatehouse.EAccountDisabled:          http.StatusForbidden,
	gatehouse.ENotFound:                 http.StatusNotFound,
	gatehouse.EConflict:                 http.StatusConflict,
	gatehouse.EPayloadTooLarge:          http.StatusRequestEntityTooLarge,
	gatehouse.EUnsupportedMediaType:     http.StatusUnsupportedMediaType,
	gatehouse.ERateLimited:              http.StatusTooManyRequests,
	gatehouse.EUnavailable:              http.StatusServiceUnavailable,
	gatehouse.EInternal:                 http.StatusInternalServerError,
	gatehouse.EEmailUnverified:          http.StatusForbidden,
	gatehouse.EReauthenticationRequired: http.StatusForbidden,
	gatehouse.EInsufficientScope:        http.StatusForbidden,
	gatehouse.EMFARequired:              http.StatusForbidden, // second factors (docs/mfa.md)
}

// StatusOf returns the HTTP status for an error code; unknown codes are 500.
func StatusOf(c gatehouse.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the contract's error shape.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// body returns the code and safe message to show for err. Anything that is
// not a *gatehouse.Error with a known code becomes "internal" / "internal
// error": a cause is never shown to a caller.
func body(err error) (gatehouse.Code, string) {
	code := gatehouse.ErrorCode(err)
	if _, ok := statusOf[code]; !ok {
		code = gatehouse.EInternal
	}
	if code == gatehouse.EInternal {
		return code, "internal error"
	}
	return code, gatehouse.ErrorMessage(err)
}

// writeError writes err as the contract's error body with its status. Errors
// that become a 500 are logged with the request id and their cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := body(err)
	status := StatusOf(code)
	s.logFailure(r, status, code, err)
	if code == gatehouse.EUnauthorized {
		// RFC 6750 section 3: a 401 names the scheme it wants.
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	s.refused(w, err)
	var mr *auth.MFARequiredError
	if errors.As(err, &mr) {
		writeMFARequired(w, mr) // the same error, with the mfa_token and factors (mfa.go)
		return
	}
	setUnavailableRetryAfter(w, status, err)
	writeErrorBody(w, status, code, msg)
}

// writeOAuthError writes err for an OAuth endpoint as RFC 6749 section 5.2
// says: 400 for every code except invalid_client (401), and never cached.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := body(err)
	status := http.StatusBadRequest
	switch code {
	case gatehouse.EInvalidClient:
		status = http.StatusUnauthorized
		// Section 5.2: a 401 to a client that used HTTP Basic names the scheme.
		if _, _, ok := r.BasicAuth(); ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		}
	case gatehouse.EInvalidRequest, gatehouse.EInvalidGrant, gatehouse.EUnauthorizedClient,
		gatehouse.EUnsupportedGrantType, gatehouse.EInvalidScope:
	default:
		status = StatusOf(code) // 413, 415, 429, 500, 503 keep their meaning
	}
	s.logFailure(r, status, code, err)
	s.refused(w, err)
	setUnavailableRetryAfter(w, status, err)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeErrorBody(w, status, code, msg)
}

func (s *Server) logFailure(r *http.Request, status int, code gatehouse.Code, err error) {
	if status < 500 || shedding(err) { // shed load is counted in metrics, not logged one by one
		return
	}
	ri := gatehouse.RequestInfoFromContext(r.Context())
	s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
		slog.String("request_id", ri.RequestID),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.String("code", string(code)),
		slog.String("err", err.Error()))
}

func writeErrorBody(w http.ResponseWriter, status int, code gatehouse.Code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{Error: string(code), Description: msg})
}

// handlerFunc is the shape of every handler: it writes a response and
// returns nil, or writes nothing and returns an error for the adapter.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to http.Handler: an error the handler returns
// is written by writeError. (Middleware that refuses a request before any
// handler runs writes through writeError or writeOAuthError too; see the
// package doc.)
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// handleOAuth is handle for the OAuth endpoints' error format.
func (s *Server) handleOAuth(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeOAuthError(w, r, err)
		}
	})
}

// errTooLarge reports whether err is the body limit being hit.
func errTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
