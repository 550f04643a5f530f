package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/web"
)

// portal serves the web portal's pages and files with their own security
// headers (Content-Security-Policy, Referrer-Policy, …).
var portal = web.Handler()

// route is one entry of the route table.
type route struct {
	pattern string // a ServeMux pattern with its method: "GET /v1/workspaces"
	handler http.Handler
}

// routes is the one table of every route gatehouse serves. docs/openapi.yaml
// documents each of them; TestOpenAPICoversRoutes fails when one is missing.
// Handlers under /v1/ that act for a caller are wrapped in requireAuth.
func (s *Server) routes() []route {
	return []route{
		// Operations.
		{"GET /healthz", s.handle(s.healthz)},
		{"GET /readyz", s.handle(s.readyz)},
		{metricsRoute, metricsHandler(s.registry)},

		// The web portal (package web, docs/reference.md §12): / and one-segment static
		// files (/magic-link, /app.js, /sw.js, …); any other name is its 404.
		{"GET /{$}", portal},
		{"GET /{file}", portal},

		// The caller.
		{"GET /v1/me", s.requireAuth(s.handle(s.me))},
		// Signing keys (docs/reference.md §7).
		{"GET /.well-known/jwks.json", s.handle(s.jwks)},

		// Personal access tokens (docs/reference.md §5).
		{"POST /v1/tokens", s.limit(s.requireAuth(s.handle(s.createToken)), ratelimit.PATCreateIP)},
		{"GET /v1/tokens", s.requireAuth(s.handle(s.listTokens))},
		{"GET /v1/tokens/{id}", s.requireAuth(s.handle(s.getToken))},
		{"PATCH /v1/tokens/{id}", s.requireAuth(s.handle(s.updateToken))},
		{"DELETE /v1/tokens/{id}", s.requireAuth(s.handle(s.deleteToken))},

		// Workspaces, members and their audit trail (docs/reference.md §8).
		{"POST /v1/workspaces", s.limit(s.requireAuth(s.handle(s.createWorkspace)), ratelimit.WorkspaceCreateIP)},
		{"GET /v1/workspaces", s.requireAuth(s.handle(s.listWorkspaces))},
		{"GET /v1/workspaces/{id}", s.requireAuth(s.handle(s.getWorkspace))},
		{"POST /v1/workspaces/{id}/members", s.limit(s.requireAuth(s.handle(s.addMember)), ratelimit.MemberAddIP)},
		{"GET /v1/workspaces/{id}/members", s.requireAuth(s.handle(s.listMembers))},
		{"PATCH /v1/workspaces/{id}/members/{user_id}", s.requireAuth(s.handle(s.updateMember))},
		{"DELETE /v1/workspaces/{id}/members/{user_id}", s.requireAuth(s.handle(s.removeMember))},
		{"GET /v1/workspaces/{id}/audit-events", s.requireAuth(s.handle(s.workspaceAuditEvents))},
		{"POST /v1/workspaces/{id}/clients", s.requireAuth(s.handle(s.createClient))},
		{"GET /v1/workspaces/{id}/clients", s.requireAuth(s.handle(s.listClients))},
		{"GET /v1/workspaces/{id}/clients/{client_id}", s.requireAuth(s.handle(s.getClient))},
		{"DELETE /v1/workspaces/{id}/clients/{client_id}", s.requireAuth(s.handle(s.deleteClient))},
		{"POST /v1/workspaces/{id}/clients/{client_id}/secret", s.requireAuth(s.handle(s.rotateClientSecret))},

		// OAuth 2.0 (docs/reference.md §6, docs/oauth.md). The per-client policies and
		// the failed-auth ceilings apply in auth's client authentication (the
		// credential guard) before the client secret is checked; revocation
		// shares introspection's.
		{"GET /v1/oauth/authorize", http.HandlerFunc(s.oauthAuthorize)},
		{"POST /v1/oauth/authorize", http.HandlerFunc(s.oauthDecide)},
		{"POST /v1/oauth/token", s.limit(s.handleOAuth(s.oauthToken), ratelimit.OAuthTokenIP)},
		{"POST /v1/oauth/introspect", s.limit(s.handleOAuth(s.oauthIntrospect), ratelimit.IntrospectIP)},
		{"POST /v1/oauth/revoke", s.limit(s.handleOAuth(s.oauthRevoke), ratelimit.IntrospectIP)},
		{"GET /.well-known/oauth-authorization-server", s.handle(s.discovery)},
		{"GET /.well-known/openid-configuration", s.handle(s.discovery)},

		// People's sessions (docs/reference.md §3).
		{"POST /v1/auth/signup", s.limit(s.admitHashing(s.handle(s.withSessions(s.signup))), ratelimit.SignupIP)},
		{"POST /v1/auth/token", s.limit(s.admitHashing(s.handle(s.withSessions(s.passwordToken))), ratelimit.TokenIP)},
		{"POST /v1/auth/magic-link", s.limit(s.handle(s.withSessions(s.magicLink)), ratelimit.MagicLinkIP)},
		{"POST /v1/auth/magic-link/verify", s.limit(s.handle(s.withSessions(s.magicLinkVerify)), ratelimit.MagicLinkVerifyIP)},
		{"POST /v1/auth/refresh", s.limit(s.handle(s.withSessions(s.refresh)), ratelimit.RefreshIP)},
		// Logout shares refresh's per-IP policy: it derives forward from the
		// presented token as a refresh does (up to 20,000 HMACs).
		{"POST /v1/auth/logout", s.limit(s.handle(s.withSessions(s.logout)), ratelimit.RefreshIP)},
		{"GET /v1/auth/sessions", s.requireAuth(s.handle(s.withSessions(s.listSessions)))},
		{"DELETE /v1/auth/sessions/{id}", s.requireAuth(s.handle(s.withSessions(s.revokeSession)))},

		// Signing in with another provider (docs/federation.md): the public
		// list, the flow (per-IP limits on start and callback), the caller's
		// identities and a workspace's domains.
		{"GET /v1/auth/providers", s.handle(s.withFederation(s.listProviders))},
		{"GET /v1/auth/providers/{id}/start", s.limit(s.handle(s.withFederation(s.startProvider)), ratelimit.FederationStartIP)},
		{"GET /v1/auth/providers/{id}/callback", s.limit(s.handle(s.withFederation(s.providerCallback)), ratelimit.FederationCallbackIP)},
		{"GET /v1/me/identities", s.requireAuth(s.handle(s.withFederation(s.listIdentities)))},
		{"POST /v1/me/identities", s.limit(s.requireAuth(s.handle(s.withFederation(s.linkIdentity))), ratelimit.IdentityIP)},
		{"DELETE /v1/me/identities/{id}", s.limit(s.requireAuth(s.handle(s.withFederation(s.unlinkIdentity))), ratelimit.IdentityIP)},
		{"POST /v1/workspaces/{id}/domains", s.limit(s.requireAuth(s.handle(s.withFederation(s.addDomain))), ratelimit.DomainIP)},
		{"GET /v1/workspaces/{id}/domains", s.requireAuth(s.handle(s.withFederation(s.listDomains)))},
		{"POST /v1/workspaces/{id}/domains/{domain_id}/verify", s.limit(s.requireAuth(s.handle(s.withFederation(s.verifyDomain))), ratelimit.DomainIP)},
		// Account self-service (docs/reference.md section 16, account.go):
		// verification, password reset and change, email change, deletion,
		// invitations and the admin's user search. Emailed tokens share
		// account_token.ip; the per-address and per-user policies apply in
		// auth (the guard).
		{"POST /v1/auth/verify-email", s.limit(s.handle(s.withSessions(s.verifyEmail)), ratelimit.AccountTokenIP)},
		{"POST /v1/auth/password-reset", s.limit(s.handle(s.withSessions(s.passwordReset)), ratelimit.PasswordResetIP)},
		{"POST /v1/auth/password-reset/confirm", s.limit(s.handle(s.withSessions(s.passwordResetConfirm)), ratelimit.AccountTokenIP)},
		{"POST /v1/auth/confirm-email", s.limit(s.handle(s.withSessions(s.confirmEmail)), ratelimit.AccountTokenIP)},
		{"POST /v1/me/password", s.limit(s.requireAuth(s.handle(s.withSessions(s.changePassword))), ratelimit.TokenIP)},
		{"POST /v1/me/email", s.requireAuth(s.handle(s.withSessions(s.changeEmail)))},
		{"DELETE /v1/me", s.requireAuth(s.handle(s.withSessions(s.deleteMe)))},
		{"POST /v1/workspaces/{id}/invitations", s.requireAuth(s.handle(s.withSessions(s.createInvitation)))},
		{"GET /v1/workspaces/{id}/invitations", s.requireAuth(s.handle(s.withSessions(s.listInvitations)))},
		{"DELETE /v1/workspaces/{id}/invitations/{invitation_id}", s.requireAuth(s.handle(s.withSessions(s.revokeInvitation)))},
		{"POST /v1/invitations/accept", s.limit(s.requireAuth(s.handle(s.withSessions(s.acceptInvitation))), ratelimit.AccountTokenIP)},
		{"GET /v1/admin/users", s.requireAuth(s.handle(s.withSessions(s.adminUsers)))},
		// OpenID Connect (docs/oidc.md): userinfo, Bearer only (the Bearer
		// check refuses an id_token: its typ is JWT, not at+jwt).
		{"GET /v1/oauth/userinfo", s.limit(s.requireAuth(s.handle(s.userinfo)), ratelimit.UserInfoIP)},
		{"POST /v1/oauth/userinfo", s.limit(s.requireAuth(s.handle(s.userinfo)), ratelimit.UserInfoIP)},
		// RP-initiated logout: a valid id_token_hint, or a confirmation form.
		{"GET /v1/oauth/logout", s.limit(http.HandlerFunc(s.oidcLogout), ratelimit.OIDCLogoutIP)},
		{"POST /v1/oauth/logout", s.limit(http.HandlerFunc(s.oidcLogoutConfirm), ratelimit.OIDCLogoutIP)},
		// Second factors and passkeys (docs/mfa.md). Enrolment is for a
		// person's session; the sign-in steps carry the guard's failed-auth
		// ceilings in auth.
		{"POST /v1/mfa/totp", s.limit(s.requireAuth(s.handle(s.withMFA(s.enrolTOTP))), ratelimit.MFAManageIP)},
		{"POST /v1/mfa/totp/{id}/confirm", s.limit(s.requireAuth(s.handle(s.withMFA(s.confirmTOTP))), ratelimit.MFAManageIP)},
		{"POST /v1/webauthn/registration/options", s.limit(s.requireAuth(s.handle(s.withMFA(s.passkeyRegistrationOptions))), ratelimit.MFAManageIP)},
		{"POST /v1/webauthn/registration", s.limit(s.requireAuth(s.handle(s.withMFA(s.registerPasskey))), ratelimit.MFAManageIP)},
		{"GET /v1/mfa/factors", s.requireAuth(s.handle(s.withMFA(s.listFactors)))},
		{"DELETE /v1/mfa/factors/{id}", s.limit(s.requireAuth(s.handle(s.withMFA(s.removeFactor))), ratelimit.MFAManageIP)},
		{"POST /v1/mfa/recovery-codes", s.limit(s.requireAuth(s.handle(s.withMFA(s.recoveryCodes))), ratelimit.MFAManageIP)},
		{"POST /v1/auth/mfa/verify", s.limit(s.handle(s.withMFA(s.verifyMFA)), ratelimit.MFAVerifyIP)},
		{"POST /v1/auth/mfa/webauthn/options", s.limit(s.handle(s.withMFA(s.mfaWebAuthnOptions)), ratelimit.MFAVerifyIP)},
		{"POST /v1/auth/passkey/options", s.limit(s.handle(s.withMFA(s.passkeyOptions)), ratelimit.PasskeyIP)},
		{"POST /v1/auth/passkey", s.limit(s.handle(s.withMFA(s.passkeyLogin)), ratelimit.PasskeyIP)},
		{"POST /v1/auth/reauthenticate", s.limit(s.requireAuth(s.handle(s.withMFA(s.reauthenticate))), ratelimit.ReauthIP)},
		{"POST /v1/auth/reauthenticate/webauthn/options", s.limit(s.requireAuth(s.handle(s.withMFA(s.reauthOptions))), ratelimit.ReauthIP)},
		{"PATCH /v1/workspaces/{id}", s.requireAuth(s.handle(s.updateWorkspacePolicy))},

		// Connected apps (docs/oidc.md, "In the portal"): the caller's own
		// OAuth grants; revoking one ends it and tells the application by
		// back-channel logout.
		{"GET /v1/me/grants", s.limit(s.requireAuth(s.handle(s.listMyGrants)), ratelimit.MyGrantsIP)},
		{"DELETE /v1/me/grants/{id}", s.limit(s.requireAuth(s.handle(s.revokeMyGrant)), ratelimit.MyGrantsIP)},

		// Instance administration.
		{"GET /v1/admin/audit-events", s.requireAuth(s.handle(s.adminAuditEvents))},
		{"PATCH /v1/admin/users/{id}", s.requireAuth(s.handle(s.withSessions(s.setUserStatus)))},
	}
}
