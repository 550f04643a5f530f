package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// Config is every setting of gatehouse (CONTRACT section 1), read once from
// the environment (flags may override some) and validated at start; then
// passed to constructors. Nothing reads the environment later.
type Config struct {
	Dev             bool
	DataDir         string // --dev only: ./gatehouse-data
	Addr            string
	PublicURL       *url.URL
	DatabaseURL     string             // "sqlite:PATH" or "postgres://…"
	RedisURL        string             // empty: in-memory rate limits
	RateLimits      ratelimit.Policies // GATEHOUSE_RATE_LIMITS over the defaults
	Secret          secret.Secret
	SecretFile      string // --dev: where the secret came from, if a file
	SecretGenerated bool   // --dev: the secret file was written now
	CORSOrigins     []string
	CookieDomain    string
	CookieSameSite  http.SameSite
	SMTPURL         *url.URL
	MailDir         string
	TrustedProxies  []netip.Prefix
	RefreshGrace    time.Duration
	KeyPublishAhead time.Duration
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
}

// The environment variables of CONTRACT section 1.
const (
	envAddr            = "GATEHOUSE_ADDR"
	envPublicURL       = "GATEHOUSE_PUBLIC_URL"
	envDatabaseURL     = "GATEHOUSE_DATABASE_URL"
	envRedisURL        = "GATEHOUSE_REDIS_URL"
	envAuthSecret      = "GATEHOUSE_AUTH_SECRET"
	envCORSOrigins     = "GATEHOUSE_CORS_ORIGINS"
	envCookieDomain    = "GATEHOUSE_COOKIE_DOMAIN"
	envCookieSameSite  = "GATEHOUSE_COOKIE_SAMESITE"
	envSMTPURL         = "GATEHOUSE_SMTP_URL"
	envMailDir         = "GATEHOUSE_MAIL_DIR"
	envTrustedProxies  = "GATEHOUSE_TRUSTED_PROXIES"
	envRefreshGrace    = "GATEHOUSE_REFRESH_GRACE"
	envKeyPublishAhead = "GATEHOUSE_KEY_PUBLISH_AHEAD"
	envAccessTTL       = "GATEHOUSE_ACCESS_TTL"
	envRefreshTTL      = "GATEHOUSE_REFRESH_TTL"
)

// settingError names the variable that is wrong. Its text is one line and
// never carries the value of a secret-bearing setting.
type settingError struct {
	name   string
	reason string
}

func (e *settingError) Error() string { return e.name + ": " + e.reason }

func bad(name, format string, args ...any) error {
	return &settingError{name: name, reason: fmt.Sprintf(format, args...)}
}

// The defaults of --dev (CONTRACT section 1).
const (
	devDataDir = "gatehouse-data"
	devAddr    = "127.0.0.1:8080"
)

// loadConfig reads and validates the settings shared by serve and the admin
// commands. For --dev, unset settings get development defaults; the secret is
// handled by devSecret (it needs the file system).
func loadConfig(getenv func(string) string, dev bool) (*Config, error) {
	c := &Config{Dev: dev}
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }

	c.Addr = get(envAddr)
	if c.Addr == "" {
		c.Addr = devAddr
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return nil, bad(envAddr, "must be host:port, e.g. 127.0.0.1:8080")
	}

	if dev {
		c.DataDir = devDataDir
	}
	pub := get(envPublicURL)
	if pub == "" {
		if !dev {
			return nil, bad(envPublicURL, "is required: gatehouse's external base URL, e.g. https://auth.example.com")
		}
		pub = "http://" + devHost(c.Addr)
	}
	u, err := parsePublicURL(pub)
	if err != nil {
		return nil, bad(envPublicURL, "%v", err)
	}
	c.PublicURL = u

	c.DatabaseURL = get(envDatabaseURL)
	if c.DatabaseURL == "" {
		if !dev {
			return nil, bad(envDatabaseURL, "is required: sqlite:PATH or postgres://…")
		}
		c.DatabaseURL = "sqlite:" + devDataDir + "/gatehouse.db"
	}
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		return nil, bad(envDatabaseURL, "%v", err)
	}

	c.RedisURL = get(envRedisURL)
	if c.RedisURL != "" {
		r, err := url.Parse(c.RedisURL)
		if err != nil || (r.Scheme != "redis" && r.Scheme != "rediss") || r.Host == "" {
			return nil, bad(envRedisURL, "must be redis://host:port/db or rediss://…, or empty for in-memory limits")
		}
	}

	if c.RateLimits, err = parseRateLimits(get(envRateLimits)); err != nil {
		return nil, err
	}

	if s := get(envAuthSecret); s != "" || !dev {
		sec, err := secret.Parse(s)
		if err != nil {
			return nil, bad(envAuthSecret, "%v; generate one with `gatehouse secret generate`", err)
		}
		c.Secret = sec
	}

	for _, o := range strings.Split(get(envCORSOrigins), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		n, err := httpapi.NormalizeOrigin(o)
		if err != nil {
			return nil, bad(envCORSOrigins, "%v; give exact origins, comma-separated", err)
		}
		c.CORSOrigins = append(c.CORSOrigins, n)
	}

	c.CookieDomain = strings.ToLower(strings.TrimPrefix(get(envCookieDomain), "."))
	if c.CookieDomain != "" {
		if !validDomain(c.CookieDomain) {
			return nil, bad(envCookieDomain, "must be a domain name such as example.com")
		}
		h := strings.ToLower(c.PublicURL.Hostname())
		if h != c.CookieDomain && !strings.HasSuffix(h, "."+c.CookieDomain) {
			return nil, bad(envCookieDomain, "must be the host of %s or a parent domain of it", envPublicURL)
		}
	}

	if c.CookieSameSite, err = httpapi.ParseSameSite(get(envCookieSameSite)); err != nil {
		return nil, bad(envCookieSameSite, "must be strict, lax or none")
	}

	if s := get(envSMTPURL); s != "" {
		m, err := url.Parse(s)
		if err != nil || (m.Scheme != "smtp" && m.Scheme != "smtps") || m.Hostname() == "" || m.Port() == "" {
			return nil, bad(envSMTPURL, "must be smtp://user:pass@host:port (or smtps://…)")
		}
		c.SMTPURL = m
	}
	c.MailDir = get(envMailDir)
	if c.MailDir != "" && c.SMTPURL != nil {
		return nil, bad(envMailDir, "and %s are both set; choose one", envSMTPURL)
	}
	if c.MailDir == "" && c.SMTPURL == nil {
		if !dev {
			return nil, bad(envSMTPURL, "is required (or %s, to write mail as files)", envMailDir)
		}
		c.MailDir = devDataDir + "/mail"
	}

	if c.TrustedProxies, err = httpapi.ParseTrustedProxies(get(envTrustedProxies)); err != nil {
		return nil, bad(envTrustedProxies, "%v; give CIDRs, comma-separated", err)
	}

	durations := []struct {
		name     string
		dst      *time.Duration
		def      time.Duration
		min, max time.Duration
	}{
		{envRefreshGrace, &c.RefreshGrace, 10 * time.Second, 0, 5 * time.Minute},
		{envKeyPublishAhead, &c.KeyPublishAhead, time.Hour, 0, 30 * 24 * time.Hour},
		{envAccessTTL, &c.AccessTTL, 15 * time.Minute, time.Minute, 24 * time.Hour},
		{envRefreshTTL, &c.RefreshTTL, 720 * time.Hour, time.Hour, 366 * 24 * time.Hour},
	}
	for _, d := range durations {
		*d.dst = d.def
		s := get(d.name)
		if s == "" {
			continue
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return nil, bad(d.name, "must be a Go duration such as %s", d.def)
		}
		if v < d.min || v > d.max {
			return nil, bad(d.name, "must be between %s and %s", d.min, d.max)
		}
		*d.dst = v
	}
	if c.RefreshTTL <= c.AccessTTL {
		return nil, bad(envRefreshTTL, "must be longer than %s", envAccessTTL)
	}
	return c, nil
}

// devHost is the host:port of the development public URL for addr.
func devHost(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// parsePublicURL checks GATEHOUSE_PUBLIC_URL: an absolute https URL (http
// only for a loopback host), no user info, query or fragment; a trailing
// slash is dropped.
func parsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("must be an absolute URL such as https://auth.example.com")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return nil, errors.New("must be https (http only for localhost)")
		}
	default:
		return nil, errors.New("must be an https URL")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// checkDatabaseURL checks the form of GATEHOUSE_DATABASE_URL without saying
// what it holds (it may carry a password).
func checkDatabaseURL(s string) error {
	switch {
	case strings.HasPrefix(s, "sqlite:"):
		if strings.TrimPrefix(s, "sqlite:") == "" {
			return errors.New("sqlite: needs a path, e.g. sqlite:/var/lib/gatehouse/gatehouse.db")
		}
		return nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if u, err := url.Parse(s); err != nil || u.Host == "" {
			return errors.New("is not a valid postgres:// URL")
		}
		return nil
	default:
		return errors.New("must be sqlite:PATH or postgres://…")
	}
}

func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") && d != "localhost" {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
