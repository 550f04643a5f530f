package mail

import (
	"context"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// TestAccountMailsOverSMTP sends every account mail through a real SMTP
// server and reads each back as MIME: a plain-text and an HTML part, each
// saying why it was sent and what to do if it was not you.
func TestAccountMailsOverSMTP(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1", nil)
	s, err := ParseSMTPURL(smtpURL("mailer", srv.addr))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(s, Config{From: "no-reply@auth.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range gatehouse.AccountMailKinds {
		err := m.SendAccountMail(context.Background(), gatehouse.AccountMail{Kind: k, To: "ann@example.com", Link: testLink,
			ExpiresIn: time.Hour, Workspace: `<b>Acme</b>`, Role: "admin", NewEmail: "***@example.org"})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	msgs := srv.messages()
	if len(msgs) != len(gatehouse.AccountMailKinds) {
		t.Fatalf("%d messages arrived", len(msgs))
	}
	for i, got := range msgs {
		k := gatehouse.AccountMailKinds[i]
		msg, err := mail.ReadMessage(strings.NewReader(got.Data))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/alternative" {
			t.Fatalf("%s: Content-Type %q", k, msg.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		parts := map[string]string{}
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			b := new(strings.Builder)
			buf := make([]byte, 4096)
			for {
				n, err := p.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			parts[ct] = b.String()
		}
		for _, ct := range []string{"text/plain", "text/html"} {
			body := parts[ct]
			if !strings.Contains(body, "Why you got this") || !strings.Contains(body, "not you") {
				t.Errorf("%s %s: no reason or advice: %q", k, ct, body)
			}
			if !strings.Contains(body, "https://auth.example.com/magic-link?token=") {
				t.Errorf("%s %s: no link: %q", k, ct, body)
			}
		}
		if strings.Contains(parts["text/html"], "<b>Acme</b>") {
			t.Errorf("%s: the workspace name reached the HTML unescaped", k)
		}
	}
}

func TestTemplatesFromADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password_reset.txt"), []byte(`{{define "subject"}}Custom reset{{end}}Go to {{.Link}}. Why you got this: you asked. Not you? Ignore it.`), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := tpl.AccountMessage("no-reply@auth.example.com", gatehouse.AccountMail{Kind: gatehouse.MailPasswordReset, To: "a@example.com", Link: "https://x.example/r"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "Custom reset" || !strings.Contains(msg.Text, "https://x.example/r") || !strings.Contains(msg.HTML, "Choose a new password") {
		t.Fatalf("message: %+v", msg)
	}
	// A broken template stops start-up; so does an unknown field.
	for name, src := range map[string]string{"invitation.html": "{{.Nope", "verify_email.txt": `{{define "subject"}}x{{end}}{{.Missing}}`, "invitation.txt": "no subject"} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadTemplates(bad); err == nil {
			t.Errorf("%s %q: loaded", name, src)
		}
	}
	if _, err := LoadTemplates(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory loaded")
	}
}
