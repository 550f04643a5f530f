// Package auth holds every security decision of gatehouse: sign-in, refresh
// rotation and reuse, PATs, key lifecycle, workspaces and who may manage them.
// It knows nothing of HTTP and no database driver: it talks to a
// gatehouse.Store, and records audit events in the same transaction as the
// change they describe.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/audit"
)

// Core is what every service of this package shares: the store, the clock and
// the logger that mirrors audit events.
type Core struct {
	Store gatehouse.Store
	Now   func() time.Time
	Log   *slog.Logger
	// IdleTimeout is the session idle timeout that writes check
	// (requireLive): zero means DefaultIdleTimeout, negative none. Wire it
	// to the same value as SessionConfig.IdleTimeout.
	IdleTimeout time.Duration
	// EmailVerification is GATEHOUSE_EMAIL_VERIFICATION=required: accounts that
	// never proved their address cannot sign in with a password, and adding
	// a member or accepting an invitation never attaches one. NewSessions
	// sets it from SessionConfig.EmailVerification.
	EmailVerification bool
	// ReauthMaxAge is GATEHOUSE_REAUTH_MAX_AGE (reauth.go); zero: the
	// default, 10 minutes.
	ReauthMaxAge time.Duration
}

// NewCore returns a Core with the real clock.
func NewCore(store gatehouse.Store, log *slog.Logger) *Core {
	return &Core{Store: store, Now: time.Now, Log: log}
}

// Tx is a store transaction that also records audit events.
type Tx struct {
	gatehouse.Tx
	ctx    context.Context
	core   *Core
	events []*gatehouse.AuditEvent
}

// Now returns the core's clock reading, truncated to microseconds (what both
// stores keep), so values read back compare equal to values written.
func (c *Core) now() time.Time { return c.Now().UTC().Truncate(time.Microsecond) }

// Audit fills in ev's id, time and request details, redacts it and appends it
// to the trail in this transaction. It is logged once the transaction commits.
func (t *Tx) Audit(ev *gatehouse.AuditEvent) error {
	now := t.core.now()
	ev.ID = gatehouse.NewID(now)
	ev.Time = now
	ri := gatehouse.RequestInfoFromContext(t.ctx)
	if ev.IP == "" {
		ev.IP = ri.IP
	}
	if ev.UserAgent == "" {
		ev.UserAgent = ri.UserAgent
	}
	if ev.RequestID == "" {
		ev.RequestID = ri.RequestID
	}
	if ev.Outcome == "" {
		ev.Outcome = gatehouse.OutcomeSuccess
	}
	audit.Redact(ev)
	if err := t.AppendAuditEvent(t.ctx, ev); err != nil {
		return err
	}
	t.events = append(t.events, ev)
	return nil
}

// commitThen is returned by a transaction function that must commit its
// writes (usually an audit event of a failure) and still return an error.
type commitThen struct{ err error }

func (c commitThen) Error() string { return c.err.Error() }

// CommitThen makes InTx commit the transaction and then return err. A failed
// login uses it: the login.failed event must be stored, and the caller must
// still see invalid_grant.
func CommitThen(err error) error { return commitThen{err} }

// InTx runs fn in one store transaction with the given scope. Audit events
// recorded through the Tx are written in that transaction and logged after it
// commits.
func (c *Core) InTx(ctx context.Context, scope gatehouse.Scope, fn func(*Tx) error) error {
	var (
		events []*gatehouse.AuditEvent
		after  error
	)
	err := c.Store.Tx(ctx, scope, func(tx gatehouse.Tx) error {
		t := &Tx{Tx: tx, ctx: ctx, core: c}
		err := fn(t)
		var ct commitThen
		if errors.As(err, &ct) {
			after, err = ct.err, nil
		}
		events = t.events
		return err
	})
	if err != nil {
		return err
	}
	for _, ev := range events {
		audit.Log(ctx, c.Log, ev)
	}
	return after
}

// Record writes one audit event in a transaction of its own: for events that
// record a refusal and change nothing else (csrf.rejected, origin.rejected,
// rate_limit.exceeded).
func (c *Core) Record(ctx context.Context, ev *gatehouse.AuditEvent) error {
	return c.InTx(ctx, gatehouse.Scope{WorkspaceID: ev.WorkspaceID}, func(t *Tx) error {
		return t.Audit(ev)
	})
}
