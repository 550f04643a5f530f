// Package mail sends gatehouse's mail: over SMTP (GATEHOUSE_SMTP_URL) or as
// .eml files in a directory (GATEHOUSE_MAIL_DIR), from a queue so that a slow
// mail server neither delays a response nor tells an observer, by its timing,
// whether an address has an account. Recipients appear in logs only masked
// (gatehouse.MaskEmail); links, which carry tokens, never.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one plain-text message.
type Message struct {
	From    string // "Name <addr>" or "addr"
	To      string // a bare address
	Subject string
	Text    string // plain text; line endings are normalized to CRLF
	// HTML, when set, is an alternative HTML part: the message becomes
	// multipart/alternative with Text first (RFC 2046 section 5.1.4).
	HTML string
	Date time.Time
	ID   string // Message-ID without angle brackets; made up if empty
}

// ErrHeader is returned for a header value that could split the header: a CR,
// LF or NUL, wherever it comes from (RFC 5322 section 2.2).
var ErrHeader = errors.New("mail: header value contains a line break or NUL")

// headerSafe reports whether v can be written as one header line.
func headerSafe(v string) bool {
	return !strings.ContainsAny(v, "\r\n\x00") && utf8.ValidString(v)
}

// parseAddress checks an address for use in a header and in the SMTP
// envelope, and returns the bare address and the header form.
func parseAddress(s string) (addr, header string, err error) {
	if !headerSafe(s) || len(s) > 512 {
		return "", "", ErrHeader
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return "", "", fmt.Errorf("mail: bad address: %w", err)
	}
	if !headerSafe(a.Address) || strings.ContainsAny(a.Address, " <>") {
		return "", "", ErrHeader
	}
	return a.Address, a.String(), nil
}

// Bytes returns the message in RFC 5322 form with CRLF line endings. Every
// header value is checked for line breaks, and non-ASCII text is encoded
// (RFC 2047 in headers, quoted-printable in the body), so no input can add a
// header or a MIME part.
func (m *Message) Bytes() ([]byte, error) {
	_, from, err := parseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	_, to, err := parseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if !headerSafe(m.Subject) {
		return nil, ErrHeader
	}
	id := m.ID
	if id == "" {
		id = NewMessageID(m.From)
	}
	if !headerSafe(id) || strings.ContainsAny(id, "<> ") {
		return nil, ErrHeader
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	var b bytes.Buffer
	b.WriteString("From: " + from + "\r\n")
	b.WriteString("To: " + to + "\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", m.Subject) + "\r\n")
	b.WriteString("Date: " + date.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + id + ">\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\n")
	if m.HTML == "" {
		writePart(&b, "text/plain", m.Text)
	} else {
		var r [12]byte
		rand.Read(r[:])
		boundary := "gatehouse-" + hex.EncodeToString(r[:])
		b.WriteString("Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n")
		b.WriteString("--" + boundary + "\r\n")
		writePart(&b, "text/plain", m.Text)
		b.WriteString("--" + boundary + "\r\n")
		writePart(&b, "text/html", m.HTML)
		b.WriteString("--" + boundary + "--\r\n")
	}
	return b.Bytes(), nil
}

// writePart writes a Content-Type header of the given text type, the
// transfer encoding (7bit when every line is short ASCII, else
// quoted-printable; the boundary is random, so no body can end its part), a blank line
// and the body with CRLF line endings.
func writePart(b *bytes.Buffer, ctype, body string) {
	text := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	plain := true
	for _, line := range strings.Split(text, "\n") {
		if len(line) > 998 || strings.ContainsFunc(line, func(r rune) bool { return r >= utf8.RuneSelf || r == 0 }) {
			plain = false
			break
		}
	}
	b.WriteString("Content-Type: " + ctype + "; charset=utf-8\r\n")
	if plain {
		b.WriteString("Content-Transfer-Encoding: 7bit\r\n\r\n")
		b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	} else {
		b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		w := quotedprintable.NewWriter(b)
		w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
		w.Close()
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
}

// NewMessageID returns a random Message-ID under the domain of from.
func NewMessageID(from string) string {
	var r [12]byte
	rand.Read(r[:])
	domain := "gatehouse.invalid"
	if a, err := netmail.ParseAddress(from); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 && headerSafe(a.Address[at+1:]) && !strings.ContainsAny(a.Address[at+1:], "<> ") {
			domain = a.Address[at+1:]
		}
	}
	return hex.EncodeToString(r[:]) + "@" + domain
}

// DefaultFrom returns the sender used when none is configured:
// "gatehouse <no-reply@HOST>" for the host of the public URL.
func DefaultFrom(publicURL string) string {
	host := "localhost"
	if _, rest, ok := strings.Cut(publicURL, "://"); ok {
		rest, _, _ = strings.Cut(rest, "/")
		if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "]") {
			rest = rest[:i]
		}
		if rest != "" && headerSafe(rest) && !strings.ContainsAny(rest, "<>@ ") {
			host = strings.Trim(rest, "[]")
		}
	}
	return "gatehouse <no-reply@" + host + ">"
}
