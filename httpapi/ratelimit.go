package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// This file is the HTTP side of rate limiting (CONTRACT 10, docs/rate-limits.md):
//
//   - s.limit(h, ratelimit.TokenIP) in the route table applies per-IP policies
//     before any work and makes every response of the route carry
//     RateLimit-Policy and RateLimit (and Retry-After on a 429);
//   - s.limitAccount applies a per-account, per-client or per-user policy once
//     a handler knows who the request is about, before any password hashing,
//     token look-up or write;
//   - s.guardCredentials runs a credential check under the failed-auth
//     ceilings: refused up front while a ceiling is reached, and counted only
//     when the credentials were wrong;
//   - failureCounting wraps the Authenticator so that a bad PAT counts against
//     the client IP's ceiling and a successful one never touches it.

// setupLimits takes the rate-limit part of d: the limits, the failed-auth
// ceilings (wrapping the Authenticator so bad PATs count), the readiness
// details, rate_limit.exceeded recording, and the refusal counter.
func (s *Server) setupLimits(d Deps) error {
	s.limits, s.failed, s.readyDetails = d.RateLimits, d.FailedAuth, d.ReadyDetails
	if s.limits != nil && s.limits.OnExceeded == nil && s.recorder != nil {
		s.limits.OnExceeded = s.recordExceeded
	}
	if s.failed != nil && s.auth != nil {
		s.auth = failureCounting{next: s.auth, s: s}
	}
	s.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_ratelimit_refusals_total",
		Help: "Requests refused with 429, by the policy or failed-auth ceiling that refused them.",
	}, []string{"policy"})
	return s.registry.Register(s.refusals)
}

// refused counts err when it is a rate-limit refusal, and returns it.
func (s *Server) refused(err error) error {
	var ex *ratelimit.ExceededError
	if errors.As(err, &ex) {
		s.refusals.WithLabelValues(ex.Decision.Policy.Name).Inc()
	}
	return err
}

// limit wraps h with the per-IP policies named. The client IP is the one
// requestInfo resolved through GATEHOUSE_TRUSTED_PROXIES; a forged
// X-Forwarded-For from any other peer does not change it.
func (s *Server) limit(h http.Handler, policies ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, rec := ratelimit.NewContext(r.Context())
		r = r.WithContext(ctx)
		lw := &limitWriter{ResponseWriter: w, rec: rec}
		defer lw.start(http.StatusOK) // a handler that wrote nothing still gets the fields
		if s.limits == nil {          // only in tests that build a Server without limits
			h.ServeHTTP(lw, r)
			return
		}
		ip := clientKey(ctx)
		for _, p := range policies {
			if err := s.limits.Enforce(ctx, p, ip); err != nil {
				s.refuse(lw, r, s.refused(err))
				return
			}
		}
		h.ServeHTTP(lw, r)
	})
}

// refuse writes a refusal in the error format of the endpoint.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if strings.HasPrefix(r.URL.Path, "/v1/oauth/") {
		s.writeOAuthError(w, r, err)
		return
	}
	s.writeError(w, r, err)
}

// clientKey is the rate-limit identity of the request's client: its IPv4
// address, or the /64 network of its IPv6 address (one subscriber or host
// usually holds a whole /64, so keying by full address would let it rotate
// through 2^64 keys; RFC 6177, RFC 7721).
func clientKey(ctx context.Context) string {
	ip := gatehouse.RequestInfoFromContext(ctx).IP
	if ip == "" {
		return "unknown" // a peer without an IP address (a unix socket): one shared bucket
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return ClientKey(a)
}

// emailKey is the rate-limit identity of an email address as a caller typed
// it: trimmed and lower-cased, as gatehouse.NormalizeEmail does, so that case
// variants share one key; validation is left to the handler's service.
func emailKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// limitAccount applies the policy named name (token.account,
// oauth_token.client, pat_create.user, …) to identity. Call it as soon as the
// identity is known and before any hashing, look-up or write; return its
// error as is.
func (s *Server) limitAccount(r *http.Request, name, identity string) error {
	if s.limits == nil {
		return nil
	}
	return s.refused(s.limits.Enforce(r.Context(), name, identity))
}

// guardCredentials runs check, the verification of credentials that claim to
// be account ("email:<address>", "client:<id>", or "" when they name none),
// under the failed-auth ceilings of the client IP and the account: while
// either is reached the request is refused before check runs, even if the
// credentials are right; after check, only a credential failure
// (invalid_grant, invalid_client, unauthorized) counts.
func (s *Server) guardCredentials(r *http.Request, account string, check func() error) error {
	if s.failed == nil {
		return check()
	}
	ctx := r.Context()
	ip := clientKey(ctx)
	if err := s.failed.Enforce(ctx, ip, account); err != nil {
		return s.refused(err)
	}
	err := check()
	if credentialFailure(err) {
		s.countFailure(ctx, ip, account)
	}
	return err
}

// guardClient is what the OAuth endpoints run once the request names its
// client (HTTP Basic or client_id in the form), before the secret is
// checked: the per-client policy (ratelimit.OAuthTokenClient,
// ratelimit.IntrospectClient), then check (the client authentication) under
// the failed-auth ceilings of the IP and "client:<id>". A wrong secret counts;
// a right one never does. In the route table and the handler:
//
//	{"POST /v1/oauth/token", s.limit(s.handleOAuth(s.oauthToken), ratelimit.OAuthTokenIP)},
//
//	err := s.guardClient(r, ratelimit.OAuthTokenClient, clientID, func() error { … })
func (s *Server) guardClient(r *http.Request, policy, clientID string, check func() error) error {
	if err := s.limitAccount(r, policy, clientID); err != nil {
		return err
	}
	return s.guardCredentials(r, "client:"+clientID, check)
}

// credentialFailure reports whether err says the credentials were wrong (as
// opposed to refused for another reason, or fine).
func credentialFailure(err error) bool {
	if err == nil {
		return false
	}
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EInvalidGrant, gatehouse.EInvalidClient, gatehouse.EUnauthorized:
		return true
	}
	return false
}

// countFailure counts one failed authentication and records
// failed_auth.ceiling_reached for each ceiling it crossed (once per window).
// A limiter error is logged: the failure itself was already refused.
func (s *Server) countFailure(ctx context.Context, ip, account string) {
	v, err := s.failed.Fail(ctx, ip, account)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "failed-auth counter",
			slog.String("request_id", gatehouse.RequestInfoFromContext(ctx).RequestID),
			slog.String("err", err.Error()))
		return
	}
	if s.recorder == nil {
		return
	}
	for _, p := range v.Crossed {
		ev := &gatehouse.AuditEvent{
			Type:    gatehouse.EventFailedAuthCeiling,
			Outcome: gatehouse.OutcomeFailure,
			Details: map[string]string{
				"ceiling": p.Name,
				"limit":   strconv.Itoa(p.Limit),
				"window":  p.Window.String(),
			},
		}
		if c, ok := strings.CutPrefix(account, "client:"); ok && p.Name == ratelimit.FailedAuthAccount {
			ev.Target = "client:" + c // never an email address in clear
		}
		s.recordEvent(ctx, ev)
	}
}

// recordExceeded records rate_limit.exceeded; ratelimit.Limits calls it at
// most once per key per policy window.
func (s *Server) recordExceeded(ctx context.Context, d ratelimit.Decision) {
	s.recordEvent(ctx, &gatehouse.AuditEvent{
		Type:    gatehouse.EventRateLimitExceeded,
		Outcome: gatehouse.OutcomeFailure,
		Details: map[string]string{
			"policy": d.Policy.Name,
			"limit":  strconv.Itoa(d.Policy.Limit),
			"window": d.Policy.Window.String(),
		},
	})
}

func (s *Server) recordEvent(ctx context.Context, ev *gatehouse.AuditEvent) {
	if err := s.recorder.Record(ctx, ev); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit event not recorded",
			slog.String("request_id", gatehouse.RequestInfoFromContext(ctx).RequestID),
			slog.String("type", string(ev.Type)), slog.String("err", err.Error()))
	}
}

// setRetryAfter gives a rate-limit refusal its Retry-After (RFC 9110 section
// 10.2.3) wherever it was decided, also on routes without s.limit (a PAT
// refused by the failed-auth ceiling on any authenticated route).
func setRetryAfter(w http.ResponseWriter, err error) {
	var ex *ratelimit.ExceededError
	if errors.As(err, &ex) {
		w.Header().Set(ratelimit.HeaderRetryAfter, strconv.FormatInt(max(ratelimit.Seconds(ex.Decision.RetryAfter), 1), 10))
	}
}

// limitWriter adds the RateLimit header fields of every decision taken for
// the request when the response starts, so decisions taken deep in a handler
// (per account) are included; a 429 also gets Retry-After.
type limitWriter struct {
	http.ResponseWriter
	rec     *ratelimit.Record
	started bool
}

func (lw *limitWriter) start(status int) {
	if lw.started {
		return
	}
	lw.started = true
	ds := lw.rec.Decisions()
	if len(ds) == 0 {
		return
	}
	h := lw.ResponseWriter.Header()
	h.Set(ratelimit.HeaderPolicy, ratelimit.PolicyField(ds))
	h.Set(ratelimit.HeaderRateLimit, ratelimit.StateField(ds))
	if status == http.StatusTooManyRequests {
		if ra, ok := ratelimit.RetryAfter(ds); ok {
			h.Set(ratelimit.HeaderRetryAfter, ra)
		}
	}
}

func (lw *limitWriter) WriteHeader(status int) {
	lw.start(status)
	lw.ResponseWriter.WriteHeader(status)
}

func (lw *limitWriter) Write(b []byte) (int, error) {
	lw.start(http.StatusOK)
	return lw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (lw *limitWriter) Unwrap() http.ResponseWriter { return lw.ResponseWriter }

// patPrefix starts every personal access token (CONTRACT 5).
const patPrefix = "gth_"

// failureCounting is the Authenticator with failed-auth tracking for PATs:
// a request presenting a PAT is refused while the client IP is over its
// ceiling, and a PAT that does not authenticate counts one failure. A
// successful PAT, and any JWT (an expired access token is routine, and
// signatures cannot be guessed), never touch the counters.
type failureCounting struct {
	next Authenticator
	s    *Server
}

func (fc failureCounting) Authenticate(r *http.Request) (*gatehouse.Principal, error) {
	tok, err := BearerToken(r)
	if err != nil || !strings.HasPrefix(tok, patPrefix) {
		return fc.next.Authenticate(r)
	}
	var p *gatehouse.Principal
	err = fc.s.guardCredentials(r, "", func() error {
		var err error
		p, err = fc.next.Authenticate(r)
		if err == nil && p == nil {
			err = gatehouse.Errorf(gatehouse.EUnauthorized, "the bearer token is not valid")
		}
		return err
	})
	return p, err
}
