package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Check is one readiness check, such as "database" or "redis".
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// checkTimeout bounds each readiness check.
const checkTimeout = 2 * time.Second

// healthz answers 200 while the process serves.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readyBody struct {
	Status      string            `json:"status"`
	Error       string            `json:"error,omitempty"`
	Description string            `json:"error_description,omitempty"`
	Checks      map[string]string `json:"checks"`
	Details     map[string]string `json:"details,omitempty"`
}

// readyz runs every check at once, each with a timeout, and answers 200 when
// all pass, else 503 unavailable naming the ones that failed. Causes go to
// the log, not the body.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	res := make([]error, len(s.checks))
	var wg sync.WaitGroup
	for i, c := range s.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			defer cancel()
			res[i] = c.Check(ctx)
		})
	}
	wg.Wait()
	body := readyBody{Status: "ok", Checks: map[string]string{}}
	var failed []string
	for name, detail := range s.readyDetails { // read after the checks ran
		if body.Details == nil {
			body.Details = map[string]string{}
		}
		body.Details[name] = detail()
	}
	for i, c := range s.checks {
		if res[i] != nil {
			body.Checks[c.Name] = "failed"
			failed = append(failed, c.Name)
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "readiness check failed",
				slog.String("request_id", gatehouse.RequestInfoFromContext(r.Context()).RequestID),
				slog.String("check", c.Name), slog.String("err", res[i].Error()))
			continue
		}
		body.Checks[c.Name] = "ok"
	}
	if len(failed) > 0 {
		body.Status = "unavailable"
		body.Error = string(gatehouse.EUnavailable)
		body.Description = "not ready: " + strings.Join(failed, ", ")
		setRetryAfterWait(w, defaultRetryAfter()) // RFC 9110 section 10.2.3; checks are worth retrying within seconds
		return writeJSON(w, http.StatusServiceUnavailable, body)
	}
	return writeJSON(w, http.StatusOK, body)
}
