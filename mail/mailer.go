package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Config configures a Mailer.
type Config struct {
	From   string // sender; see DefaultFrom
	Logger *slog.Logger
	// QueueSize is how many messages may wait to be sent; 0 sends each
	// message before SendMagicLink returns (tests, CLI). A full queue drops
	// the message with an error: the caller still answers 202.
	QueueSize int
	Now       func() time.Time
	// SendTimeout bounds one delivery from the queue; 0: 30 s.
	SendTimeout time.Duration
	// Templates render the account mails (LoadTemplates); nil: the
	// built-in ones.
	Templates *Templates
}

// Mailer renders gatehouse's messages and hands them to a Sender, from a
// queue by default. It implements gatehouse.Mailer.
type Mailer struct {
	sender  Sender
	from    string
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration
	queue   chan *Message
	done    chan struct{}
	mu      sync.RWMutex // guards closed against a send on a closed queue
	closed  bool
	// templates of the account mails (account.go).
	templates *Templates
}

var _ gatehouse.Mailer = (*Mailer)(nil)

// ErrQueueFull is returned when the outgoing queue is full.
var ErrQueueFull = errors.New("mail: queue full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("mail: mailer closed")

// New returns a Mailer over s. With a queue, one goroutine sends until Close.
func New(s Sender, cfg Config) (*Mailer, error) {
	if _, _, err := parseAddress(cfg.From); err != nil {
		return nil, errors.New("mail: the sender address is not a valid address")
	}
	m := &Mailer{sender: s, from: cfg.From, log: cfg.Logger, now: cfg.Now, timeout: cfg.SendTimeout, templates: cfg.Templates}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.timeout <= 0 {
		m.timeout = 30 * time.Second
	}
	if cfg.QueueSize > 0 {
		m.queue = make(chan *Message, cfg.QueueSize)
		m.done = make(chan struct{})
		go m.loop()
	}
	return m, nil
}

// SendMagicLink renders the sign-in message and sends or queues it.
func (m *Mailer) SendMagicLink(ctx context.Context, ml gatehouse.MagicLinkMail) error {
	msg := MagicLinkMessage(m.from, ml, m.now())
	msg.ID = NewMessageID(m.from)
	return m.enqueue(ctx, msg)
}

// enqueue sends msg now, or queues it when the Mailer has a queue.
func (m *Mailer) enqueue(ctx context.Context, msg *Message) error {
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

func (m *Mailer) deliver(ctx context.Context, msg *Message) error {
	start := time.Now()
	err := m.sender.Send(ctx, msg)
	attrs := []slog.Attr{
		slog.String("to", gatehouse.MaskEmail(msg.To)),
		slog.String("message_id", msg.ID),
		slog.Duration("took", time.Since(start)),
	}
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "mail not sent", append(attrs, slog.String("error", logSafe(err, msg.To)))...)
		return err
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "mail sent", attrs...)
	return nil
}

func (m *Mailer) loop() {
	defer close(m.done)
	for msg := range m.queue {
		ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
		m.deliver(ctx, msg)
		cancel()
	}
}

// Close stops taking messages and waits, until ctx ends, for the queue to
// drain.
func (m *Mailer) Close(ctx context.Context) error {
	if m.queue == nil {
		return nil
	}
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.mu.Unlock()
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logSafe describes a delivery error for the log. A mail server's reply may
// quote the recipient ("550 <jane@example.com>: unknown user"), so an SMTP
// reply is reduced to its code, and the address is masked in anything else.
// Nothing here can hold the body, which holds the link.
func logSafe(err error, to string) string {
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Sprintf("smtp reply %d", te.Code)
	}
	s := err.Error()
	if to == "" {
		return s
	}
	masked := gatehouse.MaskEmail(to)
	lower, lto := asciiLower(s), asciiLower(to)
	for i := strings.Index(lower, lto); i >= 0; i = strings.Index(lower, lto) {
		s = s[:i] + masked + s[i+len(to):]
		lower = lower[:i] + asciiLower(masked) + lower[i+len(to):]
	}
	return s
}

// asciiLower lower-cases ASCII letters only, keeping byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
