package auth

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// errEnded answers a write made with a credential that may still read but
// no longer change anything (docs/sessions.md, "Access tokens after the
// session ends").
var errEnded = gatehouse.Errorf(gatehouse.EUnauthorized, "the session has ended or the account is not active; sign in again")

// requireLive refuses (401 unauthorized) a write made with a credential that
// verifies but whose grounds are gone: an access token outlives its session
// by up to its lifetime (GATEHOUSE_ACCESS_TTL), and may read until then, but
// changes nothing once
//   - a person's session is revoked, expired or idle past the idle
//     timeout, or its account is not active;
//   - a PAT was deleted or expired, or its owner is not active.
//
// It is one store statement, run inside the write's own transaction, so a
// revocation that commits first is seen. An OAuth client's token changes
// nothing here (its scopes name reads only, docs/scopes.md): 403.
func (c *Core) requireLive(ctx context.Context, t *Tx, p *gatehouse.Principal) error {
	if p == nil || p.UserID == "" && p.Kind != gatehouse.KindClient {
		return gatehouse.Errorf(gatehouse.EUnauthorized, "authentication required")
	}
	now := c.now()
	var ok bool
	var err error
	switch p.Kind {
	case gatehouse.KindSession:
		var idleSince time.Time // zero: no idle check
		switch {
		case c.IdleTimeout == 0:
			idleSince = now.Add(-DefaultIdleTimeout)
		case c.IdleTimeout > 0:
			idleSince = now.Add(-c.IdleTimeout)
		}
		ok, err = t.SessionWritable(ctx, p.SessionID, p.UserID, now, idleSince)
	case gatehouse.KindPAT:
		ok, err = t.PATWritable(ctx, p.TokenID, p.UserID, now)
	default:
		return gatehouse.Errorf(gatehouse.EForbidden, "an OAuth client's token cannot change anything here")
	}
	if err != nil {
		return err
	}
	if !ok {
		return errEnded
	}
	return nil
}

// WriteTx runs fn in one transaction with scope, as InTx does, after
// requireLive has passed in that same transaction. Every change made for a
// caller goes through it, so none can skip the check; the CLI (no caller)
// uses InTx.
func (c *Core) WriteTx(ctx context.Context, p *gatehouse.Principal, scope gatehouse.Scope, fn func(*Tx) error) error {
	if p != nil && p.Kind == gatehouse.KindPAT && scope.UserID == "" {
		scope.UserID = p.UserID // under row-level security, the PAT's row is visible to its owner's scope
	}
	return c.InTx(ctx, scope, func(t *Tx) error {
		if err := c.requireLive(ctx, t, p); err != nil {
			return err
		}
		return fn(t)
	})
}

// txFor is how a service runs a transaction for p: WriteTx (p's credential
// must be live) when write is set, else InTx.
func (c *Core) txFor(p *gatehouse.Principal, write bool) func(context.Context, gatehouse.Scope, func(*Tx) error) error {
	if !write {
		return c.InTx
	}
	return func(ctx context.Context, scope gatehouse.Scope, fn func(*Tx) error) error {
		return c.WriteTx(ctx, p, scope, fn)
	}
}

// writeAsOrSystem is WriteTx for a caller, and InTx for the CLI (p nil: an
// operator, recorded as "system"), which holds no credential to check.
func (c *Core) writeAsOrSystem(ctx context.Context, p *gatehouse.Principal, scope gatehouse.Scope, fn func(*Tx) error) error {
	if p == nil {
		return c.InTx(ctx, scope, fn)
	}
	return c.WriteTx(ctx, p, scope, fn)
}
