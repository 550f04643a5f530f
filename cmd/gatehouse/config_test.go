package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(envOf(prodEnv()), false, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RefreshGrace != 10*time.Second || c.KeyPublishAhead != time.Hour || c.AccessTTL != 15*time.Minute || c.RefreshTTL != 720*time.Hour {
		t.Fatalf("durations %v %v %v %v", c.RefreshGrace, c.KeyPublishAhead, c.AccessTTL, c.RefreshTTL)
	}
	if c.CookieSameSite != http.SameSiteStrictMode || c.RedisURL != "" || c.CookieDomain != "" {
		t.Fatalf("defaults %+v", c)
	}
	d, err := loadConfig(envOf(map[string]string{}), true, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Addr != "127.0.0.1:8080" || d.PublicURL.String() != "http://127.0.0.1:8080" ||
		d.DatabaseURL != "sqlite:gatehouse-data/gatehouse.db" || d.MailDir != "gatehouse-data/mail" || !d.Secret.IsZero() {
		t.Fatalf("dev defaults %+v", d)
	}
}

func TestLoadConfigRefuses(t *testing.T) {
	tests := []struct {
		name, key, val string
		secretValue    bool // the value must not be printed
	}{
		{"no public url", "GATEHOUSE_PUBLIC_URL", "", false},
		{"http public url", "GATEHOUSE_PUBLIC_URL", "http://auth.example.com", false},
		{"relative public url", "GATEHOUSE_PUBLIC_URL", "/auth", false},
		{"public url with query", "GATEHOUSE_PUBLIC_URL", "https://a.example.com/?x=1", false},
		{"bad addr", "GATEHOUSE_ADDR", "8080", false},
		{"no database", "GATEHOUSE_DATABASE_URL", "", false},
		{"mysql", "GATEHOUSE_DATABASE_URL", "mysql://root:topsecretpw@db/gh", true},
		{"sqlite no path", "GATEHOUSE_DATABASE_URL", "sqlite:", false},
		{"redis scheme", "GATEHOUSE_REDIS_URL", "http://:topsecretpw@redis:6379", true},
		{"bad smtp", "GATEHOUSE_SMTP_URL", "mail://u:topsecretpw@host", true},
		{"smtp without port", "GATEHOUSE_SMTP_URL", "smtp://u:topsecretpw@host", true},
		{"cors wildcard", "GATEHOUSE_CORS_ORIGINS", "https://*.example.com", false},
		{"cors with path", "GATEHOUSE_CORS_ORIGINS", "https://app.example.com/x", false},
		{"cookie domain unrelated", "GATEHOUSE_COOKIE_DOMAIN", "other.com", false},
		{"cookie domain bad", "GATEHOUSE_COOKIE_DOMAIN", "exa mple.com", false},
		{"samesite", "GATEHOUSE_COOKIE_SAMESITE", "sometimes", false},
		{"proxies", "GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/99", false},
		{"grace", "GATEHOUSE_REFRESH_GRACE", "ten seconds", false},
		{"grace negative", "GATEHOUSE_REFRESH_GRACE", "-1s", false},
		{"publish ahead", "GATEHOUSE_KEY_PUBLISH_AHEAD", "1y", false},
		{"access ttl", "GATEHOUSE_ACCESS_TTL", "0s", false},
		{"refresh ttl", "GATEHOUSE_REFRESH_TTL", "soon", false},
		{"secret placeholder", "GATEHOUSE_AUTH_SECRET", "changeme", true},
		{"secret short", "GATEHOUSE_AUTH_SECRET", "dG9vc2hvcnQ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := prodEnv()
			env[tt.key] = tt.val
			_, err := loadConfig(envOf(env), false, configFlags{})
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.key, tt.val)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.key+": ") {
				t.Fatalf("error %q does not start with %s", msg, tt.key)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line", msg)
			}
			if tt.secretValue && (strings.Contains(msg, tt.val) || strings.Contains(msg, "topsecretpw")) {
				t.Fatalf("error %q prints the value", msg)
			}
		})
	}
	env := prodEnv()
	env["GATEHOUSE_ACCESS_TTL"] = "2h"
	env["GATEHOUSE_REFRESH_TTL"] = "1h"
	if _, err := loadConfig(envOf(env), false, configFlags{}); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_REFRESH_TTL") {
		t.Fatalf("refresh shorter than access: %v", err)
	}
	env = prodEnv()
	delete(env, "GATEHOUSE_MAIL_DIR")
	if _, err := loadConfig(envOf(env), false, configFlags{}); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_SMTP_URL") {
		t.Fatalf("no mail: %v", err)
	}
}

func TestLoadConfigAccepts(t *testing.T) {
	env := prodEnv()
	env["GATEHOUSE_CORS_ORIGINS"] = "https://app.example.com, http://localhost:3000"
	env["GATEHOUSE_COOKIE_DOMAIN"] = "example.com"
	env["GATEHOUSE_COOKIE_SAMESITE"] = "Lax"
	env["GATEHOUSE_TRUSTED_PROXIES"] = "10.0.0.0/8,::1"
	env["GATEHOUSE_REDIS_URL"] = "redis://127.0.0.1:6379/0"
	env["GATEHOUSE_PUBLIC_URL"] = "https://auth.example.com/"
	c, err := loadConfig(envOf(env), false, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CORSOrigins) != 2 || c.CookieSameSite != http.SameSiteLaxMode || len(c.TrustedProxies) != 2 || c.PublicURL.String() != "https://auth.example.com" {
		t.Fatalf("%+v", c)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:gatehouse-data/gatehouse.db":              "sqlite:gatehouse-data/gatehouse.db",
		"postgres://app:hunter2@db:5432/g?sslmode=verify": "postgres://app:xxxxx@db:5432/g?sslmode=verify",
		"postgres://db/g":                                 "postgres://db/g",
	} {
		if got := redactURL(in); got != want || strings.Contains(got, "hunter2") {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDevPublicURL: with --dev and no GATEHOUSE_PUBLIC_URL, the public URL
// follows the listen address (devHost); a listen address the browser cannot
// use over http is reported against the address.
func TestDevPublicURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9000": "http://127.0.0.1:9000",
		"0.0.0.0:9000":   "http://localhost:9000",
		":9000":          "http://localhost:9000",
		"[::]:9000":      "http://localhost:9000",
		"[::1]:9000":     "http://[::1]:9000",
	} {
		c, err := loadConfig(envOf(map[string]string{"GATEHOUSE_ADDR": addr}), true, configFlags{})
		if err != nil || c.PublicURL.String() != want {
			t.Errorf("%s: %v %v, want %s", addr, c, err, want)
		}
	}
	_, err := loadConfig(envOf(map[string]string{}), true, configFlags{addr: "192.0.2.7:9000"})
	if err == nil || !strings.HasPrefix(err.Error(), "--addr (GATEHOUSE_ADDR): ") || !strings.Contains(err.Error(), "GATEHOUSE_PUBLIC_URL") {
		t.Fatalf("non-loopback --dev address: %v", err)
	}
}
