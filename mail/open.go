package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Settings are the mail settings of docs/reference.md §1.
type Settings struct {
	SMTPURL   string // GATEHOUSE_SMTP_URL: smtp://user:pass@host:port
	Dir       string // GATEHOUSE_MAIL_DIR: write .eml files here instead of sending
	From      string // sender; "" : DefaultFrom(PublicURL)
	PublicURL string // GATEHOUSE_PUBLIC_URL
	Logger    *slog.Logger
	QueueSize int // 0: DefaultQueueSize
	// Templates of the account mails (GATEHOUSE_MAIL_TEMPLATES); nil: the
	// built-in ones.
	Templates *Templates
}

// DefaultQueueSize is how many messages may wait to be sent.
const DefaultQueueSize = 256

// ErrNotConfigured is what a Mailer without SMTP or a directory answers
// each message with (logged; the caller still answers 202).
var ErrNotConfigured = errors.New("mail is not configured: set GATEHOUSE_SMTP_URL or GATEHOUSE_MAIL_DIR")

type unconfigured struct{}

func (unconfigured) Send(context.Context, *Message) error { return ErrNotConfigured }

// Open returns the Mailer the settings ask for: the directory when Dir is
// set (it wins: "instead of sending"), else SMTP when SMTPURL is set, else
// one that sends nothing and logs ErrNotConfigured for each message. Errors
// name the environment variable and never repeat the SMTP URL.
func Open(s Settings) (*Mailer, error) {
	var snd Sender = unconfigured{}
	switch {
	case s.Dir != "":
		d, err := NewDir(s.Dir)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_MAIL_DIR: %w", err)
		}
		snd = d
	case s.SMTPURL != "":
		smtp, err := ParseSMTPURL(s.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_SMTP_URL: %w", err)
		}
		snd = smtp
	}
	from := s.From
	if from == "" {
		from = DefaultFrom(s.PublicURL)
	}
	q := s.QueueSize
	if q <= 0 {
		q = DefaultQueueSize
	}
	return New(snd, Config{From: from, Logger: s.Logger, QueueSize: q, Templates: s.Templates})
}
