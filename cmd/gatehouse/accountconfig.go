package main

import (
	"net/mail"

	gmail "github.com/gatehouse-auth/gatehouse/mail"
)

// The settings of account self-service (docs/reference.md section 16).
const (
	envEmailVerification = "GATEHOUSE_EMAIL_VERIFICATION"
	envMailFrom          = "GATEHOUSE_MAIL_FROM"
	envMailTemplates     = "GATEHOUSE_MAIL_TEMPLATES"
)

// AccountConfig is the part of Config that account self-service reads.
type AccountConfig struct {
	// EmailVerification: GATEHOUSE_EMAIL_VERIFICATION=required (default,
	// also under --dev) or off.
	EmailVerification bool
	MailFrom          string // GATEHOUSE_MAIL_FROM; "": no-reply@ the public host
	MailTemplates     string // GATEHOUSE_MAIL_TEMPLATES; "": the built-in ones
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
