package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
)

// CSRF defends the requests that a cookie authenticates (refresh and logout
// in cookie mode; CONTRACT section 4). It follows the OWASP Cross-Site
// Request Forgery Prevention Cheat Sheet
// (https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html)
// in layers:
//
//   - Synchronizer token bound to the session ("signed double-submit
//     cookie" in the cheat sheet's words): X-CSRF-Token must equal the
//     session's token, an HMAC over the session id keyed from the master
//     secret, compared in constant time. An attacker can neither read it
//     nor compute it, and a token planted for another session does not fit.
//   - A custom request header and a JSON body: a cross-site <form> can send
//     neither, so a form-encoded (or other non-JSON) body carrying the
//     cookie is refused outright.
//   - Fetch Metadata and Origin (the cheat sheet's "Fetch Metadata headers"
//     and "Verifying Origin"), through Go's http.CrossOriginProtection with
//     the CORS origins trusted.
//   - No state change through a safe method: GET, HEAD and OPTIONS never
//     pass with the cookie.
//
// Every refusal is 403 csrf_failed, happens before any change, and records
// a csrf.rejected audit event.
type CSRF struct {
	cookies   CookieConfig
	token     func(sessionID string) string
	sessionOf func(refreshToken string) (string, bool)
	record    func(context.Context, *gatehouse.AuditEvent) error
	log       *slog.Logger
	cop       *http.CrossOriginProtection
	// WriteError writes a refusal; nil writes the contract's error body.
	WriteError func(http.ResponseWriter, *http.Request, error)
}

// CSRFConfig configures NewCSRF.
type CSRFConfig struct {
	Cookies CookieConfig
	// Token returns the CSRF token of a session: an HMAC over sessionID keyed
	// from the master secret. It returns "" for no token.
	Token func(sessionID string) string
	// SessionOf returns the session a well-formed refresh token names,
	// without storage (auth.RefreshTokenSessionID). With it, Middleware
	// checks the token's value too; without it, the handler calls Verify.
	SessionOf func(refreshToken string) (sessionID string, ok bool)
	// Record writes one audit event in a transaction of its own
	// (auth.Core.Record).
	Record func(context.Context, *gatehouse.AuditEvent) error
	// TrustedOrigins are origins whose cross-origin requests may carry the
	// cookie: GATEHOUSE_CORS_ORIGINS and the origin of GATEHOUSE_PUBLIC_URL.
	TrustedOrigins []string
	Log            *slog.Logger
}

// NewCSRF returns the CSRF defence for c. It fails when an origin is not an
// origin (scheme://host[:port]).
func NewCSRF(c CSRFConfig) (*CSRF, error) {
	if c.Token == nil || c.Record == nil || c.Log == nil {
		return nil, errors.New("httpapi: CSRF needs Token, Record and Log")
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range c.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
	}
	return &CSRF{cookies: c.Cookies, token: c.Token, sessionOf: c.SessionOf, record: c.Record, log: c.Log, cop: cop}, nil
}

// CSRFHeader is the request header that carries the CSRF token.
const CSRFHeader = "X-CSRF-Token"

// maxCSRFHeader bounds the header's length: a real token is far shorter.
const maxCSRFHeader = 256

// Reasons recorded in a csrf.rejected event's details.
const (
	csrfMissing     = "missing_token"
	csrfMismatch    = "token_mismatch"
	csrfNotJSON     = "not_json"
	csrfSafeMethod  = "safe_method"
	csrfCrossOrigin = "cross_origin"
)

var errCSRF = gatehouse.Errorf(gatehouse.ECSRFFailed, "missing or invalid CSRF token")

// csrfError is the refusal, carrying the reason for the audit record only.
type csrfError struct{ reason string }

func (e *csrfError) Error() string { return "csrf: " + e.reason }

func refuse(reason string) error {
	return &gatehouse.Error{Code: gatehouse.ECSRFFailed, Message: errCSRF.Message, Err: &csrfError{reason}}
}

// CarriesCookie reports whether r carries gatehouse's refresh cookie, so that
// the cookie could authenticate it.
func (g *CSRF) CarriesCookie(r *http.Request) bool {
	return rawCookieCount(r, g.cookies.RefreshCookieName()) > 0
}

// Precheck refuses a request carrying the refresh cookie that no cookie-mode
// client of gatehouse would send: a safe method, a body that is not JSON, no
// X-CSRF-Token header (or a malformed one), or a cross-origin request from an
// untrusted origin. It needs no storage, so the handler and the database are
// never reached. The token's value is checked by Verify once the session is
// known. A request without the cookie passes.
func (g *CSRF) Precheck(r *http.Request) error {
	if !g.CarriesCookie(r) {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return refuse(csrfSafeMethod)
	}
	if !isJSON(r.Header.Get("Content-Type")) && (r.ContentLength != 0 || r.Header.Get("Content-Type") != "") {
		return refuse(csrfNotJSON)
	}
	if _, err := headerToken(r); err != nil {
		return err
	}
	if err := g.cop.Check(r); err != nil {
		return refuse(csrfCrossOrigin)
	}
	return nil
}

// isJSON reports whether a Content-Type is application/json (any parameters).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// headerToken returns the one X-CSRF-Token value of r.
func headerToken(r *http.Request) (string, error) {
	vals := r.Header.Values(CSRFHeader)
	if len(vals) != 1 || vals[0] == "" || len(vals[0]) > maxCSRFHeader {
		return "", refuse(csrfMissing)
	}
	return vals[0], nil
}

// Verify reports (nil) whether r's X-CSRF-Token equals the CSRF token of
// sessionID, compared in constant time; otherwise it returns a csrf_failed
// error. It changes and records nothing, so it is safe to call inside the
// transaction that is about to rotate or revoke the session: on an error
// that transaction must roll back, and the caller records the refusal with
// Reject once it has.
func (g *CSRF) Verify(r *http.Request, sessionID string) error {
	got, err := headerToken(r)
	if err != nil {
		return err
	}
	want := ""
	if sessionID != "" {
		want = g.token(sessionID)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return refuse(csrfMismatch)
	}
	return nil
}

// IsCSRFError reports whether err is a refusal of this file.
func IsCSRFError(err error) bool {
	var ce *csrfError
	return errors.As(err, &ce)
}

// Reject records a csrf.rejected event for r (sessionID may be empty when
// the session is unknown). A failure to record is logged, not returned: the
// request is refused either way.
func (g *CSRF) Reject(r *http.Request, sessionID string, err error) {
	reason := csrfMismatch
	var ce *csrfError
	if errors.As(err, &ce) {
		reason = ce.reason
	}
	ri := gatehouse.RequestInfoFromContext(r.Context())
	ev := &gatehouse.AuditEvent{
		Type:      gatehouse.EventCSRFRejected,
		Outcome:   gatehouse.OutcomeFailure,
		IP:        ri.IP,
		UserAgent: ri.UserAgent,
		RequestID: ri.RequestID,
		Details: map[string]string{
			"reason": reason,
			"method": r.Method,
			"path":   r.URL.Path,
		},
	}
	if sessionID != "" {
		ev.Target = "session:" + sessionID
	}
	if o := r.Header.Get("Origin"); o != "" {
		ev.Details["origin"] = o
	}
	if ri.UserAgent == "" && ri.RequestID == "" {
		ev.UserAgent = r.UserAgent()
	}
	if rerr := g.record(r.Context(), ev); rerr != nil {
		g.log.ErrorContext(r.Context(), "recording csrf.rejected failed",
			slog.String("request_id", ri.RequestID), slog.String("error", rerr.Error()))
	}
}

// Middleware refuses, before next runs, a request that the refresh cookie
// would authenticate without the right X-CSRF-Token: Precheck, then (with
// SessionOf) Verify against the session the cookie's token names. A refusal
// is recorded (csrf.rejected) and answered 403 csrf_failed; nothing reaches
// the handler, so nothing changes. A cookie whose token is malformed names
// no session: it passes, and the handler answers it 401 invalid_grant like
// any unknown token. Put Middleware on every route a cookie can
// authenticate (refresh, logout).
func (g *CSRF) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, err := g.check(r)
		if err != nil {
			if IsCSRFError(err) {
				g.Reject(r, sid, err)
			}
			g.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check runs Precheck and, when the cookie's token names a session, Verify.
// It returns the session id it found, for the audit record.
func (g *CSRF) check(r *http.Request) (string, error) {
	if err := g.Precheck(r); err != nil {
		return "", err
	}
	if g.sessionOf == nil || !g.CarriesCookie(r) {
		return "", nil
	}
	rt, err := g.cookies.RefreshCookie(r)
	if err != nil {
		return "", err // tossing: invalid_request, also recorded
	}
	sid, ok := g.sessionOf(rt)
	if !ok {
		return "", nil
	}
	return sid, g.Verify(r, sid)
}

func (g *CSRF) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if g.WriteError != nil {
		g.WriteError(w, r, err)
		return
	}
	code, status := gatehouse.ECSRFFailed, http.StatusForbidden
	if gatehouse.ErrorCode(err) == gatehouse.EInvalidRequest {
		code, status = gatehouse.EInvalidRequest, http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"error":             string(code),
		"error_description": gatehouse.ErrorMessage(err),
	})
}
