package mail

import (
	"context"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// RecoveryCodeNotifier returns what tells a person that one of their
// recovery codes was used (remaining are left): an account mail with its
// plain-text and HTML parts (templates/recovery_code_used.*) linking to the
// portal's Security page under publicURL. The message names no code.
func (m *Mailer) RecoveryCodeNotifier(publicURL string) func(ctx context.Context, to string, remaining int) error {
	link := strings.TrimRight(publicURL, "/") + "/#/security"
	return func(ctx context.Context, to string, remaining int) error {
		return m.SendAccountMail(ctx, gatehouse.AccountMail{Kind: gatehouse.MailRecoveryCodeUsed, To: to, Remaining: remaining, Link: link})
	}
}
