package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// CSRF checks the X-CSRF-Token of a request that the refresh cookie
// authenticates (refresh and logout in cookie mode; docs/reference.md §4), and
// records its refusals. It is one layer of the defence the OWASP Cross-Site
// Request Forgery Prevention Cheat Sheet describes
// (https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html):
//
//   - a token bound to the session (the cheat sheet's "signed double-submit
//     cookie"): X-CSRF-Token must equal the session's token, an HMAC over the
//     session id keyed from the master secret, compared in constant time. An
//     attacker can neither read it nor compute it, and a token of another
//     session does not fit. This type.
//   - a custom header with a JSON body, which a cross-site <form> cannot send
//     and a cross-origin script cannot send without a preflight that only
//     GATEHOUSE_CORS_ORIGINS pass: /v1/auth/* take JSON only (415 otherwise)
//     and refresh and logout are POST only (no state change through GET).
//   - "Verifying Origin" and "Fetch Metadata headers": checkOrigin and
//     http.CrossOriginProtection (cors.go), before any handler.
//
// The handler calls Verify once the cookie's token names its session, before
// any change, and Reject on a refusal (403 csrf_failed, csrf.rejected).
type CSRF struct {
	token  func(sessionID string) string
	record func(context.Context, *gatehouse.AuditEvent) error
	log    *slog.Logger
}

// CSRFConfig configures NewCSRF.
type CSRFConfig struct {
	// Token returns the CSRF token of a session: an HMAC over sessionID keyed
	// from the master secret (auth.Sessions.CSRFToken). "" means none.
	Token func(sessionID string) string
	// Record writes one audit event in a transaction of its own
	// (auth.Core.Record).
	Record func(context.Context, *gatehouse.AuditEvent) error
	Log    *slog.Logger
}

// NewCSRF returns the CSRF check for c.
func NewCSRF(c CSRFConfig) (*CSRF, error) {
	if c.Token == nil || c.Record == nil || c.Log == nil {
		return nil, errors.New("httpapi: CSRF needs Token, Record and Log")
	}
	return &CSRF{token: c.Token, record: c.Record, log: c.Log}, nil
}

// CSRFHeader is the request header that carries the CSRF token.
const CSRFHeader = "X-CSRF-Token"

// maxCSRFHeader bounds the header's length: a real token is far shorter.
const maxCSRFHeader = 256

// Reasons recorded in a csrf.rejected event's details.
const (
	csrfMissing  = "missing_token"
	csrfMismatch = "token_mismatch"
)

// csrfError is a refusal, carrying the reason for the audit record only.
type csrfError struct{ reason string }

func (e *csrfError) Error() string { return "csrf: " + e.reason }

func refuseCSRF(reason string) error {
	return &gatehouse.Error{Code: gatehouse.ECSRFFailed, Message: "missing or invalid CSRF token", Err: &csrfError{reason}}
}

// Verify reports (nil) whether r carries exactly one X-CSRF-Token equal to
// the CSRF token of sessionID, compared in constant time; otherwise it
// returns a csrf_failed error. It changes and records nothing; the caller
// records a refusal with Reject.
func (g *CSRF) Verify(r *http.Request, sessionID string) error {
	vals := r.Header.Values(CSRFHeader)
	if len(vals) != 1 || vals[0] == "" || len(vals[0]) > maxCSRFHeader {
		return refuseCSRF(csrfMissing)
	}
	want := ""
	if sessionID != "" {
		want = g.token(sessionID)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(vals[0]), []byte(want)) != 1 {
		return refuseCSRF(csrfMismatch)
	}
	return nil
}

// IsCSRFError reports whether err is a refusal by Verify.
func IsCSRFError(err error) bool {
	var ce *csrfError
	return errors.As(err, &ce)
}

// Reject records a csrf.rejected event for r and the refusal err (sessionID
// may be empty when the session is unknown). A failure to record is logged,
// not returned: the request is refused either way.
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
			"method": clip(r.Method, 16),
			"path":   clip(r.URL.Path, 200),
		},
	}
	if sessionID != "" {
		ev.Target = "session:" + sessionID
	}
	if o := r.Header.Get("Origin"); o != "" {
		ev.Details["origin"] = clip(strings.ToValidUTF8(o, "?"), 200)
	}
	if rerr := g.record(r.Context(), ev); rerr != nil {
		g.log.ErrorContext(r.Context(), "recording csrf.rejected failed",
			slog.String("request_id", ri.RequestID), slog.String("error", rerr.Error()))
	}
}
