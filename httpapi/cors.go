package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// Recorder records an audit event. auth.Core provides it; the HTTP layer uses
// it for what it refuses before any handler runs (origin.rejected).
type Recorder interface {
	Record(ctx context.Context, ev *gatehouse.AuditEvent) error
}

// NormalizeOrigin checks that s is an origin (RFC 6454): an http or https
// scheme, a host, an optional port and nothing else, and returns it in the
// form browsers send: lower case, without a default port or trailing slash.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port])", s)
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, "*") {
		return "", fmt.Errorf("%q: wildcards are not allowed in origins", s)
	}
	if !validHost(host) {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port])", s)
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	o := u.Scheme + "://" + host
	if port != "" {
		o += ":" + port
	}
	return o, nil
}

// validHost reports whether h is an IP address or a DNS name of letters,
// digits, hyphens, underscores and dots.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// The CORS answer for an allowed origin (docs/reference.md §4).
const (
	corsMethods       = "GET, POST, PATCH, DELETE"
	corsHeaders       = "Authorization, Content-Type, X-CSRF-Token"
	corsExposeHeaders = "X-Request-ID, RateLimit, RateLimit-Policy, Retry-After"
	corsMaxAge        = "600"
)

// cors answers cross-origin requests from the exact origins of
// GATEHOUSE_CORS_ORIGINS (no wildcards, suffixes or patterns): such an origin
// gets Access-Control-Allow-Origin with itself, credentials allowed and
// Vary: Origin; its preflight gets 204. Any other origin gets no CORS headers.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin, present := singleOrigin(r)
		if !present {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := s.corsAllowed[origin]
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			if !preflight {
				h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			}
		}
		if preflight {
			if allowed {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				h.Set("Access-Control-Allow-Methods", corsMethods)
				h.Set("Access-Control-Allow-Headers", corsHeaders)
				h.Set("Access-Control-Max-Age", corsMaxAge)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// singleOrigin returns the request's Origin header and whether there is one.
// Several Origin headers are returned as an impossible origin that nothing
// allows.
func singleOrigin(r *http.Request) (string, bool) {
	vs := r.Header.Values("Origin")
	switch len(vs) {
	case 0:
		return "", false
	case 1:
		return vs[0], true
	default:
		return "\x00multiple", true
	}
}

// safeMethod reports whether m is a method that must not change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkOrigin refuses a state-changing request from a browser context that
// is neither gatehouse's own origin nor allowlisted, before any work
// (docs/reference.md §4; OWASP CSRF Prevention Cheat Sheet, "Verifying Origin
// With Standard Headers" and "Fetch Metadata headers"): an Origin that is not
// allowed, Origin: null (sandboxed frames, file: pages, some redirects), and
// Sec-Fetch-Site: cross-site unless the Origin is allowlisted. A request with
// neither header is a native app or a server, and passes.
func (s *Server) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		origin, present := singleOrigin(r)
		ok := true
		switch {
		case present && origin == "null":
			ok = false
		case present && origin != s.ownOrigin && !s.corsAllowed[origin]:
			ok = false
		case r.Header.Get("Sec-Fetch-Site") == "cross-site" && !s.corsAllowed[origin]:
			ok = false
		}
		if !ok {
			s.rejectOrigin(w, r, origin)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var errOriginNotAllowed = gatehouse.Errorf(gatehouse.EOriginNotAllowed, "the request's origin is not allowed")

// rejectOrigin records origin.rejected and answers 403 origin_not_allowed.
// Events are coalesced per client IP and origin: one per minute, carrying
// the number suppressed since the previous one.
func (s *Server) rejectOrigin(w http.ResponseWriter, r *http.Request, origin string) {
	ri := gatehouse.RequestInfoFromContext(r.Context())
	ok, suppressed := s.originEvents.allow(ri.IP+"\x00"+clip(origin, 200), s.now())
	if !ok {
		s.writeError(w, r, errOriginNotAllowed)
		return
	}
	ev := &gatehouse.AuditEvent{
		ID:        gatehouse.NewID(s.now()),
		Time:      s.now(),
		Type:      gatehouse.EventOriginRejected,
		Outcome:   gatehouse.OutcomeFailure,
		IP:        ri.IP,
		UserAgent: ri.UserAgent,
		RequestID: ri.RequestID,
		Details: map[string]string{
			"origin":         clip(strings.ToValidUTF8(origin, "?"), 200),
			"sec_fetch_site": clip(r.Header.Get("Sec-Fetch-Site"), 32),
			"method":         clip(r.Method, 16),
			"path":           clip(r.URL.Path, 200),
		},
	}
	if suppressed > 0 {
		ev.Details["suppressed_since_last"] = strconv.Itoa(suppressed)
	}
	if s.recorder != nil {
		if err := s.recorder.Record(r.Context(), ev); err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelError, "recording origin.rejected failed",
				slog.String("request_id", ri.RequestID), slog.String("err", err.Error()))
		}
	}
	s.writeError(w, r, errOriginNotAllowed)
}

// crossOrigin is Go's http.CrossOriginProtection as a second layer behind
// checkOrigin: it trusts gatehouse's own origin and the allowlist, and its
// refusals are answered and recorded the same way.
func (s *Server) crossOrigin() (func(http.Handler) http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	for o := range s.corsAllowed {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
	}
	if err := cop.AddTrustedOrigin(s.ownOrigin); err != nil {
		return nil, err
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin, _ := singleOrigin(r)
		s.rejectOrigin(w, r, origin)
	}))
	return cop.Handler, nil
}
