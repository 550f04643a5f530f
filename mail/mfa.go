package mail

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse"
)

// RecoveryCodeUsedSubject is the subject of the notice that a recovery code
// was used (docs/mfa.md).
const RecoveryCodeUsedSubject = "A recovery code was used to sign in to your account"

// SendRecoveryCodeUsed tells the person at to that one of their recovery
// codes was used (remaining are left), queued as magic links are. The
// message names no code.
func (m *Mailer) SendRecoveryCodeUsed(ctx context.Context, to string, remaining int) error {
	msg := &Message{From: m.from, To: to, Subject: RecoveryCodeUsedSubject, Date: m.now(), Text: fmt.Sprintf(`Hello,

a recovery code was just used to sign in to your account. You have %d
unused recovery codes left.

If this was not you, sign in, remove your second factors' sessions, make
new recovery codes (which voids the old ones) and change your password.
`, remaining)}
	msg.ID = NewMessageID(m.from)
	if m.queue == nil {
		return m.deliver(ctx, msg)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	select {
	case m.queue <- msg:
		return nil
	default:
		m.log.LogAttrs(ctx, slog.LevelWarn, "mail dropped: queue full", slog.String("to", gatehouse.MaskEmail(msg.To)))
		return ErrQueueFull
	}
}
