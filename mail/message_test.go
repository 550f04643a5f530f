package mail

import (
	"errors"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func TestMessageBytes(t *testing.T) {
	m := &Message{
		From:    "gatehouse <no-reply@auth.example.com>",
		To:      "jane@example.com",
		Subject: "Your sign-in link",
		Text:    "line one\nhttps://auth.example.com/magic-link?token=abc_DEF-123\n",
		Date:    time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC),
	}
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ReplaceAll(string(b), "\r\n", ""), "\n") {
		t.Fatal("bare LF in message")
	}
	pm, err := netmail.ReadMessage(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := pm.Header.Get("To"); got != "<jane@example.com>" {
		t.Errorf("To = %q", got)
	}
	if got := pm.Header.Get("Subject"); got != "Your sign-in link" {
		t.Errorf("Subject = %q", got)
	}
	if got := pm.Header.Get("Content-Transfer-Encoding"); got != "7bit" {
		t.Errorf("Content-Transfer-Encoding = %q", got)
	}
	body, _ := io.ReadAll(pm.Body)
	if !strings.Contains(string(body), "\r\nhttps://auth.example.com/magic-link?token=abc_DEF-123\r\n") {
		t.Errorf("link not on its own line in %q", body)
	}
}

func TestMessageHeaderInjection(t *testing.T) {
	base := Message{From: "no-reply@example.com", To: "jane@example.com", Subject: "s", Text: "t"}
	for name, mod := range map[string]func(*Message){
		"to CRLF":      func(m *Message) { m.To = "jane@example.com\r\nBcc: all@example.com" },
		"to LF":        func(m *Message) { m.To = "jane@example.com\nBcc: all@example.com" },
		"from CRLF":    func(m *Message) { m.From = "x <a@example.com>\r\nBcc: all@example.com" },
		"subject CRLF": func(m *Message) { m.Subject = "hi\r\nBcc: all@example.com" },
		"subject CR":   func(m *Message) { m.Subject = "hi\rBcc: all@example.com" },
		"subject NUL":  func(m *Message) { m.Subject = "hi\x00" },
		"id CRLF":      func(m *Message) { m.ID = "x@y\r\nBcc: a@b" },
		"two to":       func(m *Message) { m.To = "a@example.com, b@example.com" },
	} {
		m := base
		mod(&m)
		if b, err := m.Bytes(); err == nil {
			t.Errorf("%s: accepted: %q", name, b)
		}
	}
	if _, err := (&Message{From: "no-reply@example.com", To: "a\r\n@x.com", Subject: "s"}).Bytes(); !errors.Is(err, ErrHeader) {
		t.Errorf("to with CRLF: err = %v, want ErrHeader", err)
	}
}

func TestMessageNonASCII(t *testing.T) {
	m := &Message{From: "Gâtehouse <no-reply@example.com>", To: "jane@example.com", Subject: "Connexion à votre compte", Text: "Bonjour, voilà le lien\n"}
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b {
		if c >= 0x80 {
			t.Fatalf("raw 8-bit byte in %q", b)
		}
	}
	pm, _ := netmail.ReadMessage(strings.NewReader(string(b)))
	subj, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil || subj != m.Subject {
		t.Errorf("Subject decodes to %q, %v", subj, err)
	}
	if pm.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Error("non-ASCII body not quoted-printable")
	}
}

func TestMagicLinkMessage(t *testing.T) {
	link := "https://auth.example.com/magic-link?token=tok_123"
	m := MagicLinkMessage("no-reply@example.com", gatehouse.MagicLinkMail{To: "jane@example.com", Link: link, ExpiresIn: 10 * time.Minute}, time.Now())
	if !strings.Contains(m.Text, "\n"+link+"\n") || !strings.Contains(m.Text, "10 minutes") {
		t.Fatalf("text %q", m.Text)
	}
	if _, err := m.Bytes(); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[time.Duration]string{time.Minute: "1 minute", time.Hour: "1 hour", 2 * time.Hour: "2 hours", 90 * time.Second: "90 seconds", 0: "a few minutes"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDefaultFrom(t *testing.T) {
	for in, want := range map[string]string{
		"https://auth.example.com":         "gatehouse <no-reply@auth.example.com>",
		"http://localhost:8080/":           "gatehouse <no-reply@localhost>",
		"https://[::1]:8443":               "gatehouse <no-reply@::1>",
		"https://evil.com\r\nBcc: x@y.com": "gatehouse <no-reply@localhost>",
		"":                                 "gatehouse <no-reply@localhost>",
	} {
		if got := DefaultFrom(in); got != want {
			t.Errorf("DefaultFrom(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMessageBytes checks that no recipient, subject or text can add a
// header: whatever Bytes accepts parses back with exactly our headers.
func FuzzMessageBytes(f *testing.F) {
	f.Add("jane@example.com", "subject", "text\nmore")
	f.Add("jane@example.com\r\nBcc: x@y.z", "s\r\nX-Injected: 1", "\r\n\r\nbody")
	f.Add("\"a\r\n\"@b.c", "=?utf-8?q?x?=", ".\r\n")
	f.Fuzz(func(t *testing.T, to, subject, text string) {
		m := &Message{From: "no-reply@example.com", To: to, Subject: subject, Text: text}
		b, err := m.Bytes()
		if err != nil {
			return
		}
		pm, err := netmail.ReadMessage(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("unparseable output %q: %v", b, err)
		}
		want := map[string]bool{"From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true,
			"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true, "Auto-Submitted": true}
		for k, v := range pm.Header {
			if !want[k] || len(v) != 1 {
				t.Fatalf("header %q = %q in %q", k, v, b)
			}
		}
		if len(pm.Header) != len(want) {
			t.Fatalf("headers %v", pm.Header)
		}
	})
}
