package main

import (
	"net/mail"
	"time"

	gmail "github.com/gatehouse-auth/gatehouse/mail"
)

// The settings of account self-service (docs/reference.md section 16).
const (
	envEmailVerification = "GATEHOUSE_EMAIL_VERIFICATION"
	envReauthMaxAge      = "GATEHOUSE_REAUTH_MAX_AGE"
	envMailFrom          = "GATEHOUSE_MAIL_FROM"
	envMailTemplates     = "GATEHOUSE_MAIL_TEMPLATES"
)

// AccountConfig is the part of Config that account self-service reads.
type AccountConfig struct {
	// EmailVerification: GATEHOUSE_EMAIL_VERIFICATION=required (default,
	// also under --dev) or off.
	EmailVerification bool
	ReauthMaxAge      time.Duration // GATEHOUSE_REAUTH_MAX_AGE, default 10m
	MailFrom          string        // GATEHOUSE_MAIL_FROM; "": no-reply@ the public host
	MailTemplates     string        // GATEHOUSE_MAIL_TEMPLATES; "": the built-in ones
	// Templates are the account mails' templates, loaded and tried at
	// start, so a broken one stops start-up.
	Templates *gmail.Templates
}

// loadAccountConfig reads the settings of account self-service into c.
func loadAccountConfig(c *Config, get func(string) string) error {
	a := &c.Account
	switch get(envEmailVerification) {
	case "", "required":
		a.EmailVerification = true
	case "off":
	default:
		return bad(envEmailVerification, "must be required or off")
	}
	a.ReauthMaxAge = 10 * time.Minute
	if s := get(envReauthMaxAge); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 30*time.Second || d > 24*time.Hour {
			return bad(envReauthMaxAge, "must be a Go duration between 30s and 24h, such as 10m")
		}
		a.ReauthMaxAge = d
	}
	if s := get(envMailFrom); s != "" {
		if _, err := mail.ParseAddress(s); err != nil || len(s) > 512 {
			return bad(envMailFrom, "must be an address such as no-reply@example.com or \"Example <no-reply@example.com>\"")
		}
		a.MailFrom = s
	}
	a.MailTemplates = get(envMailTemplates)
	t, err := gmail.LoadTemplates(a.MailTemplates)
	if err != nil {
		return bad(envMailTemplates, "%v", err)
	}
	a.Templates = t
	return nil
}
