package backchannel_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/backchannel"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
)

// server is one gatehouse process: its own Core, Keys and Worker over a
// shared database and clock.
type server struct {
	core *auth.Core
	keys *auth.Keys
}

func start(t *testing.T, db *sqlstore.DB, clock func() time.Time) server {
	t.Helper()
	kek, err := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	core := auth.NewCore(db, slog.New(slog.DiscardHandler))
	core.Now = clock
	keys, err := auth.NewKeys(core, auth.KeysConfig{Issuer: "https://auth.example.com", KEK: kek, IDTokenAlgs: []token.Alg{token.RS256}})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	return server{core, keys}
}

// TestBackchannelLogoutSurvivesFailureAndRestart: a session that a client
// holds a grant for ends; the logout notice is in the outbox from that
// transaction. A worker that may not reach loopback records a failure
// (address_not_allowed) and calls nothing; the receiver then answers 503
// once (a failure, retried with backoff); the process "restarts" (new
// Core, Keys and Worker over the same database), and the next attempt is
// delivered: a logout token of typ logout+jwt with iss, aud, iat, jti,
// sid, sub and events, and no nonce. Every outcome is an audit event.
func TestBackchannelLogoutSurvivesFailureAndRestart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Now().UTC().Truncate(time.Second)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

		var calls []string
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			mu.Lock()
			calls = append(calls, r.PostForm.Get("logout_token"))
			n := len(calls)
			mu.Unlock()
			if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Method != "POST" || r.URL.Path != "/bc" {
				t.Errorf("request %s %s %s", r.Method, r.URL, r.Header.Get("Content-Type"))
			}
			if n == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		defer rcv.Close()

		s1 := start(t, db, clock)
		u := &gatehouse.User{ID: gatehouse.NewID(now), Email: "bc@example.com", Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
		ws := &gatehouse.Workspace{ID: gatehouse.NewID(now), Name: "bc", CreatedAt: now}
		sess := &gatehouse.Session{ID: gatehouse.NewID(now), UserID: u.ID, Method: gatehouse.MethodPassword, AMR: []string{"pwd"},
			AuthTime: now, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: bytes.Repeat([]byte{1}, 32)}
		other := *sess
		other.ID = gatehouse.NewID(now)
		const clientID = "5b1e8c3a-2f4d-4e6a-9b7c-1d2e3f4a5b6c"
		must := func(scope gatehouse.Scope, fn func(tx gatehouse.Tx) error) {
			t.Helper()
			if err := db.Tx(ctx, scope, fn); err != nil {
				t.Fatal(err)
			}
		}
		must(gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.CreateSession(ctx, sess); err != nil {
				return err
			}
			return tx.CreateSession(ctx, &other)
		})
		must(gatehouse.Scope{WorkspaceID: ws.ID}, func(tx gatehouse.Tx) error {
			if err := tx.CreateWorkspace(ctx, ws); err != nil {
				return err
			}
			if err := tx.CreateClient(ctx, &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: ws.ID, ClientID: clientID, Name: "rp",
				Public: true, Grants: []string{gatehouse.GrantAuthorizationCode}, RedirectURIs: []string{"https://rp.example.com/cb"},
				BackchannelLogoutURI: rcv.URL + "/bc", CreatedAt: now}); err != nil {
				return err
			}
			return tx.CreateOAuthGrant(ctx, &gatehouse.OAuthGrant{ID: gatehouse.NewID(now), WorkspaceID: ws.ID, ClientID: clientID,
				UserID: u.ID, SessionID: sess.ID, Scope: "openid", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
				RefreshHash: bytes.Repeat([]byte{2}, 32)})
		})

		// The session ends: the notice is written in that transaction.
		// The other session has no grant: nothing for it.
		if err := s1.core.InTx(ctx, gatehouse.Scope{}, func(t *auth.Tx) error {
			if err := t.RevokeSession(ctx, other.ID, clock()); err != nil {
				return err
			}
			return t.RevokeSession(ctx, sess.ID, clock())
		}); err != nil {
			t.Fatal(err)
		}

		strict := backchannel.New(backchannel.Config{Core: s1.core, Keys: s1.keys})
		if n, err := strict.RunOnce(ctx); n != 1 || err != nil || len(calls) != 0 {
			t.Fatalf("strict worker: %d %v, %d calls", n, err, len(calls))
		}
		w1 := backchannel.New(backchannel.Config{Core: s1.core, Keys: s1.keys, AllowPrivate: true})
		if n, _ := w1.RunOnce(ctx); n != 0 {
			t.Fatalf("a notice was due again before its backoff: %d", n)
		}
		advance(auth.BackchannelRetry(1))
		if n, err := w1.RunOnce(ctx); n != 1 || err != nil || len(calls) != 1 {
			t.Fatalf("first delivery: %d %v, %d calls", n, err, len(calls))
		}
		if auth.BackchannelRetry(1) > time.Minute || auth.BackchannelRetry(2) > time.Minute {
			t.Fatalf("first retries %v %v: want within a minute", auth.BackchannelRetry(1), auth.BackchannelRetry(2))
		}
		var total time.Duration
		for i := 1; i < auth.MaxBackchannelAttempts; i++ {
			total += auth.BackchannelRetry(i)
		}
		if total < time.Hour {
			t.Fatalf("retries span %v, want at least an hour", total)
		}

		// Restart: a new process over the same database.
		advance(auth.BackchannelRetry(2))
		s2 := start(t, db, clock)
		w2 := backchannel.New(backchannel.Config{Core: s2.core, Keys: s2.keys, AllowPrivate: true})
		if n, err := w2.RunOnce(ctx); n != 1 || err != nil || len(calls) != 2 {
			t.Fatalf("after restart: %d %v, %d calls", n, err, len(calls))
		}
		advance(time.Hour)
		if n, _ := w2.RunOnce(ctx); n != 0 {
			t.Fatalf("a delivered notice stayed in the outbox: %d", n)
		}

		// The other ways sessions end enqueue too: every session of a
		// person (an account status change, a factor removal), every
		// session (revoke-all).
		for i, end := range []func(t *auth.Tx) error{
			func(t *auth.Tx) error { _, err := t.RevokeUserSessions(ctx, u.ID, clock()); return err },
			func(t *auth.Tx) error { _, err := t.RevokeAllSessions(ctx, clock()); return err },
		} {
			advance(time.Second)
			ns := *sess
			ns.ID = gatehouse.NewID(clock())
			must(gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateSession(ctx, &ns) })
			must(gatehouse.Scope{WorkspaceID: ws.ID}, func(tx gatehouse.Tx) error {
				return tx.CreateOAuthGrant(ctx, &gatehouse.OAuthGrant{ID: gatehouse.NewID(clock()), WorkspaceID: ws.ID, ClientID: clientID,
					UserID: u.ID, SessionID: ns.ID, Scope: "openid", CreatedAt: clock(), LastUsedAt: clock(), ExpiresAt: clock().Add(time.Hour),
					RefreshHash: bytes.Repeat([]byte{byte(3 + i)}, 32)})
			})
			if err := s2.core.InTx(ctx, gatehouse.Scope{}, end); err != nil {
				t.Fatal(err)
			}
			if n, err := w2.RunOnce(ctx); n != 1 || err != nil || len(calls) != 3+i {
				t.Fatalf("end %d: %d %v, %d calls", i, n, err, len(calls))
			}
		}

		tok := calls[1]
		parts := strings.Split(tok, ".")
		var hdr, cl map[string]any
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(hb, &hdr)
		json.Unmarshal(cb, &cl)
		ev, _ := cl["events"].(map[string]any)
		if hdr["typ"] != "logout+jwt" || cl["iss"] != "https://auth.example.com" || cl["aud"] != clientID || cl["sub"] != u.ID ||
			cl["sid"] != sess.ID || cl["jti"] == nil || cl["iat"] == nil || cl["nonce"] != nil ||
			ev["http://schemas.openid.net/event/backchannel-logout"] == nil {
			t.Fatalf("logout token %v %v", hdr, cl)
		}
		jwks, err := s2.keys.JWKS()
		if err != nil {
			t.Fatal(err)
		}
		ks, err := token.ParseJWKS(jwks.Body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := token.VerifySigned(tok, token.LogoutTokenType, ks); err != nil {
			t.Fatalf("logout token signature: %v", err)
		}

		var evs []*gatehouse.AuditEvent
		must(gatehouse.Scope{WorkspaceID: ws.ID}, func(tx gatehouse.Tx) error {
			var err error
			evs, err = tx.AuditEvents(ctx, gatehouse.AuditFilter{WorkspaceID: ws.ID})
			return err
		})
		var seq []string
		for i := len(evs) - 1; i >= 0; i-- {
			if strings.HasPrefix(string(evs[i].Type), "backchannel_logout.") {
				seq = append(seq, string(evs[i].Type)+":"+evs[i].Details["reason"])
			}
		}
		if strings.Join(seq, " ") != "backchannel_logout.failed:address_not_allowed backchannel_logout.failed:status_503 backchannel_logout.delivered: backchannel_logout.delivered: backchannel_logout.delivered:" {
			t.Fatalf("audit %v", seq)
		}
	})
}

// TestBackchannelNoRedirectNoOtherURI: a receiver that redirects is a
// failure (status_302) and the redirect's target is never called; a
// notice whose client has since changed its URI is dropped unsent.
func TestBackchannelNoRedirectNoOtherURI(t *testing.T) {
	db := testdb.SQLite(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	target := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { target++ }))
	defer elsewhere.Close()
	calls := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Redirect(w, r, elsewhere.URL+"/bc", http.StatusFound)
	}))
	defer rcv.Close()
	s := start(t, db, clock)
	u := &gatehouse.User{ID: gatehouse.NewID(now), Email: "bc2@example.com", Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
	ws := &gatehouse.Workspace{ID: gatehouse.NewID(now), Name: "bc", CreatedAt: now}
	const clientID = "5b1e8c3a-2f4d-4e6a-9b7c-1d2e3f4a5b6d"
	var sids []string
	if err := db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for i := 0; i < 2; i++ {
			x := &gatehouse.Session{ID: gatehouse.NewID(now), UserID: u.ID, Method: gatehouse.MethodPassword, CreatedAt: now, LastUsedAt: now,
				ExpiresAt: now.Add(time.Hour), RefreshHash: bytes.Repeat([]byte{1}, 32)}
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
			sids = append(sids, x.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, gatehouse.Scope{WorkspaceID: ws.ID}, func(tx gatehouse.Tx) error {
		if err := tx.CreateWorkspace(ctx, ws); err != nil {
			return err
		}
		if err := tx.CreateClient(ctx, &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: ws.ID, ClientID: clientID, Name: "rp", Public: true,
			BackchannelLogoutURI: rcv.URL + "/bc", CreatedAt: now}); err != nil {
			return err
		}
		for _, sid := range sids {
			if err := tx.CreateOAuthGrant(ctx, &gatehouse.OAuthGrant{ID: gatehouse.NewID(now), WorkspaceID: ws.ID, ClientID: clientID, UserID: u.ID,
				SessionID: sid, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: bytes.Repeat([]byte{2}, 32)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.core.InTx(ctx, gatehouse.Scope{}, func(t *auth.Tx) error { return t.RevokeSession(ctx, sids[0], clock()) }); err != nil {
		t.Fatal(err)
	}
	w := backchannel.New(backchannel.Config{Core: s.core, Keys: s.keys, AllowPrivate: true})
	if n, err := w.RunOnce(ctx); n != 1 || err != nil || calls != 1 || target != 0 {
		t.Fatalf("redirecting receiver: %d %v, %d calls, %d at the redirect's target", n, err, calls, target)
	}
	// The client changes its URI (delete and register again, as an
	// operator would); the queued notice for the old URI is dropped.
	if err := s.core.InTx(ctx, gatehouse.Scope{}, func(t *auth.Tx) error { return t.RevokeSession(ctx, sids[1], clock()) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, gatehouse.Scope{WorkspaceID: ws.ID}, func(tx gatehouse.Tx) error { return tx.DeleteClient(ctx, ws.ID, clientID) }); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.RunOnce(ctx); n != 1 || calls != 1 {
		t.Fatalf("a notice for a deleted client was sent: %d, %d calls", n, calls)
	}
	now = now.Add(24 * time.Hour) // the redirect's failure is due again, its client gone: dropped unsent
	if n, _ := w.RunOnce(ctx); n != 1 || calls != 1 {
		t.Fatalf("the retried notice: %d, %d calls", n, calls)
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Fatalf("dropped notices are still queued: %d", n)
	}
}
