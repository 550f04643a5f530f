package ratelimit

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The names of gatehouse's policies. The part before the dot is the surface,
// the part after it what the key is made of. docs/rate-limits.md documents
// each with its default.
const (
	SignupIP            = "signup.ip"
	SignupEmail         = "signup.email" // the email being signed up
	TokenIP             = "token.ip"
	TokenAccount        = "token.account" // the email being signed in to
	MagicLinkIP         = "magic_link.ip"
	MagicLinkEmail      = "magic_link.email"
	MagicLinkVerifyIP   = "magic_link_verify.ip"
	RefreshIP           = "refresh.ip"
	RefreshToken        = "refresh.token" // the presented refresh token (hashed)
	OAuthTokenIP        = "oauth_token.ip"
	OAuthTokenClient    = "oauth_token.client"
	IntrospectIP        = "introspect.ip"
	IntrospectClient    = "introspect.client"
	PATCreateIP         = "pat_create.ip"
	PATCreateUser       = "pat_create.user"
	WorkspaceCreateIP   = "workspace_create.ip"
	WorkspaceCreateUser = "workspace_create.user" // the caller's user id
	MemberAddIP         = "member_add.ip"
	MemberAddUser       = "member_add.user"     // the caller's user id
	FailedAuthIP        = "failed_auth.ip"      // ceiling, not a rate: only failures count
	FailedAuthAccount   = "failed_auth.account" // ceiling, not a rate: only failures count
	FailedAuthDevice    = "failed_auth.device"  // ceiling per device cookie (docs/rate-limits.md)
	UserInfoIP          = "userinfo.ip"         // GET and POST /v1/oauth/userinfo (OpenID Connect)
	OIDCLogoutIP        = "oidc_logout.ip"      // GET and POST /v1/oauth/logout (RP-initiated logout)
	configVariableName  = "GATEHOUSE_RATE_LIMITS"
)

// The policies of signing in with another provider (docs/federation.md).
const (
	FederationStartIP    = "federation_start.ip"
	FederationCallbackIP = "federation_callback.ip"
	IdentityIP           = "identity.ip" // linking and unlinking
	DomainIP             = "domain.ip"   // claiming and verifying domains (DNS look-ups)
)

// The policies of account self-service (docs/reference.md section 16).
const (
	PasswordResetIP    = "password_reset.ip"
	PasswordResetEmail = "password_reset.email" // past it: 202 and nothing sent
	AccountTokenIP     = "account_token.ip"     // verify-email, reset confirm, confirm-email, invitation accept
	AccountChangeUser  = "account_change.user"  // the caller's user id: email change, deletion, invitations
)

// The policies of second factors and passkeys (docs/mfa.md), per client IP.
const (
	MFAVerifyIP = "mfa_verify.ip" // /v1/auth/mfa/verify and its passkey options
	PasskeyIP   = "passkey.ip"    // passwordless passkey options and sign-in
	MFAManageIP = "mfa_manage.ip" // enrolment, removal, recovery codes
	ReauthIP    = "reauth.ip"     // /v1/auth/reauthenticate
)

// The policy of a person's connected apps (docs/oidc.md), per client IP:
// each request reads every workspace the person belongs to.
const MyGrantsIP = "my_grants.ip" // GET /v1/me/grants, DELETE /v1/me/grants/{id}

// Policies is the table of named policies in force.
type Policies map[string]Policy

// DefaultPolicies returns the default table (docs/rate-limits.md).
func DefaultPolicies() Policies {
	ps := Policies{}
	for _, p := range []Policy{
		{SignupIP, 10, time.Hour},
		{SignupEmail, 5, time.Hour},
		{TokenIP, 30, time.Minute},
		{TokenAccount, 10, time.Minute},
		{MagicLinkIP, 20, time.Hour},
		{MagicLinkEmail, 5, time.Hour},
		{MagicLinkVerifyIP, 30, time.Minute},
		{RefreshIP, 120, time.Minute},
		{RefreshToken, 10, time.Minute},
		{OAuthTokenIP, 120, time.Minute},
		{OAuthTokenClient, 60, time.Minute},
		{IntrospectIP, 1200, time.Minute},
		{IntrospectClient, 600, time.Minute},
		{PATCreateIP, 30, time.Hour},
		{PATCreateUser, 20, time.Hour},
		{WorkspaceCreateIP, 30, time.Hour},
		{WorkspaceCreateUser, 10, time.Hour},
		{MemberAddIP, 300, time.Hour},
		{MemberAddUser, 100, time.Hour},
		{FailedAuthIP, 100, 15 * time.Minute},
		{FailedAuthAccount, 10, 15 * time.Minute},
		{FailedAuthDevice, 10, 15 * time.Minute},
		{FederationStartIP, 30, time.Minute},
		{FederationCallbackIP, 30, time.Minute},
		{IdentityIP, 30, time.Hour},
		{DomainIP, 60, time.Hour},
		{PasswordResetIP, 20, time.Hour},
		{PasswordResetEmail, 5, time.Hour},
		{AccountTokenIP, 30, time.Minute},
		{AccountChangeUser, 60, time.Hour},
		{UserInfoIP, 600, time.Minute},
		{OIDCLogoutIP, 60, time.Minute},
		{MFAVerifyIP, 30, time.Minute},
		{PasskeyIP, 60, time.Minute},
		{MFAManageIP, 60, time.Hour},
		{ReauthIP, 30, time.Minute},
		{MyGrantsIP, 60, time.Minute},
	} {
		ps[p.Name] = p
	}
	return ps
}

// Names returns the policy names in order.
func (ps Policies) Names() []string {
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParsePolicies returns the default table with the overrides in s applied.
// s is what GATEHOUSE_RATE_LIMITS holds: comma-separated "name=limit/window"
// entries, e.g. "token.ip=10/1m, failed_auth.account=5/30m", where window is
// a Go duration (1s to 168h) and limit 1 to 1000000. An unknown name, a bad
// number or a duplicate is an error; there is no way to switch a policy off
// (docs/reference.md §10: limits never silently stop), only to make it generous.
func ParsePolicies(s string) (Policies, error) {
	ps := DefaultPolicies()
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, rate, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return nil, fmt.Errorf("%s: %q: want name=limit/window", configVariableName, part)
		}
		if _, known := ps[name]; !known {
			return nil, fmt.Errorf("%s: unknown policy %q (known: %s)", configVariableName, name, strings.Join(ps.Names(), ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: policy %q given twice", configVariableName, name)
		}
		seen[name] = true
		p, err := parseRate(name, strings.TrimSpace(rate))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", configVariableName, err)
		}
		ps[name] = p
	}
	return ps, nil
}

func parseRate(name, rate string) (Policy, error) {
	n, w, ok := strings.Cut(rate, "/")
	if !ok {
		return Policy{}, fmt.Errorf("policy %s: %q: want limit/window, e.g. 10/1m", name, rate)
	}
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil {
		return Policy{}, fmt.Errorf("policy %s: limit %q is not a whole number", name, n)
	}
	window, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil {
		return Policy{}, fmt.Errorf("policy %s: window %q is not a Go duration such as 1m or 15m", name, w)
	}
	p := Policy{Name: name, Limit: limit, Window: window}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// fmtWindow writes d the short way: 1m rather than 1m0s.
func fmtWindow(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
