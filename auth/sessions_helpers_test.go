package auth_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/mail"
	"github.com/gatehouse-auth/gatehouse/password"
)

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a Sessions service over a real store.
type env struct {
	t       *testing.T
	store   gatehouse.Store
	clock   *clock
	core    *auth.Core
	s       *auth.Sessions
	hasher  *password.Hasher
	mailDir string
	logs    *syncBuffer
	keys    *auth.Keys
}

// fastParams keep argon2id cheap where cost is not the point.
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newEnv(t *testing.T, store gatehouse.Store, edit func(*auth.SessionConfig)) *env {
	t.Helper()
	e := &env{t: t, store: store, clock: &clock{t: time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.core = &auth.Core{Store: store, Now: e.clock.Now, Log: logger}
	var err error
	e.hasher, err = password.New(password.Config{Params: fastParams, QueueLimit: 256})
	if err != nil {
		t.Fatal(err)
	}
	e.mailDir = t.TempDir()
	dir, err := mail.NewDir(e.mailDir)
	if err != nil {
		t.Fatal(err)
	}
	mailer, err := mail.New(dir, mail.Config{From: "gatehouse <no-reply@auth.example.com>", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	kek, err := kms.NewLocal(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e.keys, err = auth.NewKeys(e.core, auth.KeysConfig{Issuer: "https://auth.example.com", KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := auth.SessionConfig{
		Hasher: e.hasher, Mailer: mailer, Tokens: e.keys,
		PublicURL:  "https://auth.example.com/",
		RefreshKey: bytes.Repeat([]byte{1, 2, 3, 4}, 8),
		CSRFKey:    bytes.Repeat([]byte{5, 6, 7, 8}, 8),
	}
	if edit != nil {
		edit(&cfg)
	}
	e.s, err = auth.NewSessions(e.core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var ctx = gatehouse.NewContextWithRequestInfo(context.Background(), gatehouse.RequestInfo{RequestID: "req-1", IP: "198.51.100.77", UserAgent: "test-agent/1.0"})

const goodPassword = "glimmer otter under the quiet bridge"

func (e *env) signup(email string) *gatehouse.User {
	e.t.Helper()
	u, err := e.s.Signup(ctx, email, goodPassword)
	if err != nil {
		e.t.Fatalf("Signup(%s): %v", email, err)
	}
	return u
}

func (e *env) login(email string) *auth.TokenResponse {
	e.t.Helper()
	tr, err := e.s.PasswordLogin(ctx, email, goodPassword)
	if err != nil {
		e.t.Fatalf("PasswordLogin(%s): %v", email, err)
	}
	return tr
}

// events returns the stored audit events of type typ, oldest first.
func (e *env) events(typ gatehouse.EventType) []*gatehouse.AuditEvent {
	e.t.Helper()
	var out []*gatehouse.AuditEvent
	err := e.store.Tx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: typ, Limit: gatehouse.MaxAuditPage})
		for i := len(evs) - 1; i >= 0; i-- {
			out = append(out, evs[i])
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) session(id string) *gatehouse.Session {
	e.t.Helper()
	var s *gatehouse.Session
	err := e.store.Tx(context.Background(), gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		s, err = tx.SessionByID(context.Background(), id)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) user(email string) *gatehouse.User {
	e.t.Helper()
	var u *gatehouse.User
	err := e.store.Tx(context.Background(), gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		u, err = tx.UserByEmail(context.Background(), email)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

var linkRE = regexp.MustCompile(`https://auth\.example\.com/magic-link\?token=([A-Za-z0-9_-]{43})`)

// mailTokens returns the magic-link tokens in the mail directory, and the
// recipients.
func (e *env) mailTokens() (tokens, to []string) {
	e.t.Helper()
	ents, _ := os.ReadDir(e.mailDir)
	for _, ent := range ents {
		b, err := os.ReadFile(filepath.Join(e.mailDir, ent.Name()))
		if err != nil {
			e.t.Fatal(err)
		}
		m := linkRE.FindStringSubmatch(string(b))
		if m == nil {
			e.t.Fatalf("no link in %s", b)
		}
		tokens = append(tokens, m[1])
		for _, line := range strings.Split(string(b), "\r\n") {
			if v, ok := strings.CutPrefix(line, "To: "); ok {
				to = append(to, v)
			}
		}
	}
	return tokens, to
}

func wantCode(t *testing.T, err error, code gatehouse.Code) {
	t.Helper()
	if gatehouse.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}
