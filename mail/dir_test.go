package mail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func readMail(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
			continue
		}
		if !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("unexpected file %s", e.Name())
		}
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out = append(out, string(b))
	}
	return out
}

func TestDirMailer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", info.Mode().Perm())
	}
	var logs bytes.Buffer
	m, err := New(d, Config{From: DefaultFrom("https://auth.example.com"), Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"jane@example.com", "john@example.com"} {
		if err := m.SendMagicLink(context.Background(), gatehouse.MagicLinkMail{To: to, Link: testLink, ExpiresIn: 10 * time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	files := readMail(t, dir)
	if len(files) != 2 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		if !strings.Contains(f, testLink) || !strings.Contains(f, "From: \"gatehouse\" <no-reply@auth.example.com>") {
			t.Errorf("message %q", f)
		}
	}
	if strings.Contains(logs.String(), "jane@") || strings.Contains(logs.String(), "token") {
		t.Errorf("log leaks: %s", logs.String())
	}
}

// blockingSender delivers nothing until released.
type blockingSender struct {
	release chan struct{}
	mu      sync.Mutex
	got     []*Message
}

func (b *blockingSender) Send(ctx context.Context, m *Message) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	b.got = append(b.got, m)
	b.mu.Unlock()
	return nil
}

func TestQueuedMailer(t *testing.T) {
	bs := &blockingSender{release: make(chan struct{})}
	m, err := New(bs, Config{From: "no-reply@example.com", QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ml := gatehouse.MagicLinkMail{To: "jane@example.com", Link: testLink, ExpiresIn: time.Minute}
	// The sender is stuck: the first message is taken by the worker, two wait,
	// and sooner or later one is refused rather than blocking the caller.
	var full error
	for i := 0; i < 10 && full == nil; i++ {
		full = m.SendMagicLink(ctx, ml)
	}
	if !errors.Is(full, ErrQueueFull) {
		t.Fatalf("a stuck sender never filled the queue: %v", full)
	}
	close(bs.release)
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	bs.mu.Lock()
	n := len(bs.got)
	bs.mu.Unlock()
	if n < 2 || n > 3 {
		t.Fatalf("%d messages delivered after Close, want the queued 2 or 3", n)
	}
	if err := m.SendMagicLink(ctx, ml); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after Close = %v", err)
	}
}

func TestNewRejectsBadFrom(t *testing.T) {
	for _, from := range []string{"", "not an address", "a@b.c\r\nBcc: x@y.z"} {
		if _, err := New(&Dir{Path: t.TempDir()}, Config{From: from}); err == nil {
			t.Errorf("New accepted From %q", from)
		}
	}
}
