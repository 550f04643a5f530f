package auth

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0,
// docs/oidc.md). Every way a session ends goes through one of the three
// revocations below (a logout, a revocation by the person, refresh-token
// reuse: family.go; an account status change: accounts.go; revoke-all;
// and whatever else revokes sessions through a Tx), and each of them, in
// its own transaction, enqueues a logout notice for every client holding a
// grant approved from an ended session (sessionsEnded). A worker (package
// backchannel) delivers them.

// OutboxBackchannel is the outbox kind of a back-channel logout notice.
const OutboxBackchannel = "backchannel_logout"

// BackchannelNotice is the payload of an OutboxBackchannel item: who to
// tell that which session ended. The logout token is signed at delivery.
type BackchannelNotice struct {
	WorkspaceID string `json:"workspace_id"`
	ClientID    string `json:"client_id"`
	Subject     string `json:"sub"`
	SessionID   string `json:"sid"`
	URI         string `json:"uri"`
}

// RevokeSession revokes a session and enqueues its back-channel logouts.
func (t *Tx) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if err := t.Tx.RevokeSession(ctx, id, now); err != nil {
		return err
	}
	return t.sessionsEnded(ctx, now, "", id)
}

// RevokeUserSessions revokes userID's sessions and enqueues their
// back-channel logouts.
func (t *Tx) RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int64, error) {
	n, err := t.Tx.RevokeUserSessions(ctx, userID, now)
	if err != nil || n == 0 {
		return n, err
	}
	return n, t.sessionsEnded(ctx, now, userID, "")
}

// RevokeOtherSessions revokes userID's sessions but keepID (a password
// change) and enqueues their back-channel logouts.
func (t *Tx) RevokeOtherSessions(ctx context.Context, userID, keepID string, now time.Time) (int64, error) {
	n, err := t.Tx.RevokeOtherSessions(ctx, userID, keepID, now)
	if err != nil || n == 0 {
		return n, err
	}
	return n, t.sessionsEnded(ctx, now, userID, "")
}

// RevokeAllSessions revokes every session and enqueues their back-channel
// logouts.
func (t *Tx) RevokeAllSessions(ctx context.Context, now time.Time) (int64, error) {
	n, err := t.Tx.RevokeAllSessions(ctx, now)
	if err != nil || n == 0 {
		return n, err
	}
	return n, t.sessionsEnded(ctx, now, "", "")
}

// sessionsEnded is the one place that turns ended sessions (revoked at now
// in this transaction, of userID or the session sessionID when given) into
// back-channel logout notices, written to the outbox in the same
// transaction: a crash after the commit loses none.
func (t *Tx) sessionsEnded(ctx context.Context, now time.Time, userID, sessionID string) error {
	targets, err := t.Tx.EndedSessionTargets(ctx, now, userID, sessionID)
	if err != nil {
		return err
	}
	for _, b := range targets {
		payload, err := json.Marshal(BackchannelNotice{WorkspaceID: b.WorkspaceID, ClientID: b.ClientID, Subject: b.UserID,
			SessionID: b.SessionID, URI: b.URI})
		if err != nil {
			return err
		}
		if err := t.Tx.EnqueueOutbox(ctx, &gatehouse.OutboxItem{ID: gatehouse.NewID(now), Kind: OutboxBackchannel, Payload: payload,
			NextAt: now, CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// LogoutTokenClaims are a logout token's claims (Back-Channel Logout 1.0
// section 2.4): never a nonce (so it cannot pass for an id_token), events
// naming back-channel logout.
type LogoutTokenClaims struct {
	Issuer    string                    `json:"iss"`
	Subject   string                    `json:"sub"`
	Audience  token.Audience            `json:"aud"`
	IssuedAt  int64                     `json:"iat"`
	ExpiresAt int64                     `json:"exp"`
	ID        string                    `json:"jti"`
	SessionID string                    `json:"sid"`
	Events    map[string]map[string]any `json:"events"`
}

// backchannelEvent is the events member's one key (section 2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken signs the logout token of n (typ logout+jwt, section 2.4),
// with the algorithm the client registered for its id_tokens (alg: empty
// for the default), valid two minutes.
func (k *Keys) LogoutToken(n BackchannelNotice, alg string) (string, error) {
	signer, _, now, err := k.activeSigner(alg)
	if err != nil {
		return "", err
	}
	c := LogoutTokenClaims{Issuer: k.cfg.Issuer, Subject: n.Subject, Audience: token.Audience{n.ClientID},
		IssuedAt: now.Unix(), ExpiresAt: now.Add(2 * time.Minute).Unix(), ID: gatehouse.NewID(now), SessionID: n.SessionID,
		Events: map[string]map[string]any{backchannelEvent: {}}}
	return signer.Sign(token.LogoutTokenType, c)
}

// BackchannelRetry is the delay before attempt n+1 after n failed ones:
// 10 s, 20 s, 40 s … doubling up to 15 minutes; with MaxBackchannelAttempts
// the attempts span more than an hour (Back-Channel Logout 1.0 leaves the
// schedule to the OP; docs/oidc.md).
func BackchannelRetry(n int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < n && d < 15*time.Minute; i++ {
		d *= 2
	}
	return min(d, 15*time.Minute)
}

// MaxBackchannelAttempts bounds the deliveries of one notice: 10 s … 15
// min between them, about 1 h 50 min in all.
const MaxBackchannelAttempts = 12

// ClaimOutbox takes up to limit due outbox items, leased for lease.
func (c *Core) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]*gatehouse.OutboxItem, error) {
	var out []*gatehouse.OutboxItem
	now := c.now()
	err := c.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		var err error
		out, err = t.ClaimOutbox(ctx, now, now.Add(lease), limit)
		return err
	})
	return out, err
}

// BackchannelClient returns the client a notice is for, or nil when it is
// gone (deleted: the notice is dropped).
func (c *Core) BackchannelClient(ctx context.Context, n BackchannelNotice) (*gatehouse.Client, error) {
	var cl *gatehouse.Client
	err := c.InTx(ctx, gatehouse.Scope{WorkspaceID: n.WorkspaceID}, func(t *Tx) error {
		var err error
		cl, err = t.Client(ctx, n.WorkspaceID, n.ClientID)
		return err
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, nil
	}
	return cl, err
}

// BackchannelOutcome records one delivery attempt of item: delivered (the
// item leaves the outbox, backchannel_logout.delivered), or failed with a
// short reason (backchannel_logout.failed; retried after BackchannelRetry
// until MaxBackchannelAttempts, then dropped).
func (c *Core) BackchannelOutcome(ctx context.Context, it *gatehouse.OutboxItem, n BackchannelNotice, reason string) error {
	now := c.now()
	attempts := it.Attempts + 1
	return c.InTx(ctx, gatehouse.Scope{WorkspaceID: n.WorkspaceID}, func(t *Tx) error {
		details := map[string]string{"client_id": n.ClientID, "sid": n.SessionID, "user_id": n.Subject, "attempt": strconv.Itoa(attempts)}
		ev := &gatehouse.AuditEvent{Type: gatehouse.EventBackchannelDelivered, Actor: "system", Target: "client:" + n.ClientID,
			WorkspaceID: n.WorkspaceID, Details: details}
		var err error
		switch {
		case reason == "":
			err = t.DeleteOutbox(ctx, it.ID)
		case attempts >= MaxBackchannelAttempts:
			ev.Type, ev.Outcome, details["reason"], details["final"] = gatehouse.EventBackchannelFailed, gatehouse.OutcomeFailure, reason, "true"
			err = t.DeleteOutbox(ctx, it.ID)
		default:
			next := now.Add(BackchannelRetry(attempts))
			ev.Type, ev.Outcome, details["reason"], details["next_attempt"] = gatehouse.EventBackchannelFailed, gatehouse.OutcomeFailure, reason, next.Format(time.RFC3339)
			err = t.RetryOutbox(ctx, it.ID, attempts, next, reason)
		}
		if err != nil {
			return err
		}
		return t.Audit(ev)
	})
}

// DropOutbox removes an item that cannot be delivered at all (a malformed
// payload, a deleted client).
func (c *Core) DropOutbox(ctx context.Context, id string) error {
	return c.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error { return t.DeleteOutbox(ctx, id) })
}
