package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/kms"
)

// Federation signs people in with upstream providers (OpenID Connect,
// GitHub), links and unlinks their identities, and proves workspace domains
// (docs/federation.md). The HTTP of the upstream calls lives behind
// gatehouse.Connector (package federation); this file decides.
//
// The flow is the authorization-code flow with state, nonce and PKCE S256
// (RFC 6749 section 10.12, OpenID Connect Core 3.1.2.1, RFC 7636; RFC 9700
// section 2.1): Start makes a random state and a random browser binding
// (which the HTTP layer puts in a short-lived cookie); only their SHA-256
// are stored, and the nonce and PKCE verifier are HMACs of the state under
// the binding, so they are never stored and only the browser that started
// the flow can finish it. Finish consumes the state once.
type Federation struct {
	*Core
	cfg      FederationConfig
	sessions *SessionKeeper

	mu    sync.Mutex
	cache map[string]cachedConnector
}

// ConnectFunc builds the connector of a provider from its client secret
// (federation.Connectors.Connect).
type ConnectFunc func(ctx context.Context, p *gatehouse.Provider, secret string) (gatehouse.Connector, error)

// FederationConfig configures Federation.
type FederationConfig struct {
	KEK       kms.KEK     // seals client secrets; required
	Connect   ConnectFunc // required
	Resolver  gatehouse.TXTResolver
	PublicURL string // GATEHOUSE_PUBLIC_URL: the callback is under it
	// StateTTL is how long a sign-in may take at the provider (default 10m).
	StateTTL time.Duration
	// ConnectorTTL is how long a built connector (and so the provider's
	// discovery document) is reused before it is built again (default 1h).
	ConnectorTTL time.Duration
}

type cachedConnector struct {
	conn    gatehouse.Connector
	expires time.Time
}

// The defaults of FederationConfig.
const (
	DefaultFederationStateTTL = 10 * time.Minute
	DefaultConnectorTTL       = time.Hour
	linkTicketTTL             = 5 * time.Minute
)

// NewFederation returns the federation service.
func NewFederation(core *Core, sessions *Sessions, cfg FederationConfig) (*Federation, error) {
	if cfg.KEK == nil || cfg.Connect == nil || sessions == nil {
		return nil, errors.New("auth: federation needs a KEK, a connector builder and the sessions")
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = DefaultFederationStateTTL
	}
	if cfg.ConnectorTTL <= 0 {
		cfg.ConnectorTTL = DefaultConnectorTTL
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Federation{Core: core, cfg: cfg, sessions: sessions.SessionKeeper, cache: map[string]cachedConnector{}}, nil
}

// ProviderSpec is what the operator gives `gatehouse providers create`.
type ProviderSpec struct {
	Name, Kind, Issuer, ClientID, ClientSecret string
	Scopes                                     []string
	WorkspaceID                                string
	Domains                                    []string
	AuthURL, TokenURL, APIURL                  string
}

// CreateProvider registers an upstream provider (the CLI). The client
// secret is sealed under the KEK, bound to the provider's id.
func (f *Federation) CreateProvider(ctx context.Context, in ProviderSpec) (*gatehouse.Provider, error) {
	name, err := ValidName("name", in.Name)
	if err != nil {
		return nil, err
	}
	if in.Kind == "" {
		in.Kind = gatehouse.ProviderOIDC
	}
	if in.Kind != gatehouse.ProviderOIDC && in.Kind != gatehouse.ProviderGitHub {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "kind must be oidc or github")
	}
	if in.ClientID == "" || len(in.ClientID) > 512 || in.ClientSecret == "" || len(in.ClientSecret) > 4096 {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "a client id and a client secret are required")
	}
	if in.Issuer == "" {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "an issuer URL is required")
	}
	if (in.WorkspaceID == "") != (len(in.Domains) == 0) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "a workspace's provider takes --workspace and at least one --domain")
	}
	if in.WorkspaceID != "" && !gatehouse.ValidID(in.WorkspaceID) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "workspace is not a workspace id")
	}
	var domains []string
	for _, d := range in.Domains {
		nd, err := normalizeDomain(d)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(domains, nd) {
			domains = append(domains, nd)
		}
	}
	for _, s := range in.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") || len(s) > 200 {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "a scope is one word")
		}
	}
	now := f.now()
	p := &gatehouse.Provider{ID: gatehouse.NewID(now), Name: name, Kind: in.Kind, Issuer: in.Issuer, ClientID: in.ClientID,
		Scopes: in.Scopes, WorkspaceID: in.WorkspaceID, Domains: domains, AuthURL: in.AuthURL, TokenURL: in.TokenURL, APIURL: in.APIURL, CreatedAt: now}
	if p.SealedSecret, err = kms.Seal(ctx, f.cfg.KEK, []byte(in.ClientSecret), providerAAD(p.ID)); err != nil {
		return nil, err
	}
	err = f.InTx(ctx, gatehouse.Scope{WorkspaceID: in.WorkspaceID}, func(t *Tx) error {
		if in.WorkspaceID != "" {
			if _, err := t.WorkspaceByID(ctx, in.WorkspaceID); err != nil {
				return gatehouse.Errorf(gatehouse.ENotFound, "no such workspace")
			}
		}
		if err := t.CreateProvider(ctx, p); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return gatehouse.Errorf(gatehouse.EConflict, "a provider with this name exists")
			}
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventProviderCreated, Actor: "system", Target: "provider:" + p.ID,
			WorkspaceID: in.WorkspaceID, Details: map[string]string{"kind": p.Kind, "name": p.Name}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func providerAAD(id string) []byte { return []byte("gatehouse provider secret " + id) }

// Providers lists every provider (the CLI, and the public list, which shows
// only id and name).
func (f *Federation) Providers(ctx context.Context) ([]*gatehouse.Provider, error) {
	var out []*gatehouse.Provider
	err := f.Store.Tx(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		var err error
		out, err = t.Providers(ctx)
		return err
	})
	return out, err
}

// provider reads provider id, whatever its workspace (a door for reading
// one row: the start and the callback name a provider before its workspace
// is known); errNoProvider when there is none.
func (f *Federation) provider(ctx context.Context, id string) (*gatehouse.Provider, error) {
	if !gatehouse.ValidID(id) {
		return nil, errNoProvider
	}
	var p *gatehouse.Provider
	err := f.Store.Tx(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		var err error
		p, err = t.ProviderByID(ctx, id)
		return err
	})
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, errNoProvider
	}
	return p, err
}

// DeleteProvider removes a provider with its identities (the CLI).
func (f *Federation) DeleteProvider(ctx context.Context, id string) error {
	p, err := f.provider(ctx, id)
	if err != nil {
		return err
	}
	err = f.InTx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID}, func(t *Tx) error {
		if err := t.DeleteProvider(ctx, id); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventProviderDeleted, Actor: "system", Target: "provider:" + id,
			WorkspaceID: p.WorkspaceID, Details: map[string]string{"name": p.Name}})
	})
	f.mu.Lock()
	delete(f.cache, id)
	f.mu.Unlock()
	return err
}

// connector returns p's connector, built at most once per ConnectorTTL.
func (f *Federation) connector(ctx context.Context, p *gatehouse.Provider) (gatehouse.Connector, error) {
	now := f.Now()
	key := p.ID + "|" + p.CreatedAt.String()
	f.mu.Lock()
	c, ok := f.cache[key]
	f.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.conn, nil
	}
	secret, err := kms.Open(ctx, f.cfg.KEK, p.SealedSecret, providerAAD(p.ID))
	if err != nil {
		return nil, err
	}
	conn, err := f.cfg.Connect(ctx, p, string(secret))
	clear(secret)
	if err != nil {
		f.Log.ErrorContext(ctx, "upstream provider unavailable", "provider", p.ID, "error", err.Error())
		return nil, gatehouse.Wrap(gatehouse.EUnavailable, err, "the provider cannot be reached; try again later")
	}
	f.mu.Lock()
	if len(f.cache) > 1000 {
		clear(f.cache)
	}
	f.cache[key] = cachedConnector{conn: conn, expires: now.Add(f.cfg.ConnectorTTL)}
	f.mu.Unlock()
	return conn, nil
}

// CallbackURL is gatehouse's redirect URI at provider id.
func (f *Federation) CallbackURL(id string) string {
	return f.cfg.PublicURL + "/v1/auth/providers/" + id + "/callback"
}

var errNoProvider = gatehouse.Errorf(gatehouse.ENotFound, "no such provider")

// derive is HMAC-SHA256(binding, label || 0 || state), base64url: the nonce
// and the PKCE verifier (43 characters, RFC 7636 section 4.1).
func derive(binding, label, state string) string {
	m := hmac.New(sha256.New, []byte(binding))
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(state))
	return b64url.EncodeToString(m.Sum(nil))
}

func authRequest(binding, state, redirect string) gatehouse.AuthRequest {
	return gatehouse.AuthRequest{State: state, Nonce: derive(binding, "nonce", state), Verifier: derive(binding, "pkce", state), RedirectURI: redirect}
}

// Start begins a sign-in (or, with a link ticket from LinkURL, a link) at
// provider id. returnTo must already be checked by the caller (the HTTP
// layer knows the allowed origins). It returns where to send the browser
// and the binding to put in its cookie.
func (f *Federation) Start(ctx context.Context, id, returnTo, ticket, ticketBinding string) (redirect, binding string, err error) {
	// The guard (guard.go): a link ticket is a secret; and an address past
	// its failed-auth ceiling could not finish a sign-in anyway.
	pass, err := enter(ctx, Attempt{})
	if err != nil {
		return "", "", err
	}
	defer func() { pass.Done(ctx, err) }()
	p, err := f.provider(ctx, id)
	if err != nil {
		return "", "", err
	}
	var linkUser string
	now := f.now()
	state, err := newSecretToken()
	if err != nil {
		return "", "", err
	}
	if binding, err = newSecretToken(); err != nil {
		return "", "", err
	}
	// In the provider's workspace scope: the state (and a link ticket) of a
	// workspace's provider is visible only there.
	err = f.InTx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID}, func(t *Tx) error {
		if ticket != "" {
			tk, err := f.consumeTicket(ctx, t, ticket, now)
			if err != nil || tk.ProviderID != id ||
				len(tk.BrowserHash) != 0 && !hmac.Equal(hashToken(ticketBinding), tk.BrowserHash) {
				return CommitThen(errBadTicket)
			}
			linkUser, returnTo = tk.LinkUserID, tk.ReturnTo
		}
		return t.CreateFederationState(ctx, &gatehouse.FederationState{Hash: hashToken(state), BrowserHash: hashToken(binding),
			ProviderID: id, WorkspaceID: p.WorkspaceID, LinkUserID: linkUser, ReturnTo: returnTo, CreatedAt: now, ExpiresAt: now.Add(f.cfg.StateTTL)})
	})
	if err != nil {
		return "", "", err
	}
	conn, err := f.connector(ctx, p)
	if err != nil {
		return "", "", err
	}
	return conn.AuthURL(authRequest(binding, state, f.CallbackURL(id))), binding, nil
}

var errBadTicket = gatehouse.Errorf(gatehouse.EInvalidGrant, "the link request is invalid, expired or already used; start again from the portal")

func (f *Federation) consumeTicket(ctx context.Context, t *Tx, ticket string, now time.Time) (*gatehouse.FederationState, error) {
	if !validSecretToken(ticket) {
		return nil, errBadTicket
	}
	tk, err := t.ConsumeFederationState(ctx, ticketHash(ticket), now)
	if err != nil {
		return nil, err
	}
	if tk.LinkUserID == "" {
		return nil, errBadTicket
	}
	return tk, nil
}

// ticketHash is what a link ticket is stored as: a hash apart from a
// state's, so that neither can be presented as the other.
func ticketHash(ticket string) []byte { return hashToken("gatehouse link ticket\x00" + ticket) }

// Callback is what the provider sent back to the callback, and the
// browser's binding cookie.
type Callback struct {
	State, Code, Error, Binding string
}

// FederationResult is a finished callback: a new session (Tokens), a
// sign-in waiting for its second factor (MFA: its mfa_token and factors,
// docs/federation.md), or a link made (Linked), and where to send the
// browser.
type FederationResult struct {
	Tokens   *TokenResponse
	MFA      *MFARequiredError
	Linked   *gatehouse.Identity
	ReturnTo string
}

var (
	errBadState = gatehouse.Errorf(gatehouse.EInvalidGrant, "the sign-in is invalid, expired, already used or was started in another browser; start again")
	errExists   = gatehouse.Errorf(gatehouse.EConflict, "an account with this email address already exists: sign in to it the way you usually do, then link this provider from the portal")
	errNoEmail  = gatehouse.Errorf(gatehouse.EForbidden, "the provider did not vouch for a verified email address, so no account can be made from this sign-in")
	errDomain   = gatehouse.Errorf(gatehouse.EForbidden, "this provider signs in only people of its workspace's proven domains")
	errTaken    = gatehouse.Errorf(gatehouse.EConflict, "this identity is already linked to another account")
)

// Finish completes a callback at provider id: the state is consumed (once),
// must belong to this browser and to this provider and its workspace; the
// code is exchanged and the identity verified by the connector; then the
// person is signed in (or the identity linked). Every refusal changes
// nothing but the consumed state and a login.failed event.
func (f *Federation) Finish(ctx context.Context, id string, cb Callback) (res *FederationResult, err error) {
	pass, err := enter(ctx, Attempt{}) // the guard: the IP's failed-auth ceiling; a refusal here counts
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	fail := func(reason string, e error) error {
		f.recordFailure(ctx, id, "", reason)
		return e
	}
	if !gatehouse.ValidID(id) || !validSecretToken(cb.State) || !validSecretToken(cb.Binding) {
		return nil, fail("bad_state", errBadState)
	}
	now := f.now()
	p, err := f.provider(ctx, id)
	if errors.Is(err, errNoProvider) {
		return nil, fail("bad_state", errBadState)
	}
	if err != nil {
		return nil, err
	}
	// Consumed in the scope of the provider the callback arrived at: under
	// PostgreSQL a state of another tenant's provider is not even visible.
	var st *gatehouse.FederationState
	err = f.InTx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID}, func(t *Tx) error {
		var err error
		st, err = t.ConsumeFederationState(ctx, hashToken(cb.State), now)
		return err
	})
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, fail("bad_state", errBadState)
	}
	if err != nil {
		return nil, err
	}
	// The state is bound to this browser, this provider and the provider's
	// workspace as it was at the start (a provider of another tenant, or one
	// re-registered since, cannot finish it).
	if !hmac.Equal(hashToken(cb.Binding), st.BrowserHash) || st.ProviderID != id || p.WorkspaceID != st.WorkspaceID {
		return nil, fail("bad_state", errBadState)
	}
	if cb.Error != "" || cb.Code == "" {
		return nil, fail("provider_refused", gatehouse.Errorf(gatehouse.EForbidden, "the provider did not sign you in"))
	}
	conn, err := f.connector(ctx, p)
	if err != nil {
		return nil, err
	}
	up, err := conn.Identity(ctx, cb.Code, authRequest(cb.Binding, cb.State, f.CallbackURL(id)))
	if err != nil {
		f.Log.WarnContext(ctx, "upstream identity refused", "provider", id, "error", err.Error())
		if gatehouse.ErrorCode(err) == gatehouse.EUnavailable {
			return nil, err
		}
		return nil, fail("upstream_invalid", gatehouse.Errorf(gatehouse.EInvalidGrant, "%s", gatehouse.ErrorMessage(err)))
	}
	if up.Subject == "" || len(up.Subject) > 255 {
		return nil, fail("upstream_invalid", errBadState)
	}
	email := ""
	if up.Email != "" {
		if email, err = gatehouse.NormalizeEmail(up.Email); err != nil {
			email = ""
		}
	}
	// A workspace's provider serves only the domains its workspace proved.
	// There the proof stands for email_verified: the workspace controls the
	// domain, and its own directory is what says who holds an address in it
	// (Microsoft Entra ID, for one, sends no email_verified at all).
	if p.WorkspaceID != "" {
		ok, err := f.domainServed(ctx, p, email)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fail("domain_not_proven", errDomain)
		}
		up.EmailVerified = true
	}
	if st.LinkUserID != "" {
		return f.link(ctx, p, st, up, email)
	}
	return f.signIn(ctx, p, st, up, email)
}

// domainServed reports whether a workspace provider may sign in email: its
// domain is one of the provider's and its workspace has proven it. The look-
// up runs in that workspace's scope only: under PostgreSQL another
// workspace's proof is not even visible.
func (f *Federation) domainServed(ctx context.Context, p *gatehouse.Provider, email string) (bool, error) {
	if email == "" {
		return false, nil
	}
	dom := email[strings.LastIndexByte(email, '@')+1:]
	if !slices.Contains(p.Domains, dom) {
		return false, nil
	}
	var ok bool
	err := f.Store.Tx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID}, func(t gatehouse.Tx) error {
		var err error
		ok, err = t.DomainVerified(ctx, p.WorkspaceID, dom)
		return err
	})
	return ok, err
}

func (f *Federation) recordFailure(ctx context.Context, providerID, userID, reason string) {
	ev := &gatehouse.AuditEvent{Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure, Actor: userID,
		Details: map[string]string{"method": string(gatehouse.MethodFederated), "reason": reason}}
	if gatehouse.ValidID(providerID) {
		ev.Details["provider"] = providerID
	}
	if userID != "" {
		ev.Target = "user:" + userID
	}
	if err := f.Record(ctx, ev); err != nil {
		f.Log.ErrorContext(ctx, "recording login.failed failed", "error", err.Error())
	}
}

// signIn signs the person in: a known (provider, subject) to its account; an
// unknown one makes an account only when the provider verified the email
// and no account holds it. An existing account is never linked here: the
// person is told to sign in to it and link from the portal, since the
// provider's word about an address is not proof that this person owns the
// account that holds it (docs/federation.md, "Linking").
func (f *Federation) signIn(ctx context.Context, p *gatehouse.Provider, st *gatehouse.FederationState, up *gatehouse.UpstreamIdentity, email string) (*FederationResult, error) {
	now := f.now()
	var sess *gatehouse.Session
	var refresh string
	var failed, failUser string
	err := f.InTx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID}, func(t *Tx) error {
		var u *gatehouse.User
		idn, err := t.IdentityBySubject(ctx, p.ID, up.Subject)
		switch {
		case err == nil:
			if u, err = t.UserByID(ctx, idn.UserID); err != nil {
				return err
			}
			if u.Status != gatehouse.StatusActive {
				failed, failUser = "account_"+string(u.Status), u.ID
				return statusError(u.Status)
			}
		case errors.Is(err, gatehouse.ErrNotFound):
			if email == "" || !up.EmailVerified {
				failed = "email_not_verified"
				return errNoEmail
			}
			if _, err := t.UserByEmail(ctx, email); err == nil {
				failed = "email_exists"
				return errExists
			} else if !errors.Is(err, gatehouse.ErrNotFound) {
				return err
			}
			// The provider vouched for the address: it counts as proven
			// (else the owner's first magic link would take the account
			// for a pre-hijacked one, docs/sessions.md).
			u = &gatehouse.User{ID: gatehouse.NewID(now), Email: email, Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now, EmailVerifiedAt: now}
			if err := t.CreateUser(ctx, u); err != nil {
				if errors.Is(err, gatehouse.ErrConflict) {
					failed = "email_exists"
					return errExists
				}
				return err
			}
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSignup, Actor: u.ID, Target: "user:" + u.ID,
				Details: map[string]string{"method": string(gatehouse.MethodFederated), "provider": p.ID}}); err != nil {
				return err
			}
			idn = &gatehouse.Identity{ID: gatehouse.NewID(now), UserID: u.ID, ProviderID: p.ID, Subject: up.Subject, Email: email, CreatedAt: now}
			if err := t.CreateIdentity(ctx, idn); err != nil {
				return err
			}
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventIdentityLinked, Actor: u.ID, Target: "identity:" + idn.ID,
				Details: map[string]string{"provider": p.ID, "reason": "signup"}}); err != nil {
				return err
			}
		default:
			return err
		}
		if p.WorkspaceID != "" {
			if err := f.join(ctx, t, p.WorkspaceID, u.ID, now); err != nil {
				return err
			}
		}
		// A provider's word is one factor: an account with an active second
		// factor is asked for it as after a password (mfa_required, with
		// the account, identity and membership made above committed). A
		// workspace's require_mfa applies to the session as to any other.
		sess, refresh, err = f.sessions.startOrChallenge(ctx, t, gatehouse.NewSignIn(u, gatehouse.FederatedFactor{ProviderID: p.ID}, now))
		return err
	})
	if failed != "" {
		f.recordFailure(ctx, p.ID, failUser, failed)
	}
	if mr := (*MFARequiredError)(nil); errors.As(err, &mr) {
		return &FederationResult{MFA: mr, ReturnTo: st.ReturnTo}, nil
	}
	if err != nil {
		return nil, err
	}
	tr, err := f.sessions.respond(ctx, sess, refresh)
	if err != nil {
		return nil, err
	}
	return &FederationResult{Tokens: tr, ReturnTo: st.ReturnTo}, nil
}

// join makes userID a member of workspaceID (a workspace provider's
// sign-in), unless it is one already.
func (f *Federation) join(ctx context.Context, t *Tx, workspaceID, userID string, now time.Time) error {
	if _, err := t.Member(ctx, workspaceID, userID); err == nil {
		return nil
	} else if !errors.Is(err, gatehouse.ErrNotFound) {
		return err
	}
	if err := t.AddMember(ctx, &gatehouse.Member{WorkspaceID: workspaceID, UserID: userID, Role: gatehouse.RoleMember, CreatedAt: now}); err != nil {
		return err
	}
	return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMemberAdded, Actor: userID, Target: "user:" + userID, WorkspaceID: workspaceID,
		Details: map[string]string{"role": string(gatehouse.RoleMember), "via": "sso"}})
}

// link attaches the identity to the account that asked for it (a signed-in
// session with a recent sign-in, checked when the link was asked for).
func (f *Federation) link(ctx context.Context, p *gatehouse.Provider, st *gatehouse.FederationState, up *gatehouse.UpstreamIdentity, email string) (*FederationResult, error) {
	now := f.now()
	idn := &gatehouse.Identity{ID: gatehouse.NewID(now), UserID: st.LinkUserID, ProviderID: p.ID, Subject: up.Subject, Email: email, CreatedAt: now}
	err := f.InTx(ctx, gatehouse.Scope{WorkspaceID: p.WorkspaceID}, func(t *Tx) error {
		u, err := t.UserByID(ctx, st.LinkUserID)
		if err != nil {
			return err
		}
		if u.Status != gatehouse.StatusActive {
			return errEnded
		}
		if cur, err := t.IdentityBySubject(ctx, p.ID, up.Subject); err == nil {
			if cur.UserID == u.ID {
				idn = cur
				return nil
			}
			return errTaken
		} else if !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		if err := t.CreateIdentity(ctx, idn); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return errTaken
			}
			return err
		}
		if p.WorkspaceID != "" {
			if err := f.join(ctx, t, p.WorkspaceID, u.ID, now); err != nil {
				return err
			}
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventIdentityLinked, Actor: u.ID, Target: "identity:" + idn.ID,
			Details: map[string]string{"provider": p.ID, "reason": "link"}})
	})
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EConflict {
			f.recordFailure(ctx, p.ID, st.LinkUserID, "identity_taken")
		}
		return nil, err
	}
	return &FederationResult{Linked: idn, ReturnTo: st.ReturnTo}, nil
}

// LinkURL starts linking provider id to the caller's account: a signed-in
// session with a recent sign-in. It returns the URL the browser opens: the
// start endpoint with a single-use link ticket (5 minutes), which the start
// turns into a state bound to that browser. With bind (a browser asked, in
// cookie mode) it also returns a binding for a cookie of that browser, and
// the ticket works only with it: a ticket URL that leaks (history, a shared
// screen) is of no use in another browser.
func (f *Federation) LinkURL(ctx context.Context, p *gatehouse.Principal, id, returnTo string, bind bool) (link, binding string, err error) {
	if err := requireSession(p, "identities are linked"); err != nil {
		return "", "", err
	}
	pr, err := f.provider(ctx, id)
	if err != nil {
		return "", "", err
	}
	ticket, err := newSecretToken()
	if err != nil {
		return "", "", err
	}
	browserHash := []byte{}
	if bind {
		if binding, err = newSecretToken(); err != nil {
			return "", "", err
		}
		browserHash = hashToken(binding)
	}
	now := f.now()
	err = f.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID, WorkspaceID: pr.WorkspaceID}, func(t *Tx) error {
		if err := f.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		return t.CreateFederationState(ctx, &gatehouse.FederationState{Hash: ticketHash(ticket), BrowserHash: browserHash, ProviderID: id,
			WorkspaceID: pr.WorkspaceID, LinkUserID: p.UserID, ReturnTo: returnTo, CreatedAt: now, ExpiresAt: now.Add(linkTicketTTL)})
	})
	if err != nil {
		return "", "", err
	}
	return f.cfg.PublicURL + "/v1/auth/providers/" + id + "/start?link=" + url.QueryEscape(ticket), binding, nil
}

// IdentityInfo is one of a person's identities, with its provider's name.
type IdentityInfo struct {
	*gatehouse.Identity
	ProviderName string
}

// Identities lists the caller's identities.
func (f *Federation) Identities(ctx context.Context, p *gatehouse.Principal) ([]IdentityInfo, error) {
	if _, err := requireUser(p); err != nil {
		return nil, err
	}
	var out []IdentityInfo
	err := f.Store.Tx(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		ids, err := t.IdentitiesForUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		ps, err := t.Providers(ctx)
		if err != nil {
			return err
		}
		out = make([]IdentityInfo, 0, len(ids))
		for _, i := range ids {
			ii := IdentityInfo{Identity: i}
			for _, pr := range ps {
				if pr.ID == i.ProviderID {
					ii.ProviderName = pr.Name
				}
			}
			out = append(out, ii)
		}
		return nil
	})
	return out, err
}

var errLastWayIn = gatehouse.Errorf(gatehouse.EConflict, "this is the account's last way to sign in: set a password or link another provider first")

// Unlink removes one of the caller's identities, unless it is the last way
// in: no password, no passkey and no other identity (a magic link does not
// count: it only proves the mailbox, which a provider's account may be the
// only way into).
func (f *Federation) Unlink(ctx context.Context, p *gatehouse.Principal, id string) error {
	if err := requireSession(p, "identities are unlinked"); err != nil {
		return err
	}
	if !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	return f.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		u, err := t.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		ids, err := t.IdentitiesForUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		var target *gatehouse.Identity
		for _, i := range ids {
			if i.ID == id {
				target = i
			}
		}
		if target == nil {
			return gatehouse.ErrNotFound
		}
		if u.PasswordHash == "" && len(ids) < 2 {
			passkey, err := hasPasskey(ctx, t, u.ID)
			if err != nil {
				return err
			}
			if !passkey {
				return errLastWayIn
			}
		}
		if err := t.DeleteIdentity(ctx, p.UserID, id); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventIdentityUnlinked, Actor: p.UserID, Target: "identity:" + id,
			Details: map[string]string{"provider": target.ProviderID}})
	})
}

// hasPasskey reports whether userID has an active passkey: a way in of its
// own (a passwordless passkey sign-in, docs/mfa.md). A TOTP factor or
// recovery codes are not: they are only ever a second step.
func hasPasskey(ctx context.Context, t *Tx, userID string) (bool, error) {
	fs, err := activeFactors(ctx, t, userID)
	if err != nil {
		return false, err
	}
	for _, f := range fs {
		if f.Type == gatehouse.FactorPasskey {
			return true, nil
		}
	}
	return false, nil
}

// normalizeDomain lower-cases a DNS name and checks its form: labels of
// letters, digits and hyphens, at least two of them, at most 253 bytes.
func normalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	bad := gatehouse.Errorf(gatehouse.EInvalidRequest, "domain must be a DNS name such as example.com")
	if len(d) == 0 || len(d) > 253 {
		return "", bad
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", bad
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", bad
			}
		}
	}
	return d, nil
}

// AddDomain claims domain for workspace id (owners only) and returns the
// token to publish as `gatehouse-verify=<token>` at `_gatehouse.<domain>`.
func (f *Federation) AddDomain(ctx context.Context, p *gatehouse.Principal, id, domain string) (*gatehouse.WorkspaceDomain, error) {
	var d *gatehouse.WorkspaceDomain
	err := f.asOwner(ctx, p, id, true, func(t *Tx) error {
		nd, err := normalizeDomain(domain)
		if err != nil {
			return err
		}
		var raw [20]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return err
		}
		now := f.now()
		d = &gatehouse.WorkspaceDomain{ID: gatehouse.NewID(now), WorkspaceID: id, Domain: nd, Token: b64url.EncodeToString(raw[:]), CreatedAt: now}
		if err := t.CreateDomain(ctx, d); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return gatehouse.Errorf(gatehouse.EConflict, "the workspace already claims this domain")
			}
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventDomainAdded, Actor: p.UserID, Target: "domain:" + d.ID, WorkspaceID: id,
			Details: map[string]string{"domain": nd}})
	})
	return d, err
}

// Domains lists workspace id's domains (owners only).
func (f *Federation) Domains(ctx context.Context, p *gatehouse.Principal, id string) ([]*gatehouse.WorkspaceDomain, error) {
	var out []*gatehouse.WorkspaceDomain
	err := f.asOwner(ctx, p, id, true, func(t *Tx) error {
		var err error
		out, err = t.Domains(ctx, id)
		return err
	})
	return out, err
}

var errNotProven = gatehouse.Errorf(gatehouse.EForbidden, "the TXT record was not found: publish it and try again (DNS changes can take a while)")

// VerifyDomain looks up `_gatehouse.<domain>` and marks the domain proven
// when a TXT record holds `gatehouse-verify=<token>` (compared in constant
// time). The look-up happens outside any transaction.
func (f *Federation) VerifyDomain(ctx context.Context, p *gatehouse.Principal, id, domainID string) (*gatehouse.WorkspaceDomain, error) {
	if f.cfg.Resolver == nil {
		return nil, gatehouse.Errorf(gatehouse.EUnavailable, "domain verification is not configured")
	}
	var d *gatehouse.WorkspaceDomain
	err := f.asOwner(ctx, p, id, false, func(t *Tx) error {
		var err error
		if !gatehouse.ValidID(domainID) {
			return gatehouse.ErrNotFound
		}
		d, err = t.DomainByID(ctx, id, domainID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !d.VerifiedAt.IsZero() {
		return d, nil
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	txts, err := f.cfg.Resolver.LookupTXT(lctx, "_gatehouse."+d.Domain)
	cancel()
	if err != nil {
		f.Log.WarnContext(ctx, "DNS look-up failed", "domain", d.Domain, "error", err.Error())
		return nil, gatehouse.Wrap(gatehouse.EUnavailable, err, "the DNS look-up failed; try again later")
	}
	want := []byte("gatehouse-verify=" + d.Token)
	found := false
	for _, v := range txts {
		found = hmac.Equal([]byte(strings.TrimSpace(v)), want) || found
	}
	if !found {
		return nil, errNotProven
	}
	now := f.now()
	err = f.asOwner(ctx, p, id, true, func(t *Tx) error {
		if err := t.MarkDomainVerified(ctx, id, domainID, now); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return gatehouse.Errorf(gatehouse.EConflict, "another workspace has already proven this domain")
			}
			return err
		}
		d.VerifiedAt = now
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventDomainVerified, Actor: p.UserID, Target: "domain:" + d.ID, WorkspaceID: id,
			Details: map[string]string{"domain": d.Domain}})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

var errOwnersOnly = gatehouse.Errorf(gatehouse.EForbidden, "only owners manage the workspace's domains")

// asOwner runs fn in a transaction of workspace id (a write, which needs a
// live session, when write is set) for one of its owners (a person's
// session); anyone else who is not a member gets not_found.
func (f *Federation) asOwner(ctx context.Context, p *gatehouse.Principal, id string, write bool, fn func(*Tx) error) error {
	if err := requireSession(p, "domains are managed"); err != nil {
		return err
	}
	return f.txFor(p, write)(ctx, gatehouse.Scope{WorkspaceID: id, UserID: p.UserID}, func(t *Tx) error {
		me, err := membership(ctx, t, p, id)
		if err != nil {
			return err
		}
		if me == nil || me.Role != gatehouse.RoleOwner {
			return errOwnersOnly
		}
		return fn(t)
	})
}
