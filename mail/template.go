package mail

import (
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// MagicLinkSubject is the subject of sign-in mail.
const MagicLinkSubject = "Your sign-in link"

// MagicLinkMessage renders the sign-in message: plain text, the link alone on
// its line so that mail clients make it clickable and nothing wraps it.
func MagicLinkMessage(from string, m gatehouse.MagicLinkMail, now time.Time) *Message {
	return &Message{
		From:    from,
		To:      m.To,
		Subject: MagicLinkSubject,
		Date:    now,
		Text: fmt.Sprintf(`Hello,

someone (we hope you) asked to sign in with this address. To sign in, open
this link within %s:

%s

The link works once. If you did not ask for it, ignore this message: nothing
happens unless the link is opened, and no one learns whether you have an
account.
`, humanDuration(m.ExpiresIn), m.Link),
	}
}

// humanDuration says d in words: "10 minutes", "1 hour", "90 seconds".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d <= 0:
		return "a few minutes"
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	default:
		return plural(int64((d+time.Second-1)/time.Second), "second")
	}
}
