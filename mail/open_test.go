package mail

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	ml := gatehouse.MagicLinkMail{To: "jane@example.com", Link: testLink, ExpiresIn: time.Minute}

	dir := t.TempDir()
	m, err := Open(Settings{Dir: dir, SMTPURL: "smtp://u:p@127.0.0.1:1", PublicURL: "https://auth.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SendMagicLink(ctx, ml); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("the directory wins over SMTP: %d files", len(ents))
	}

	srv := startSMTP(t, "127.0.0.1", nil)
	m, err = Open(Settings{SMTPURL: smtpURL("mailer", srv.addr), PublicURL: "https://auth.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.SendMagicLink(ctx, ml)
	m.Close(ctx)
	if msgs := srv.messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Data, testLink) {
		t.Fatalf("SMTP: %+v", msgs)
	}

	var logs bytes.Buffer
	m, err = Open(Settings{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m.SendMagicLink(ctx, ml)
	m.Close(ctx)
	if !strings.Contains(logs.String(), "GATEHOUSE_SMTP_URL") || strings.Contains(logs.String(), "jane@") {
		t.Fatalf("unconfigured mail log: %s", logs.String())
	}

	if _, err := Open(Settings{SMTPURL: "http://u:hunter2@x"}); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SMTP_URL") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad SMTP URL: %v", err)
	}
}
