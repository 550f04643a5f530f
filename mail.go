package gatehouse

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// MagicLinkMail is the message that carries a sign-in link. Its link holds a
// secret token: it is never logged (String and LogValue redact it).
type MagicLinkMail struct {
	To        string        // the recipient, a normalized address
	Link      string        // {PUBLIC_URL}/magic-link?token=<token>
	ExpiresIn time.Duration // how long the link works
}

// String returns the message with the recipient masked and the link redacted.
func (m MagicLinkMail) String() string {
	return "magic link mail to " + MaskEmail(m.To) + " (link redacted)"
}

// LogValue returns the message with the recipient masked and the link redacted.
func (m MagicLinkMail) LogValue() slog.Value {
	return slog.GroupValue(slog.String("to", MaskEmail(m.To)), slog.Duration("expires_in", m.ExpiresIn))
}

// Mailer sends gatehouse's mail. Package mail implements it over SMTP and into
// a directory of .eml files; package auth uses only this interface, so it
// never imports net/smtp.
type Mailer interface {
	// SendMagicLink sends (or queues) a sign-in link.
	SendMagicLink(ctx context.Context, m MagicLinkMail) error
}

// MaskEmail returns a form of an address that is safe in logs and audit
// details: the first character of the local part, "***", and the domain, as
// "j***@example.com". It never returns the address in clear, whatever it is
// given.
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(addr[:at])
	if r == utf8.RuneError || r < ' ' || r == 0x7f {
		r = '?'
	}
	domain := addr[at+1:]
	if len(domain) > 100 || !utf8.ValidString(domain) || strings.ContainsFunc(domain, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		domain = "?"
	}
	return string(r) + "***@" + domain
}
