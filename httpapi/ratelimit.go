package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// This file is the HTTP side of rate limiting (docs/rate-limits.md):
//
//   - s.limit(h, ratelimit.TokenIP) in the route table applies per-IP policies
//     before any work and makes every response of the route carry
//     RateLimit-Policy and RateLimit (and Retry-After on a 429);
//   - every request carries the credential guard (auth.Guard, auth/guard.go)
//     in its context: the auth services that check a secret, or act for an
//     account, ask it before any hashing, look-up or write, and count the
//     failures; its decisions reach the response through the request's
//     ratelimit.Record;
//   - writeError and writeOAuthError count every 429 by the policy that
//     refused and give it Retry-After.

// setupLimits takes the rate-limit part of d: the limits, the credential
// guard over them and the failed-auth ceilings, the readiness details,
// rate_limit.exceeded recording, and the refusal counter.
func (s *Server) setupLimits(d Deps) error {
	s.limits, s.failed, s.readyDetails = d.RateLimits, d.FailedAuth, d.ReadyDetails
	if s.limits != nil && s.limits.OnExceeded == nil && s.recorder != nil {
		s.limits.OnExceeded = s.recordExceeded
	}
	if s.limits != nil && s.failed != nil {
		cfg := auth.GuardConfig{Limits: s.limits, Failed: s.failed, Log: s.log, DeviceKey: d.DeviceKey}
		if s.recorder != nil {
			cfg.Record = s.recorder.Record
		}
		g, err := auth.NewGuard(cfg)
		if err != nil {
			return err
		}
		s.guard = g
	}
	s.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_ratelimit_refusals_total",
		Help: "Requests refused with 429, by the policy or failed-auth ceiling that refused them.",
	}, []string{"policy"})
	return s.registry.Register(s.refusals)
}

// withGuard puts the credential guard in the request's context, for every
// request: a service that checks a secret finds it there whatever the route.
func (s *Server) withGuard(next http.Handler) http.Handler {
	if s.guard == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(auth.WithGuard(r.Context(), s.guard)))
	})
}

// refused counts err when it is a rate-limit refusal, and sets its
// Retry-After (RFC 9110 section 10.2.3) wherever it was decided, also on
// routes without s.limit (a PAT refused by the failed-auth ceiling on any
// authenticated route).
func (s *Server) refused(w http.ResponseWriter, err error) {
	var ex *ratelimit.ExceededError
	if errors.As(err, &ex) {
		if s.refusals != nil {
			s.refusals.WithLabelValues(ex.Decision.Policy.Name).Inc()
		}
		w.Header().Set(ratelimit.HeaderRetryAfter, strconv.FormatInt(max(ratelimit.Seconds(ex.Decision.RetryAfter), 1), 10))
	}
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
				s.refuse(lw, r, err)
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

// clientKey is the rate-limit identity of the request's client
// (ratelimit.ClientKey: an IPv6 client is keyed by its /64).
func clientKey(ctx context.Context) string {
	return ratelimit.ClientKey(gatehouse.RequestInfoFromContext(ctx).IP)
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
