package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// eachBackend runs fn on the memory backend and on Redis.
func eachBackend(t *testing.T, fn func(t *testing.T, b ratelimit.Backend)) {
	t.Run("memory", func(t *testing.T) { fn(t, memory.New(memory.Options{})) })
	t.Run("redis", func(t *testing.T) {
		c, prefix := redistest.Open(t)
		fn(t, rlredis.New(c, rlredis.Options{Prefix: prefix + t.Name() + ":"}))
	})
}

var errWrong = gatehouse.Errorf(gatehouse.EInvalidGrant, "invalid email or password")

// guardEnv is a guard over b with policies ps and a device key.
type guardEnv struct {
	g      *auth.Guard
	failed *ratelimit.FailedAuth
	events []*gatehouse.AuditEvent
}

func newGuardEnv(t *testing.T, b ratelimit.Backend, overrides string) *guardEnv {
	t.Helper()
	ps, err := ratelimit.ParsePolicies(overrides)
	if err != nil {
		t.Fatal(err)
	}
	e := &guardEnv{failed: ratelimit.NewFailedAuth(b, ps)}
	e.g, err = auth.NewGuard(auth.GuardConfig{Limits: ratelimit.NewLimits(b, ps), Failed: e.failed, DeviceKey: bytes.Repeat([]byte("d"), 32),
		Record: func(_ context.Context, ev *gatehouse.AuditEvent) error { e.events = append(e.events, ev); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// signIn runs one password attempt for email from ip with device cookie
// in (may be ""), right or wrong; it returns the guard's refusal or the
// check's outcome, and the device cookie a success issued.
func (e *guardEnv) signIn(ip, email, in string, right bool) (error, string) {
	ctx := gatehouse.NewContextWithRequestInfo(context.Background(), gatehouse.RequestInfo{IP: ip})
	dev := &auth.DeviceCookie{In: in}
	ctx = auth.WithDeviceCookie(ctx, dev)
	pass, err := e.g.Enter(ctx, auth.Attempt{Policy: ratelimit.TokenAccount, Identity: auth.EmailKey(email), Account: auth.EmailAccount(email), Device: true})
	if err != nil {
		return err, ""
	}
	if !right {
		err = errWrong
	}
	pass.Done(ctx, err)
	return err, dev.Out
}

// Ten wrong passwords from ten addresses lock the account for everyone
// without a device cookie; the owner's browser, with the device cookie its
// last sign-in got, is not refused the right password; a forged cookie, or
// one issued for another account, does not help; the device's own failures
// count against it, not the account, and past failed_auth.device it is
// distrusted (OWASP "Slow Down Online Guessing Attacks with Device Cookies").
func TestDeviceCookieSparesTheOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, b ratelimit.Backend) {
		e := newGuardEnv(t, b, "failed_auth.device=3/15m, token.account=100/1m")
		const owner = "198.51.100.7"
		err, device := e.signIn(owner, "Jane@Example.com", "", true)
		if err != nil || device == "" {
			t.Fatalf("first sign-in: %v, device cookie %q", err, device)
		}
		_, johns := e.signIn("198.51.100.8", "john@example.com", "", true)

		for i := 0; i < 10; i++ {
			if err, _ := e.signIn(fmt.Sprintf("203.0.113.%d", i), "jane@example.com", "", false); code(err) != gatehouse.EInvalidGrant {
				t.Fatalf("wrong password %d: %v", i+1, err)
			}
		}
		if err, _ := e.signIn("203.0.113.200", "jane@example.com", "", true); code(err) != gatehouse.ERateLimited {
			t.Fatalf("a stranger with the right password on a locked account: %v, want rate_limited", err)
		}
		if err, _ := e.signIn(owner, "jane@example.com", "", true); code(err) != gatehouse.ERateLimited {
			t.Fatalf("the owner without the device cookie: %v, want rate_limited", err)
		}
		err, next := e.signIn(owner, "jane@example.com", device, true)
		if err != nil || next == "" || next == device {
			t.Fatalf("the owner's browser with its device cookie: %v, new cookie %q", err, next)
		}
		// The device cookie is bound to the account it was issued for, and a
		// forged one is nothing.
		nonce, _, _ := strings.Cut(device, ".")
		for name, forged := range map[string]string{
			"other account's": johns,
			"forged MAC":      nonce + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			"garbage":         "x.y",
		} {
			if err, _ := e.signIn("203.0.113.201", "jane@example.com", forged, true); code(err) != gatehouse.ERateLimited {
				t.Fatalf("%s device cookie on a locked account: %v, want rate_limited", name, err)
			}
		}
		// The device's failures count against it, not the account.
		before, _ := e.failed.Check(context.Background(), "", auth.EmailAccount("jane@example.com"))
		for i := 0; i < 3; i++ {
			if err, _ := e.signIn(owner, "jane@example.com", next, false); code(err) != gatehouse.EInvalidGrant {
				t.Fatalf("wrong password %d from the owner's browser: %v", i+1, err)
			}
		}
		after, _ := e.failed.Check(context.Background(), "", auth.EmailAccount("jane@example.com"))
		if after.Account.Count != before.Account.Count {
			t.Fatalf("the device's failures counted against the account: %d → %d", before.Account.Count, after.Account.Count)
		}
		// Past its ceiling the device is distrusted: the account's block applies.
		if err, _ := e.signIn(owner, "jane@example.com", next, true); code(err) != gatehouse.ERateLimited {
			t.Fatalf("a device past its ceiling: %v, want rate_limited", err)
		}
		// Another device cookie of the owner's still works.
		if err, _ := e.signIn(owner, "jane@example.com", device, true); err != nil {
			t.Fatalf("the owner's other device cookie: %v", err)
		}
		var devCeiling int
		for _, ev := range e.events {
			if ev.Type == gatehouse.EventFailedAuthCeiling && ev.Details["ceiling"] == ratelimit.FailedAuthDevice {
				devCeiling++
			}
		}
		if devCeiling != 1 {
			t.Fatalf("%d failed_auth.ceiling_reached events for the device, want 1", devCeiling)
		}
		// The per-IP ceiling still applies to a device.
		e2 := newGuardEnv(t, b, "failed_auth.ip=2/15m")
		_, d := e2.signIn("192.0.2.50", "amy@example.com", "", true)
		e2.signIn("192.0.2.50", "bob@example.com", "", false)
		e2.signIn("192.0.2.50", "bob@example.com", "", false)
		if err, _ := e2.signIn("192.0.2.50", "amy@example.com", d, true); code(err) != gatehouse.ERateLimited {
			t.Fatalf("a device from an IP past its ceiling: %v, want rate_limited", err)
		}
	})
}

// storeCounter is the real store, counting transactions and reads.
type storeCounter struct {
	gatehouse.Store
	n atomic.Int64
}

func (c *storeCounter) Tx(ctx context.Context, scope gatehouse.Scope, fn func(gatehouse.Tx) error) error {
	c.n.Add(1)
	return c.Store.Tx(ctx, scope, fn)
}

func (c *storeCounter) Read(ctx context.Context, scope gatehouse.Scope, fn func(gatehouse.Tx) error) error {
	c.n.Add(1)
	return c.Store.Read(ctx, scope, fn)
}

// The authorization endpoint's check of the portal's refresh cookie
// (OAuth.SignedIn) meets refresh.token before the session is looked up; a
// request without a well-formed cookie is not limited (it looks nothing up).
func TestSignedInGuarded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		store := &storeCounter{Store: db}
		e := newEnv(t, store, nil)
		o := &auth.OAuth{Core: e.core, Keys: e.keys, Sessions: e.s}
		e.signup("ada@example.com")
		tr := e.login("ada@example.com")
		g := newGuardEnv(t, memory.New(memory.Options{}), "refresh.token=1/1m")
		gctx := auth.WithGuard(ctx, g.g)
		if _, _, err := o.SignedIn(gctx, tr.RefreshToken); err != nil {
			t.Fatal(err)
		}
		n := store.n.Load()
		if _, _, err := o.SignedIn(gctx, tr.RefreshToken); code(err) != gatehouse.ERateLimited {
			t.Fatalf("second check within the minute: %v, want rate_limited", err)
		}
		if store.n.Load() != n {
			t.Fatal("a refused check looked the session up")
		}
		for i := 0; i < 3; i++ {
			if _, _, err := o.SignedIn(gctx, ""); code(err) != gatehouse.EUnauthorized {
				t.Fatalf("no cookie: %v, want unauthorized", err)
			}
		}
	})
}

// A device cookie spares its browser for auth.DeviceCookieTTL from its issue
// and no longer, whatever the browser keeps: its issue time is under its MAC.
func TestDeviceCookieExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, b ratelimit.Backend) {
		e := newGuardEnv(t, b, "token.account=100/1m")
		issued := time.Now()
		e.g.Now = func() time.Time { return issued }
		err, device := e.signIn("198.51.100.7", "jane@example.com", "", true)
		if err != nil || device == "" {
			t.Fatalf("first sign-in: %v, device cookie %q", err, device)
		}
		for i := 0; i < 10; i++ {
			if err, _ := e.signIn(fmt.Sprintf("203.0.113.%d", i), "jane@example.com", "", false); code(err) != gatehouse.EInvalidGrant {
				t.Fatalf("wrong password %d: %v", i+1, err)
			}
		}
		e.g.Now = func() time.Time { return issued.Add(auth.DeviceCookieTTL + time.Hour) }
		if err, _ := e.signIn("198.51.100.7", "jane@example.com", device, true); code(err) != gatehouse.ERateLimited {
			t.Fatalf("a device cookie past its lifetime on a locked account: %v, want rate_limited", err)
		}
		// The issue time cannot be moved: it is under the MAC.
		nonce, rest, _ := strings.Cut(device, ".")
		_, mac, _ := strings.Cut(rest, ".")
		moved := nonce + "." + strconv.FormatInt(time.Now().Add(auth.DeviceCookieTTL).Unix(), 10) + "." + mac
		if err, _ := e.signIn("198.51.100.7", "jane@example.com", moved, true); code(err) != gatehouse.ERateLimited {
			t.Fatalf("a device cookie with a moved issue time: %v, want rate_limited", err)
		}
		e.g.Now = func() time.Time { return issued.Add(auth.DeviceCookieTTL - time.Hour) }
		if err, _ := e.signIn("198.51.100.7", "jane@example.com", device, true); err != nil {
			t.Fatalf("a device cookie within its lifetime: %v", err)
		}
	})
}
