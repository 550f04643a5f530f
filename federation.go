package gatehouse

import (
	"context"
	"time"
)

// Signing in with another provider (docs/federation.md): upstream OpenID
// Connect providers and GitHub, the identities they prove, the workspace
// domains a workspace's provider may serve, and the single-use state of a
// sign-in in flight.

// MethodFederated is the SessionMethod of a sign-in through an upstream
// provider.
const MethodFederated SessionMethod = "federated"

// FederatedFactor is a sign-in proven by an upstream provider: an id_token
// verified against its JWKS, or GitHub's API answering for its OAuth token.
type FederatedFactor struct{ ProviderID string }

// AMR is "fed" (RFC 8176 section 2: federated authentication).
func (FederatedFactor) AMR() string { return "fed" }

// Method is MethodFederated.
func (FederatedFactor) Method() SessionMethod { return MethodFederated }

// The kinds of upstream provider.
const (
	ProviderOIDC   = "oidc"   // OpenID Connect: discovery, id_token
	ProviderGitHub = "github" // OAuth 2.0 and GitHub's user and emails API
)

// Provider is an upstream identity provider registered by the operator. Its
// client secret is stored only sealed under the key-encryption key (package
// kms). A provider with a WorkspaceID serves only people whose email is in
// one of Domains, once that workspace has proven the domain.
type Provider struct {
	ID           string
	Name         string
	Kind         string // ProviderOIDC or ProviderGitHub
	Issuer       string // OIDC: the issuer; GitHub: its web base URL
	ClientID     string
	SealedSecret []byte   // the client secret, sealed (kms.Seal, aad: the provider id)
	Scopes       []string // OIDC: besides "openid"
	WorkspaceID  string   // "": every account of the instance
	Domains      []string // with WorkspaceID: the email domains it serves
	AuthURL      string   // GitHub: overrides of its endpoints (tests, GitHub Enterprise)
	TokenURL     string
	APIURL       string
	CreatedAt    time.Time
}

// Identity is an account's identity at an upstream provider: the pair
// (provider, subject), which belongs to one account at most.
type Identity struct {
	ID         string
	UserID     string
	ProviderID string
	Subject    string
	Email      string // what the provider said when it was linked, for display
	CreatedAt  time.Time
}

// WorkspaceDomain is an email domain a workspace claims. It counts once
// VerifiedAt is set: the workspace published `gatehouse-verify=<Token>` in
// a TXT record at `_gatehouse.<Domain>`.
type WorkspaceDomain struct {
	ID          string
	WorkspaceID string
	Domain      string
	Token       string // not a secret: it is published in DNS
	CreatedAt   time.Time
	VerifiedAt  time.Time // zero until proven
}

// FederationState is a sign-in (or a link) in flight: the single-use state
// sent to the provider, stored as its SHA-256 with the SHA-256 of the
// browser cookie it is bound to. The nonce and the PKCE verifier are not
// stored: they are derived from the cookie and the state (package auth).
type FederationState struct {
	Hash        []byte // SHA-256 of the state
	BrowserHash []byte // SHA-256 of the browser binding; empty for a link ticket
	ProviderID  string
	WorkspaceID string // the provider's workspace at the start, checked at the callback
	LinkUserID  string // set: link the identity to this account instead of signing in
	ReturnTo    string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time
}

// UpstreamIdentity is what a connector verified about the person.
type UpstreamIdentity struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// AuthRequest is one run of the authorization-code flow with an upstream
// provider: state, nonce and PKCE verifier (RFC 7636; the connector sends
// its S256 challenge), and gatehouse's callback URL.
type AuthRequest struct {
	State       string
	Nonce       string
	Verifier    string
	RedirectURI string
}

// Connector speaks to one upstream provider (as Dex's connectors do). Its
// implementations live in package federation, which does the HTTP.
type Connector interface {
	// AuthURL is where the browser is sent: the provider's authorization
	// endpoint with client_id, redirect_uri, scope, state, nonce and
	// code_challenge (S256).
	AuthURL(req AuthRequest) string
	// Identity exchanges code (with the PKCE verifier) and returns the
	// verified person: for OpenID Connect, from an id_token whose signature
	// (the provider's JWKS), iss, aud, azp when present, exp and nonce were
	// checked.
	Identity(ctx context.Context, code string, req AuthRequest) (*UpstreamIdentity, error)
}

// TXTResolver looks up the TXT records of a DNS name.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// FederationTx is the part of a transaction that reads and writes
// providers, identities, workspace domains and sign-in states.
type FederationTx interface {
	CreateProvider(ctx context.Context, p *Provider) error
	// ProviderByID returns ErrNotFound when there is none.
	ProviderByID(ctx context.Context, id string) (*Provider, error)
	// Providers lists every provider, oldest first.
	Providers(ctx context.Context) ([]*Provider, error)
	DeleteProvider(ctx context.Context, id string) error

	// CreateIdentity inserts i; ErrConflict when (provider, subject) is taken.
	CreateIdentity(ctx context.Context, i *Identity) error
	// IdentityBySubject returns ErrNotFound when the pair is unknown.
	IdentityBySubject(ctx context.Context, providerID, subject string) (*Identity, error)
	// IdentitiesForUser lists userID's identities, oldest first.
	IdentitiesForUser(ctx context.Context, userID string) ([]*Identity, error)
	// DeleteIdentity deletes userID's identity id; ErrNotFound when it has none.
	DeleteIdentity(ctx context.Context, userID, id string) error

	// CreateFederationState inserts s.
	CreateFederationState(ctx context.Context, s *FederationState) error
	// ConsumeFederationState marks the state with this hash used, in one
	// statement, if it is unused and unexpired at now, and returns it;
	// ErrNotFound otherwise. Of concurrent consumptions, one succeeds.
	ConsumeFederationState(ctx context.Context, hash []byte, now time.Time) (*FederationState, error)

	// CreateDomain inserts d (workspace-scoped).
	CreateDomain(ctx context.Context, d *WorkspaceDomain) error
	// DomainByID returns ErrNotFound when workspaceID has no such domain.
	DomainByID(ctx context.Context, workspaceID, id string) (*WorkspaceDomain, error)
	// Domains lists workspaceID's domains, oldest first.
	Domains(ctx context.Context, workspaceID string) ([]*WorkspaceDomain, error)
	// MarkDomainVerified sets VerifiedAt; ErrConflict when another
	// workspace has already proven the same domain.
	MarkDomainVerified(ctx context.Context, workspaceID, id string, now time.Time) error
	// DomainVerified reports whether workspaceID has proven domain.
	DomainVerified(ctx context.Context, workspaceID, domain string) (bool, error)
}
