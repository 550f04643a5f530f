// Package httpapi is gatehouse's HTTP surface: the route table, the handlers
// (decode, validate, call auth, encode), the middleware every request passes
// (request id, client IP, panic recovery, body limit, CORS, origin check,
// authentication), and errors.go, the one file where an error becomes a
// status and the contract's error body: handlers return errors, and every
// error response, the middleware's refusals included, is written by its
// writeError (the JSON API), writeOAuthError (the OAuth endpoints, RFC 6749
// section 5.2) or, for the two answers no error code maps to (405 and a
// recovered panic's 500), writeErrorBody. It never talks to a database
// driver.
package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is the HTTP layer's part of gatehouse's settings, validated by the
// caller (cmd/gatehouse) before New.
type Config struct {
	// PublicURL is gatehouse's external base URL (GATEHOUSE_PUBLIC_URL). Its
	// origin is gatehouse's own; https turns on HSTS.
	PublicURL *url.URL
	// CORSOrigins are the exact origins allowed to call with credentials
	// (GATEHOUSE_CORS_ORIGINS), in NormalizeOrigin's form.
	CORSOrigins []string
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// (GATEHOUSE_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// SeparateMetrics: /metrics is served on its own listener
	// (GATEHOUSE_METRICS_ADDR) through MetricsHandler, and not by the public
	// handler, which answers 404 for it.
	SeparateMetrics bool
}

// Deps are the pieces the server routes to.
type Deps struct {
	Logger   *slog.Logger         // required
	Registry *prometheus.Registry // required: the server's metrics and /metrics
	Ready    []Check              // /readyz checks: database, redis
	Auth     Authenticator        // nil: every authenticated route answers 401
	Recorder Recorder             // audit events the HTTP layer records; nil: none
	Now      func() time.Time     // nil: time.Now

	Workspaces *auth.Workspaces // workspaces and members
	AuditLog   *auth.AuditLog   // audit-event listings
	Profile    *auth.Profile    // GET /v1/me

	// ReadyDetails add a line each to /readyz's "details" (e.g. whether rate
	// limits fell back to memory); never secrets or internals.
	ReadyDetails map[string]func() string

	// RateLimits are the named rate-limit policies (docs/rate-limits.md);
	// nil: routes are not limited (tests of other areas only; cmd always
	// sets it). Its OnExceeded is set to record rate_limit.exceeded when nil.
	RateLimits *ratelimit.Limits
	// FailedAuth holds the failed-authentication ceilings; nil: none. With
	// RateLimits, it makes the credential guard (auth.Guard) every request
	// carries.
	FailedAuth *ratelimit.FailedAuth
	Sessions   *auth.Sessions // sign-up, sign-in, refresh, sessions, account status
	Cookies    SessionCookies // cookie mode (the browser area's CookieConfig); nil: body mode only
	CSRF       CSRFVerifier   // X-CSRF-Token on cookie-authenticated requests; required with Cookies
	Keys       *auth.Keys     // signing keys: the JWKS
	PATs       *auth.PATs     // personal access tokens
	Clients    *auth.Clients  // OAuth clients of a workspace
	OAuth      *auth.OAuth    // the OAuth endpoints: token, introspection, revocation

	// DeviceKey signs device cookies (auth.DeviceKey); nil: none are issued.
	DeviceKey []byte
	// Hasher is the password-hashing pool the sessions use: sign-up and
	// sign-in are shed before their body is read while it would refuse them
	// (overload.go); nil: no shedding ahead of the pool.
	Hasher *password.Hasher

	// Federation signs people in with upstream providers, links identities
	// and proves workspace domains (docs/federation.md); nil: those routes
	// answer 503.
	Federation *auth.Federation

	// Second factors and passkeys (docs/mfa.md); nil: those routes answer 503.
	MFA *auth.MFA
}

// Server is gatehouse's HTTP handler.
type Server struct {
	log         *slog.Logger
	cfg         Config
	now         func() time.Time
	checks      []Check
	auth        Authenticator
	recorder    Recorder
	registry    *prometheus.Registry
	workspaces  *auth.Workspaces
	auditLog    *auth.AuditLog
	profile     *auth.Profile
	limits      *ratelimit.Limits
	failed      *ratelimit.FailedAuth
	guard       *auth.Guard
	sessions    *auth.Sessions
	cookies     SessionCookies
	csrf        CSRFVerifier
	keys        *auth.Keys
	pats        *auth.PATs
	clients     *auth.Clients
	oauth       *auth.OAuth
	metrics     *metrics
	clientIP    *ClientIP
	ownOrigin   string
	corsAllowed map[string]bool
	hsts        bool

	originEvents *coalescer // origin.rejected, one per client and origin per minute

	mux     *http.ServeMux
	handler http.Handler

	readyDetails map[string]func() string
	refusals     *prometheus.CounterVec // rate-limit refusals by policy

	hasher        *password.Hasher
	shedAdmission atomic.Uint64 // requests shed before their body was read
	heldRefusals  atomic.Int64  // shed answers being held back (overload.go)
	refusalHold   time.Duration // the longest a shed answer is held back
	federation    *auth.Federation
	mfa           *auth.MFA // second factors and passkeys
}

// New builds the server and its route table.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Logger == nil || d.Registry == nil {
		return nil, errors.New("httpapi: Logger and Registry are required")
	}
	if cfg.PublicURL == nil {
		return nil, errors.New("httpapi: PublicURL is required")
	}
	own, err := NormalizeOrigin((&url.URL{Scheme: cfg.PublicURL.Scheme, Host: cfg.PublicURL.Host}).String())
	if err != nil {
		return nil, fmt.Errorf("httpapi: public URL: %w", err)
	}
	s := &Server{
		log:         d.Logger,
		cfg:         cfg,
		now:         d.Now,
		checks:      d.Ready,
		auth:        d.Auth,
		recorder:    d.Recorder,
		registry:    d.Registry,
		workspaces:  d.Workspaces,
		auditLog:    d.AuditLog,
		profile:     d.Profile,
		sessions:    d.Sessions,
		cookies:     d.Cookies,
		csrf:        d.CSRF,
		keys:        d.Keys,
		pats:        d.PATs,
		clients:     d.Clients,
		oauth:       d.OAuth,
		clientIP:    NewClientIP(cfg.TrustedProxies),
		ownOrigin:   own,
		corsAllowed: map[string]bool{},
		hsts:        cfg.PublicURL.Scheme == "https",
		mux:         http.NewServeMux(),

		originEvents: newCoalescer(time.Minute, 10000),

		federation: d.Federation,
		mfa:        d.MFA,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.setupLimits(d); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if err := s.setupOverload(d); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if d.Cookies != nil && d.CSRF == nil {
		return nil, errors.New("httpapi: cookie mode needs a CSRF verifier")
	}
	for _, o := range cfg.CORSOrigins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("httpapi: CORS origin: %w", err)
		}
		s.corsAllowed[n] = true
	}
	if s.metrics, err = newMetrics(d.Registry); err != nil {
		return nil, fmt.Errorf("httpapi: metrics: %w", err)
	}
	for _, rt := range s.routes() {
		if rt.pattern == metricsRoute && cfg.SeparateMetrics {
			continue
		}
		s.mux.Handle(rt.pattern, withPattern(rt.handler))
	}
	if s.handler, err = s.middleware(http.HandlerFunc(s.dispatch)); err != nil {
		return nil, err
	}
	return s, nil
}

// middleware wraps h in what every request passes, outermost first.
func (s *Server) middleware(h http.Handler) (http.Handler, error) {
	cop, err := s.crossOrigin()
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	return chain(h,
		s.requestInfo,
		s.withGuard,
		s.observe,
		s.recoverPanics,
		s.headers,
		s.cors,
		s.checkOrigin,
		cop,
		s.rejectTossedCookies,
		s.limitBody,
	), nil
}

// ServeHTTP serves a request through the middleware and the route table.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// ClientIP returns the server's client-address resolver, for the rate limiter.
func (s *Server) ClientIP() *ClientIP { return s.clientIP }

// dispatch hands the request to the mux. A request that matches no route gets
// the contract's error body (404 not_found, or 405 with Allow) instead of
// ServeMux's plain text.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	cw := &captureWriter{header: http.Header{}}
	s.mux.ServeHTTP(cw, r)
	switch cw.status {
	case http.StatusNotFound:
		s.writeError(w, r, gatehouse.Errorf(gatehouse.ENotFound, "not found"))
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", cw.header.Get("Allow"))
		writeErrorBody(w, http.StatusMethodNotAllowed, gatehouse.EInvalidRequest, "method not allowed")
	default: // a redirect to the cleaned path
		for k, v := range cw.header {
			w.Header()[k] = v
		}
		w.WriteHeader(cw.status)
	}
}

// captureWriter keeps the status and headers of ServeMux's own answers.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(b), nil
}
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
