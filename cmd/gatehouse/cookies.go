package main

import (
	"log/slog"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/httpapi"
)

// cookieMode builds what browsers need (CONTRACT section 4): the refresh and
// CSRF cookie settings, and the CSRF check keyed by the sessions service's
// token derivation (an HMAC over the session id under a key from the master
// secret), recording csrf.rejected through the core. The CSRF check trusts
// gatehouse's own origin and GATEHOUSE_CORS_ORIGINS.
func cookieMode(cfg *Config, svc *services, log *slog.Logger) (httpapi.CookieConfig, *httpapi.CSRF, error) {
	cookies := httpapi.CookieConfig{Domain: cfg.CookieDomain, SameSite: cfg.CookieSameSite, RefreshTTL: cfg.RefreshTTL}
	own := (&url.URL{Scheme: cfg.PublicURL.Scheme, Host: cfg.PublicURL.Host}).String()
	csrf, err := httpapi.NewCSRF(httpapi.CSRFConfig{
		Cookies:        cookies,
		Token:          svc.sessions.CSRFToken,
		SessionOf:      auth.RefreshTokenSessionID,
		Record:         svc.core.Record,
		TrustedOrigins: append([]string{own}, cfg.CORSOrigins...),
		Log:            log,
	})
	return cookies, csrf, err
}
