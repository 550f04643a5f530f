package gatehouse

import (
	"context"
	"log/slog"
	"strings"
	"time"
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

// MaskedEmail is what MaskEmail gives for a value that is not a well-formed
// address: a fixed placeholder with nothing of the value in it.
const MaskedEmail = "***"

// MaskEmail returns a form of a value typed as an email address that is safe
// in logs and audit details: "***@" and the domain ("***@example.com") when
// the value is a well-formed address whose domain is a DNS name with a dot,
// else MaskedEmail. Nothing of the local part is kept, not even its first
// character: the value may be a password typed into the email field
// ("Hunter2@home" gives "***"), and only the part after the last @ is shown,
// only when it is a host name (RFC 1123 section 2.1: letters, digits and
// hyphens, labels of 1 to 63, RFC 3696 section 2) with a top-level label of
// letters, lower-cased. MaskEmail of its own result gives the same result.
func MaskEmail(addr string) string {
	addr = strings.TrimSpace(addr)
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || len(addr) > MaxEmailLen {
		return MaskedEmail
	}
	for _, r := range addr[:at] {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' || invisibleRune(r) {
			return MaskedEmail
		}
	}
	domain := strings.ToLower(addr[at+1:])
	if !dnsNameWithDot(domain) {
		return MaskedEmail
	}
	return MaskedEmail + "@" + domain
}

// dnsNameWithDot reports whether s is a host name of two labels or more:
// ASCII letters, digits and hyphens, each label 1 to 63 long and not
// starting or ending with a hyphen, the whole at most 253, the last label
// letters only or an A-label, as every top-level domain is (so "1.2", an IPv4
// address or "ss.w0rd" are not domains). s must be lower-case.
func dnsNameWithDot(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	// Top-level domains are letters, or an IDNA A-label (xn--…).
	tld := labels[len(labels)-1]
	return strings.HasPrefix(tld, "xn--") || !strings.ContainsFunc(tld, func(r rune) bool { return !('a' <= r && r <= 'z') })
}

// AccountMailKind names one of the account mails (docs/reference.md
// section 16). Each has a built-in template that GATEHOUSE_MAIL_TEMPLATES
// may replace.
type AccountMailKind string

// The account mails.
const (
	MailVerifyEmail        AccountMailKind = "verify_email"         // the link that verifies a new account's address
	MailSignupExisting     AccountMailKind = "signup_existing"      // someone tried to sign up with your address
	MailPasswordReset      AccountMailKind = "password_reset"       // the reset link
	MailPasswordChanged    AccountMailKind = "password_changed"     // notice after a change or a reset
	MailEmailChangeConfirm AccountMailKind = "email_change_confirm" // to the new address: the confirmation link
	MailEmailChangeNotice  AccountMailKind = "email_change_notice"  // to the old address: a change was asked
	MailInvitation         AccountMailKind = "invitation"           // an invitation to a workspace
	MailRecoveryCodeUsed   AccountMailKind = "recovery_code_used"   // a recovery code signed the person in (docs/mfa.md)
)

// AccountMailKinds lists every kind, for template validation.
var AccountMailKinds = []AccountMailKind{MailVerifyEmail, MailSignupExisting, MailPasswordReset, MailPasswordChanged,
	MailEmailChangeConfirm, MailEmailChangeNotice, MailInvitation, MailRecoveryCodeUsed}

// AccountMail is one account message. Link, when set, holds a secret token:
// String and LogValue redact it.
type AccountMail struct {
	Kind      AccountMailKind
	To        string        // the recipient, a normalized address
	Link      string        // {PUBLIC_URL}/<page>?token=<token>, or a plain link to the portal
	ExpiresIn time.Duration // how long the link works
	Workspace string        // the workspace's name (invitation)
	Role      string        // the invited role (invitation)
	NewEmail  string        // the address asked for (email_change_notice), masked
	Remaining int           // unused recovery codes left (recovery_code_used)
}

// String returns the message with the recipient masked and the link redacted.
func (m AccountMail) String() string {
	return string(m.Kind) + " mail to " + MaskEmail(m.To) + " (link redacted)"
}

// LogValue returns the message with the recipient masked and the link redacted.
func (m AccountMail) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(m.Kind)), slog.String("to", MaskEmail(m.To)))
}

// AccountMailer sends the account mails; package mail's Mailer implements it
// besides Mailer.
type AccountMailer interface {
	SendAccountMail(ctx context.Context, m AccountMail) error
}
