package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
)

const limitsUsage = "usage: gatehouse limits reset --email E | --ip A   (both may be given; also takes --dev)"

// limitsCmd is `gatehouse limits reset --email E | --ip A`: it lifts the
// failed-authentication ceilings (docs/rate-limits.md) of an account and/or a
// client address in the shared Redis, records failed_auth.reset, and prints
// JSON on stdout.
func limitsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "reset" {
		return &usageError{limitsUsage}
	}
	fs := flagSet("limits reset", limitsUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	email := fs.String("email", "", "the account's email address: lifts its failed_auth.account ceiling")
	ipArg := fs.String("ip", "", "a client IP address: lifts the failed_auth.ip ceiling of its key (the address; an IPv6 address's /64)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{"limits reset: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("limits reset: unexpected argument %q", clip(fs.Arg(0), 40))}
	}
	if strings.TrimSpace(*email) == "" && strings.TrimSpace(*ipArg) == "" {
		return &usageError{limitsUsage}
	}
	var ipKey string
	var ipAddr netip.Addr
	if s := strings.TrimSpace(*ipArg); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil {
			// A /64 (as the audit trail and keys show it) names the same key.
			p, perr := netip.ParsePrefix(s)
			if perr != nil || !p.Addr().Is6() || p.Bits() != 64 {
				return &usageError{"limits reset: --ip must be an IP address such as 203.0.113.7 or 2001:db8::1"}
			}
			a = p.Addr()
		}
		ipAddr, ipKey = a.Unmap(), ratelimit.ClientKey(a.String())
	}
	var account, norm string
	if s := strings.TrimSpace(*email); s != "" {
		account = auth.EmailAccount(s)        // the key the guard counts a password sign-in under
		norm, _ = gatehouse.NormalizeEmail(s) // for the audit target only; empty when it is not an address
	}

	cfg, err := loadConfig(getenv, *dev, configFlags{})
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return fmt.Errorf("limits reset: %s is not set, so rate limits are kept in memory, separately in each running server process: there is nothing shared to reset (restarting the server clears its memory)", envRedisURL)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	rlredis.SetLogger(log)
	client, err := rlredis.Open(cfg.RedisURL)
	if err != nil {
		return bad(envRedisURL, "must be redis://host:port/db or rediss://…")
	}
	defer client.Close()
	backend := rlredis.New(client, rlredis.Options{})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := backend.Ping(pctx); err != nil {
		return fmt.Errorf("limits reset: cannot reach Redis (%s): %v", envRedisURL, err)
	}
	// The database too, before anything changes: the reset is recorded.
	a, closeAll, err := openAdminConfig(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	ps := cfg.RateLimits
	if ps == nil {
		ps = ratelimit.DefaultPolicies()
	}
	fa := ratelimit.NewFailedAuth(backend, ps)
	before, err := fa.Check(pctx, ipKey, account)
	if err != nil {
		return fmt.Errorf("limits reset: reading the counters: %w", err)
	}
	if err := fa.Reset(pctx, ipKey, account); err != nil {
		return fmt.Errorf("limits reset: %w", err)
	}

	ev := &gatehouse.AuditEvent{Type: gatehouse.EventFailedAuthReset, Actor: "system", Outcome: gatehouse.OutcomeSuccess,
		Details: map[string]string{}}
	out := map[string]any{}
	if ipKey != "" {
		ev.IP = ipAddr.String() // cut to its network when stored, as every event's ip
		ev.Details["ip_failures"] = fmt.Sprint(before.IP.Count)
		out["ip"] = map[string]any{"key": ipKey, "failures": before.IP.Count, "was_blocked": before.IP.Blocked}
	}
	if account != "" {
		ev.Details["account_failures"] = fmt.Sprint(before.Account.Count)
		out["email"] = map[string]any{"address": strings.TrimPrefix(account, "email:"), "failures": before.Account.Count, "was_blocked": before.Account.Blocked}
	}
	err = a.svc.core.InTx(ctx, gatehouse.Scope{}, func(t *auth.Tx) error {
		if norm != "" {
			// The target is the account's id, never the address (audit
			// events keep no address).
			u, err := t.UserByEmail(ctx, norm)
			switch {
			case err == nil:
				ev.Target = "user:" + u.ID
			case !errors.Is(err, gatehouse.ErrNotFound):
				return err
			}
		}
		return t.Audit(ev)
	})
	if err != nil {
		return fmt.Errorf("limits reset: the ceilings were lifted, but the audit event could not be recorded: %w", err)
	}
	out["reset"] = true
	return json.NewEncoder(stdout).Encode(out)
}
