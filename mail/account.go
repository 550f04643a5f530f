package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

//go:embed templates/*.txt templates/*.html
var builtin embed.FS

// Templates renders the account mails: for each kind, a text/template
// "<kind>.txt" (which defines "subject") and an html/template "<kind>.html"
// (escaped by context, so a workspace name cannot add markup).
type Templates struct {
	text map[gatehouse.AccountMailKind]*texttemplate.Template
	html map[gatehouse.AccountMailKind]*htmltemplate.Template
}

// accountData is what a template sees.
type accountData struct {
	Link, ExpiresIn, Workspace, Role, NewEmail string
	Remaining                                  int
}

// LoadTemplates parses the built-in templates and, when dir is not empty,
// replaces each with the file of the same name found in dir
// (GATEHOUSE_MAIL_TEMPLATES). Every template is executed once with sample
// data, so a broken one stops start-up rather than a mail.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{text: map[gatehouse.AccountMailKind]*texttemplate.Template{}, html: map[gatehouse.AccountMailKind]*htmltemplate.Template{}}
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return string(b), nil
			}
			if !os.IsNotExist(err) {
				return "", fmt.Errorf("mail templates: %w", err)
			}
		}
		b, err := builtin.ReadFile("templates/" + name)
		return string(b), err
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("mail templates: %s is not a directory", dir)
		}
	}
	sample := accountData{Link: "https://example.com/x?token=t", ExpiresIn: "1 hour", Workspace: "w", Role: "member", NewEmail: "***@example.com", Remaining: 9}
	for _, k := range gatehouse.AccountMailKinds {
		src, err := read(string(k) + ".txt")
		if err != nil {
			return nil, err
		}
		tt, err := texttemplate.New(string(k)).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %s.txt: %w", k, err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf("mail templates: %s.txt defines no \"subject\"", k)
		}
		src, err = read(string(k) + ".html")
		if err != nil {
			return nil, err
		}
		ht, err := htmltemplate.New(string(k)).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %s.html: %w", k, err)
		}
		t.text[k], t.html[k] = tt, ht
		if _, err := t.render(k, sample); err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
	}
	return t, nil
}

type rendered struct{ subject, text, html string }

func (t *Templates) render(k gatehouse.AccountMailKind, d accountData) (*rendered, error) {
	tt, ht := t.text[k], t.html[k]
	if tt == nil || ht == nil {
		return nil, fmt.Errorf("no template for %q", k)
	}
	var subj, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subj, "subject", d); err != nil {
		return nil, fmt.Errorf("%s subject: %w", k, err)
	}
	if err := tt.Execute(&text, d); err != nil {
		return nil, fmt.Errorf("%s.txt: %w", k, err)
	}
	if err := ht.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("%s.html: %w", k, err)
	}
	s := strings.Join(strings.Fields(subj.String()), " ") // one header line
	return &rendered{subject: s, text: text.String(), html: "<!doctype html>\n<html><body>\n" + html.String() + "</body></html>\n"}, nil
}

// AccountMessage renders an account mail with plain-text and HTML parts.
func (t *Templates) AccountMessage(from string, m gatehouse.AccountMail, now time.Time) (*Message, error) {
	r, err := t.render(m.Kind, accountData{Link: m.Link, ExpiresIn: humanDuration(m.ExpiresIn), Workspace: m.Workspace, Role: m.Role, NewEmail: m.NewEmail, Remaining: m.Remaining})
	if err != nil {
		return nil, err
	}
	return &Message{From: from, To: m.To, Subject: r.subject, Date: now, Text: r.text, HTML: r.html}, nil
}

// SendAccountMail renders an account mail and sends or queues it, as
// SendMagicLink does.
func (m *Mailer) SendAccountMail(ctx context.Context, am gatehouse.AccountMail) error {
	tpl := m.templates
	if tpl == nil {
		var err error
		if tpl, err = LoadTemplates(""); err != nil {
			return err
		}
	}
	msg, err := tpl.AccountMessage(m.from, am, m.now())
	if err != nil {
		return err
	}
	msg.ID = NewMessageID(m.from)
	return m.enqueue(ctx, msg)
}
