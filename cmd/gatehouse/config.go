package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Config is every setting of gatehouse (docs/reference.md §1), read once from
// the environment (flags may override some) and validated at start; then
// passed to constructors. Nothing reads the environment later.
type Config struct {
	Dev             bool
	DataDir         string // --dev only: ./gatehouse-data
	Addr            string
	AddrName        string // what set Addr, for messages: "--addr (GATEHOUSE_ADDR)" or GATEHOUSE_ADDR
	MetricsAddr     string // empty: /metrics on the public listener
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
	KeyAlg          token.Alg     // GATEHOUSE_KEY_ALG; default auth.DefaultKeyAlg
	KeyRotation     time.Duration // GATEHOUSE_KEY_ROTATION; default auth.DefaultRotationPeriod
	KMS             KMSConfig

	// Signing in with another provider (docs/federation.md).
	DNSResolver  string        // GATEHOUSE_DNS_RESOLVER: host:port; empty: the system's
	ReauthMaxAge time.Duration // GATEHOUSE_REAUTH_MAX_AGE: how recent a sign-in must be for changes that ask for one
	Account      AccountConfig // accountconfig.go
	MFA          MFASettings   // second factors and passkeys (mfa.go)
}

// KMSConfig is the key-encryption key's provider (docs/keys.md).
type KMSConfig struct {
	Provider string // "local" or "awskms"
	KeyID    string // awskms: key id, ARN or alias
	Region   string // awskms: empty: the AWS configuration chain
	Endpoint string // awskms: endpoint override (a KMS-compatible server)
}

// The environment variables of docs/reference.md §1.
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
	envMetricsAddr     = "GATEHOUSE_METRICS_ADDR"
	envDNSResolver     = "GATEHOUSE_DNS_RESOLVER"
	envReauthMaxAge    = "GATEHOUSE_REAUTH_MAX_AGE"
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

// The defaults of --dev (docs/reference.md §1).
const (
	devDataDir = "gatehouse-data"
	devAddr    = "127.0.0.1:8080"
)

// configFlags are the command-line flags that override a setting.
type configFlags struct {
	addr string // serve --addr: GATEHOUSE_ADDR
}

// loadConfig reads and validates the settings shared by serve and the admin
// commands. For --dev, unset settings get development defaults; the secret is
// handled by devSecret (it needs the file system).
func loadConfig(getenv func(string) string, dev bool, flags configFlags) (*Config, error) {
	c := &Config{Dev: dev}
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }

	c.Addr, c.AddrName = get(envAddr), envAddr
	if flags.addr != "" {
		c.Addr, c.AddrName = strings.TrimSpace(flags.addr), "--addr ("+envAddr+")"
	}
	if c.Addr == "" {
		c.Addr = devAddr
	}
	if !hostPort(c.Addr) {
		return nil, bad(c.AddrName, "must be host:port, e.g. 127.0.0.1:8080 (or :8080 for every interface)")
	}
	if c.MetricsAddr = get(envMetricsAddr); c.MetricsAddr != "" {
		if !hostPort(c.MetricsAddr) {
			return nil, bad(envMetricsAddr, "must be host:port, e.g. 127.0.0.1:9090, or empty to serve /metrics on the public listener")
		}
		if _, port, _ := net.SplitHostPort(c.Addr); c.MetricsAddr == c.Addr && port != "0" {
			return nil, bad(envMetricsAddr, "must differ from the listen address %s", c.Addr)
		}
	}

	if dev {
		c.DataDir = devDataDir
	}
	pub := get(envPublicURL)
	derived := false
	if pub == "" {
		if !dev {
			return nil, bad(envPublicURL, "is required: gatehouse's external base URL, e.g. https://auth.example.com (for local development, run `gatehouse serve --dev` instead)")
		}
		pub, derived = "http://"+devHost(c.Addr), true
	}
	u, err := parsePublicURL(pub)
	if err != nil {
		if derived {
			return nil, bad(c.AddrName, "with --dev the public URL is http://%s, which needs a loopback host such as 127.0.0.1 (or set %s to an https URL)", devHost(c.Addr), envPublicURL)
		}
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
	if dev && get(envRateLimits) == "" {
		devLimits(c.RateLimits) // devorigins.go
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
	addDevOrigins(c) // devorigins.go: --dev on a loopback URL only

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
		def      string // the default, in the variable's own syntax
		min, max time.Duration
	}{
		{envRefreshGrace, &c.RefreshGrace, "10s", 0, 5 * time.Minute},
		{envKeyPublishAhead, &c.KeyPublishAhead, "1h", 0, 30 * 24 * time.Hour},
		{envAccessTTL, &c.AccessTTL, "15m", time.Minute, 24 * time.Hour},
		{envRefreshTTL, &c.RefreshTTL, "720h", time.Hour, 366 * 24 * time.Hour},
		{envKeyRotation, &c.KeyRotation, "720h", time.Minute, 5 * 366 * 24 * time.Hour},
		{envReauthMaxAge, &c.ReauthMaxAge, "10m", 30 * time.Second, 24 * time.Hour},
	}
	set := map[string]bool{}
	for _, d := range durations {
		*d.dst, _ = time.ParseDuration(d.def)
		s := get(d.name)
		if s == "" {
			continue
		}
		set[d.name] = true
		v, err := time.ParseDuration(s)
		if err != nil {
			return nil, bad(d.name, "must be a Go duration such as %s (h, m, s; no days)", d.def)
		}
		if v < d.min || v > d.max {
			return nil, bad(d.name, "must be between %s and %s", gatehouse.FormatDuration(d.min), gatehouse.FormatDuration(d.max))
		}
		*d.dst = v
	}
	// Each pair is reported against the variable that was set; if both
	// were, against the one that must be the longer.
	if c.RefreshTTL <= c.AccessTTL {
		if set[envAccessTTL] && !set[envRefreshTTL] {
			return nil, bad(envAccessTTL, "must be shorter than the refresh-token lifetime (%s)", gatehouse.FormatDuration(c.RefreshTTL))
		}
		return nil, bad(envRefreshTTL, "must be longer than the access-token lifetime (%s)", gatehouse.FormatDuration(c.AccessTTL))
	}
	if c.KeyRotation <= c.KeyPublishAhead {
		if set[envKeyPublishAhead] && !set[envKeyRotation] {
			return nil, bad(envKeyPublishAhead, "must be shorter than the key rotation period (%s)", gatehouse.FormatDuration(c.KeyRotation))
		}
		return nil, bad(envKeyRotation, "must be longer than the key publish-ahead window (%s)", gatehouse.FormatDuration(c.KeyPublishAhead))
	}

	c.KeyAlg = auth.DefaultKeyAlg
	if a := get(envKeyAlg); a != "" {
		if c.KeyAlg = token.Alg(a); !c.KeyAlg.Valid() {
			return nil, bad(envKeyAlg, "must be EdDSA, ES256 or RS256")
		}
	}
	if err := c.KMS.load(get); err != nil {
		return nil, err
	}
	if c.MFA, err = loadMFASettings(get, c.PublicURL); err != nil {
		return nil, err
	}

	if c.DNSResolver = get(envDNSResolver); c.DNSResolver != "" && !hostPort(c.DNSResolver) {
		return nil, bad(envDNSResolver, "must be host:port of a DNS server, e.g. 127.0.0.1:53, or empty for the system's")
	}
	if err := loadAccountConfig(c, get); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads GATEHOUSE_KMS and the settings of its provider.
func (k *KMSConfig) load(get func(string) string) error {
	k.Provider = get(envKMS)
	switch k.Provider {
	case "", "local":
		k.Provider = "local"
		for _, name := range []string{envKMSKeyID, envKMSRegion, envKMSEndpoint} {
			if get(name) != "" {
				return bad(name, "is only for %s=awskms", envKMS)
			}
		}
		return nil
	case "awskms":
	default:
		return bad(envKMS, "must be local or awskms")
	}
	if k.KeyID = get(envKMSKeyID); k.KeyID == "" {
		return bad(envKMSKeyID, "is required with %s=awskms: the key's id, ARN or alias", envKMS)
	}
	if k.Region = get(envKMSRegion); k.Region != "" && !validRegion(k.Region) {
		return bad(envKMSRegion, "must be an AWS region such as eu-west-1")
	}
	if k.Endpoint = get(envKMSEndpoint); k.Endpoint != "" {
		u, err := url.Parse(k.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return bad(envKMSEndpoint, "must be an http(s) URL such as https://kms.eu-west-1.amazonaws.com")
		}
	}
	return nil
}

// validRegion reports whether s looks like an AWS region name (letters,
// digits and hyphens, such as eu-west-1 or us-gov-west-1).
func validRegion(s string) bool {
	if len(s) > 32 || !strings.Contains(s, "-") {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// hostPort reports whether s is host:port with a port (the host may be
// empty: every interface).
func hostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil || port == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// devHost is the host:port of the development public URL for addr (the
// --dev default of GATEHOUSE_PUBLIC_URL): an address that listens on every
// interface is reached as localhost.
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
