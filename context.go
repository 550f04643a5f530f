package gatehouse

import "context"

// PrincipalKind says which credential authenticated a caller.
type PrincipalKind string

// The kinds of credential a request can carry.
const (
	KindSession PrincipalKind = "session" // a person's access token (JWT with sid)
	KindPAT     PrincipalKind = "pat"     // a personal access token
	KindClient  PrincipalKind = "client"  // an OAuth client's access token
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Kind        PrincipalKind
	UserID      string   // empty for a client acting for itself
	SessionID   string   // KindSession only
	TokenID     string   // KindPAT: the PAT's id
	ClientID    string   // KindClient, or the client a session came through
	WorkspaceID string   // KindPAT and KindClient: the only workspace it may touch
	Scopes      []string // granted scopes; empty for a full session
	Admin       bool     // instance admin (read from the user at authentication)
}

// HasScope reports whether p may act with scope s. A person's own session
// carries every scope; PATs and clients carry only what they were granted.
func (p *Principal) HasScope(s string) bool {
	if p.Kind == KindSession {
		return true
	}
	for _, g := range p.Scopes {
		if g == s {
			return true
		}
	}
	return false
}

// RequestInfo describes the request behind an action, for audit events and
// session records. Package httpapi fills it; package auth reads it.
type RequestInfo struct {
	RequestID string
	IP        string // the client address as resolved through trusted proxies
	UserAgent string
}

type principalKey struct{}
type requestInfoKey struct{}

// NewContextWithPrincipal returns a copy of ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the caller in ctx, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// NewContextWithRequestInfo returns a copy of ctx carrying ri.
func NewContextWithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFromContext returns the request info in ctx (zero if none).
func RequestInfoFromContext(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri
}
