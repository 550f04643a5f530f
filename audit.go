package gatehouse

import (
	"context"
	"time"
)

// EventType is the type of an audit event (docs/reference.md §11).
type EventType string

// The audit event types of the contract.
const (
	EventSignup                  EventType = "signup"
	EventLoginSucceeded          EventType = "login.succeeded"
	EventLoginFailed             EventType = "login.failed"
	EventMagicLinkRequested      EventType = "magic_link.requested"
	EventMagicLinkConsumed       EventType = "magic_link.consumed"
	EventTokenIssued             EventType = "token.issued"
	EventRefreshRotated          EventType = "refresh.rotated"
	EventRefreshReuseDetected    EventType = "refresh.reuse_detected"
	EventSessionRevoked          EventType = "session.revoked"
	EventLogout                  EventType = "logout"
	EventPATCreated              EventType = "pat.created"
	EventPATUpdated              EventType = "pat.updated"
	EventPATDeleted              EventType = "pat.deleted"
	EventOAuthClientCreated      EventType = "oauth_client.created"
	EventOAuthClientDeleted      EventType = "oauth_client.deleted"
	EventOAuthClientSecretRotate EventType = "oauth_client.secret_rotated"
	EventAccountStatusChanged    EventType = "account.status_changed"
	EventKeyRotated              EventType = "key.rotated"
	EventKeyRevoked              EventType = "key.revoked"
	EventRateLimitExceeded       EventType = "rate_limit.exceeded"
	EventFailedAuthCeiling       EventType = "failed_auth.ceiling_reached"
	EventCSRFRejected            EventType = "csrf.rejected"
	EventOriginRejected          EventType = "origin.rejected"
	// Not in the contract's list, but recorded for the workspace trail.
	EventFailedAuthReset     EventType = "failed_auth.reset" // `gatehouse limits reset`
	EventWorkspaceCreated    EventType = "workspace.created"
	EventMemberAdded         EventType = "member.added"
	EventMemberUpdated       EventType = "member.updated"
	EventMemberRemoved       EventType = "member.removed"
	EventAccountAdminChanged EventType = "account.admin_changed"
	// EventOAuthGrantRevoked is an OAuth grant's end (RFC 7009 revocation,
	// refresh-token reuse, authorization-code reuse): session.revoked is
	// kept for people's own sessions.
	EventOAuthGrantRevoked EventType = "oauth_grant.revoked"

	// OpenID Connect back-channel logout (docs/oidc.md): the outcome of
	// each delivery of a logout token, and RP-initiated logout.
	EventBackchannelDelivered EventType = "backchannel_logout.delivered"
	EventBackchannelFailed    EventType = "backchannel_logout.failed"
	EventRPLogout             EventType = "oidc.logout"
)

// Signing in with another provider (docs/federation.md).
const (
	EventIdentityLinked   EventType = "identity.linked"
	EventIdentityUnlinked EventType = "identity.unlinked"
	EventDomainAdded      EventType = "domain.added"
	EventDomainVerified   EventType = "domain.verified"
	EventProviderCreated  EventType = "provider.created"
	EventProviderDeleted  EventType = "provider.deleted"
)

// Events of account self-service (docs/reference.md section 16).
const (
	EventEmailVerified          EventType = "email.verified"
	EventSignupExistingAddress  EventType = "signup.existing_address"
	EventPasswordResetRequested EventType = "password_reset.requested"
	EventPasswordChanged        EventType = "password.changed"
	EventEmailChanged           EventType = "email.changed"
	EventAccountDeleted         EventType = "account.deleted"
	EventInvitationCreated      EventType = "invitation.created"
	EventInvitationAccepted     EventType = "invitation.accepted"
	EventInvitationRevoked      EventType = "invitation.revoked"
)

// Outcome says whether the recorded action succeeded.
type Outcome string

// The outcomes of an audit event.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// AuditEvent is one record of the audit trail. It is data, written in the same
// transaction as the change it records; package audit redacts it before it is
// stored or logged.
type AuditEvent struct {
	ID          string
	Time        time.Time
	Type        EventType
	Outcome     Outcome
	Actor       string // user id, "client:<id>", "pat:<id>", "system" or "" when unknown
	Target      string // what was acted on, e.g. "user:<id>", "session:<id>"
	WorkspaceID string // empty for events outside any workspace
	IP          string // cut to /24 (IPv4) or /48 (IPv6) before storage
	UserAgent   string // cut short before storage
	RequestID   string
	Details     map[string]string
}

// AuditFilter selects audit events. The zero value selects everything the
// transaction's Scope lets it see, newest first.
type AuditFilter struct {
	WorkspaceID string // required for the workspace listing; empty: instance-wide (admins)
	Type        EventType
	Actor       string
	Since       time.Time // inclusive; zero: no bound
	Until       time.Time // exclusive; zero: no bound
	Before      string    // cursor: only events with an id below this one
	Limit       int       // at most MaxAuditPage
}

// MaxAuditPage bounds one page of audit events.
const MaxAuditPage = 200

// AuditTx is the part of a transaction that writes and reads the audit trail.
// The server's database role may only insert and select audit rows.
type AuditTx interface {
	AppendAuditEvent(ctx context.Context, ev *AuditEvent) error
	// AuditEvents returns events matching f, newest (highest id) first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
}
