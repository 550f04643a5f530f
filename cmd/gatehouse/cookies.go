package main

import (
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/httpapi"
)

// cookieMode builds what browsers need (docs/reference.md §4): the refresh and
// CSRF cookie settings, and the CSRF check keyed by the sessions service's
// token derivation (an HMAC over the session id under a key from the master
// secret), recording csrf.rejected through the core.
func cookieMode(cfg *Config, svc *services, log *slog.Logger) (httpapi.CookieConfig, *httpapi.CSRF, error) {
	cookies := httpapi.CookieConfig{Domain: cfg.CookieDomain, SameSite: cfg.CookieSameSite, RefreshTTL: cfg.RefreshTTL}
	csrf, err := httpapi.NewCSRF(httpapi.CSRFConfig{Token: svc.sessions.CSRFToken, Record: svc.core.Record, Log: log})
	return cookies, csrf, err
}
