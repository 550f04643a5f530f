package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// ClientScopes is the vocabulary an OAuth client may be granted
// (docs/scopes.md): the PAT scopes that read. A client's token reads its own
// workspace (the person's view of it, for a token of the
// authorization-code grant) and changes nothing, so workspaces:write is not
// offered.
var ClientScopes = []string{
	gatehouse.ScopeProfileRead,
	gatehouse.ScopeWorkspacesRead,
	gatehouse.ScopeAuditRead,
}

// ClientGrants are the grant types a client may be registered for: the
// registry's (grants.go), read once for flag help and the like; validSpec
// and the token endpoint read the registry itself.
var ClientGrants = GrantTypes()

// MaxRedirectURIs bounds a client's redirect URIs; maxRedirectURILen bounds
// each.
const (
	MaxRedirectURIs   = 10
	maxRedirectURILen = 2000
)

// MaxClientsPerWorkspace bounds the OAuth clients of one workspace.
const MaxClientsPerWorkspace = 100

const (
	clientSecretPrefix = "ghs_" // and 256 random bits, base64url without padding (43 characters)
)

// ClientSecret is a client secret as shown once, at creation or rotation. It
// redacts itself in logs and formatting; Reveal returns it.
type ClientSecret struct{ s string }

// Reveal returns the secret itself, for the one response that shows it.
func (c ClientSecret) Reveal() string { return c.s }

// String redacts the secret.
func (c ClientSecret) String() string { return clientSecretPrefix + "…[redacted]" }

// GoString redacts the secret.
func (c ClientSecret) GoString() string { return "auth.ClientSecret(" + c.String() + ")" }

// LogValue redacts the secret.
func (c ClientSecret) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON redacts the secret: a response shows it through Reveal only.
func (c ClientSecret) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// newClientID returns a random UUID (version 4, RFC 9562 section 5.4): 122
// bits from crypto/rand, so not guessable; safe in HTTP Basic credentials
// without form-encoding (RFC 6749 section 2.3.1); and in the shape of every
// other identifier, which the audit trail keeps in clear ("client:<id>").
func newClientID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = (b[6] & 0x0f) | 0x40 // version 4
	b[8] = (b[8] & 0x3f) | 0x80 // variant 10
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// newClientSecret returns a fresh secret ("ghs_" and 256 random bits in
// base64url) and the hex SHA-256 that is stored.
func newClientSecret() (ClientSecret, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return ClientSecret{}, "", err
	}
	s := clientSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
	return ClientSecret{s}, token.LookupHashHex(s), nil
}

// ValidClientID reports whether s has the form of a client id (a UUID in
// canonical lower-case form), so that a malformed one never reaches the store.
func ValidClientID(s string) bool { return gatehouse.ValidID(s) }

// dummySecretHash is compared against when the client is unknown, so that
// an unknown client and a wrong secret take the same path.
var dummySecretHash = strings.Repeat("0", 64)

// secretMatches compares the SHA-256 of secret with the stored hex hash in
// constant time (OWASP Authentication Cheat Sheet: compare secrets in
// constant time).
func secretMatches(secret, storedHex string) bool {
	sum := sha256.Sum256([]byte(secret))
	want, err := hex.DecodeString(storedHex)
	if err != nil || len(want) != len(sum) {
		want = make([]byte, len(sum))
		subtle.ConstantTimeCompare(sum[:], want)
		return false
	}
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}

// ClientSpec is what a client is registered with.
type ClientSpec struct {
	Name   string
	Grants []string // nil: client_credentials
	Scopes []string // within ClientScopes; nil or empty: none
	// RedirectURIs serve the authorization-code grant: absolute, no
	// fragment, a DNS name or IP literal as host, https (or http to a
	// loopback host), matched later as exact strings but for a loopback IP
	// literal's port (redirect.go). Public makes a PKCE-only client
	// without a secret.
	RedirectURIs []string
	Public       bool
	// OpenID Connect registration (oidc_clients.go): the id_token
	// algorithm, the URIs RP-initiated logout may return to, and the
	// back-channel logout URI.
	IDTokenAlg             string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
}

// validSpec checks a spec and returns its normalized grants, scopes and
// redirect URIs. Grants default to authorization_code and refresh_token
// when redirect URIs are given or the client is public, else to
// client_credentials. A public client may use only the grants the registry
// allows public clients (not client_credentials: it has no credentials, RFC
// 6749 section 4.4); authorization_code needs at
// least one redirect URI, and redirect URIs need authorization_code.
func validSpec(spec ClientSpec) (name string, grants, scopes, uris []string, err error) {
	if name, err = ValidName("name", spec.Name); err != nil {
		return "", nil, nil, nil, err
	}
	if grants, err = inVocabulary(spec.Grants, GrantTypes(), gatehouse.EInvalidRequest, "grant"); err != nil {
		return "", nil, nil, nil, err
	}
	if len(grants) == 0 {
		grants = []string{gatehouse.GrantClientCredentials}
		if spec.Public || len(spec.RedirectURIs) > 0 {
			grants = []string{gatehouse.GrantAuthorizationCode, gatehouse.GrantRefreshToken}
		}
	}
	if scopes, err = inVocabulary(spec.Scopes, ClientScopes, gatehouse.EInvalidScope, "scope"); err != nil {
		return "", nil, nil, nil, err
	}
	if uris, err = validRedirectURIs(spec.RedirectURIs); err != nil {
		return "", nil, nil, nil, err
	}
	code := contains(grants, gatehouse.GrantAuthorizationCode)
	if spec.Public {
		for _, g := range grants {
			if !contains(PublicGrantTypes(), g) {
				return "", nil, nil, nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "a public client has no secret and cannot use the %s grant", g)
			}
		}
	}
	switch {
	case code && len(uris) == 0:
		return "", nil, nil, nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "the authorization_code grant needs at least one redirect URI")
	case !code && len(uris) > 0:
		return "", nil, nil, nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "redirect URIs serve the authorization_code grant; register the client for it")
	case contains(grants, gatehouse.GrantRefreshToken) && !code:
		return "", nil, nil, nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "refresh_token comes with the authorization_code grant")
	}
	return name, grants, scopes, uris, nil
}

// inVocabulary returns xs sorted without duplicates, or an error with code
// when one is not in vocab.
func inVocabulary(xs, vocab []string, code gatehouse.Code, what string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for _, x := range xs {
		known := false
		for _, v := range vocab {
			known = known || v == x
		}
		if !known {
			return nil, gatehouse.Errorf(code, "unknown %s; the %ss are %s", what, what, strings.Join(vocab, ", "))
		}
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Clients manages a workspace's OAuth clients (docs/reference.md §6 and §8): owners
// and admins of the workspace, with a signed-in session, create, list, read,
// delete them and rotate their secrets; anyone else who is not a member gets
// not_found.
type Clients struct {
	*Core
	// IDTokenAlgs, when set, are the id_token algorithms a client may
	// register (Keys.IDTokenAlgs); nil: any algorithm gatehouse signs with.
	IDTokenAlgs []string
}

// CreatedClient is a new client (or one with a new secret) and the one
// showing of its secret.
type CreatedClient struct {
	Client *gatehouse.Client
	Secret ClientSecret
}

// manage runs fn in a transaction scoped to workspace id once the caller is
// known to be an owner or admin of it, signed in with a session. A change
// (write) also needs the session live and the account active (WriteTx).
func (s *Clients) manage(ctx context.Context, p *gatehouse.Principal, id string, write bool, fn func(*Tx) error) error {
	if err := requireSession(p, "OAuth clients are managed"); err != nil {
		return err
	}
	return s.txFor(p, write)(ctx, gatehouse.Scope{WorkspaceID: id, UserID: p.UserID}, func(t *Tx) error {
		me, err := membership(ctx, t, p, id)
		if err != nil {
			return err
		}
		if !me.Role.CanManageMembers() {
			return gatehouse.Errorf(gatehouse.EForbidden, "only owners and admins manage OAuth clients")
		}
		return fn(t)
	})
}

// Create registers a client in workspace id for the caller, an owner or
// admin of it.
func (s *Clients) Create(ctx context.Context, p *gatehouse.Principal, id string, spec ClientSpec) (*CreatedClient, error) {
	var out *CreatedClient
	err := s.manage(ctx, p, id, true, func(t *Tx) error {
		var err error
		out, err = s.create(ctx, t, id, p.UserID, spec)
		return err
	})
	return out, err
}

// CreateAsSystem registers a client in workspace id for an operator (the
// `gatehouse clients create` command); the audit actor is "system".
func (s *Clients) CreateAsSystem(ctx context.Context, id string, spec ClientSpec) (*CreatedClient, error) {
	if !gatehouse.ValidID(id) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "no workspace has that id")
	}
	var out *CreatedClient
	err := s.InTx(ctx, gatehouse.Scope{WorkspaceID: id}, func(t *Tx) error {
		if _, err := t.WorkspaceByID(ctx, id); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
				return gatehouse.Errorf(gatehouse.ENotFound, "no workspace has that id")
			}
			return err
		}
		var err error
		out, err = s.create(ctx, t, id, "system", spec)
		return err
	})
	return out, err
}

func (s *Clients) create(ctx context.Context, t *Tx, id, actor string, spec ClientSpec) (*CreatedClient, error) {
	name, grants, scopes, uris, err := validSpec(spec)
	if err == nil {
		err = s.validOIDCSpec(&spec, grants)
	}
	if err != nil {
		return nil, err
	}
	// Counted under the workspace's row lock: concurrent creations take
	// turns, so the cap holds.
	if err := t.LockWorkspace(ctx, id); err != nil {
		return nil, err
	}
	existing, err := t.Clients(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxClientsPerWorkspace {
		return nil, gatehouse.Errorf(gatehouse.EConflict, "a workspace may hold at most %d OAuth clients", MaxClientsPerWorkspace)
	}
	clientID, err := newClientID()
	if err != nil {
		return nil, err
	}
	var secret ClientSecret
	var hash string
	if !spec.Public {
		if secret, hash, err = newClientSecret(); err != nil {
			return nil, err
		}
	}
	now := s.now()
	c := &gatehouse.Client{ID: gatehouse.NewID(now), WorkspaceID: id, ClientID: clientID, Name: name, SecretHash: hash,
		Grants: grants, Scopes: scopes, RedirectURIs: uris, Public: spec.Public, CreatedBy: actor, CreatedAt: now,
		IDTokenAlg: spec.IDTokenAlg, PostLogoutRedirectURIs: spec.PostLogoutRedirectURIs, BackchannelLogoutURI: spec.BackchannelLogoutURI}
	if err := t.CreateClient(ctx, c); err != nil {
		return nil, err
	}
	err = t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthClientCreated, Actor: actor, Target: "client:" + clientID, WorkspaceID: id,
		Details: map[string]string{"name": name, "grants": strings.Join(grants, " "), "scopes": strings.Join(scopes, " "),
			"public": strconv.FormatBool(spec.Public)}})
	if err != nil {
		return nil, err
	}
	return &CreatedClient{Client: c, Secret: secret}, nil
}

// List returns workspace id's clients, newest first.
func (s *Clients) List(ctx context.Context, p *gatehouse.Principal, id string) ([]*gatehouse.Client, error) {
	var out []*gatehouse.Client
	err := s.manage(ctx, p, id, false, func(t *Tx) error {
		var err error
		out, err = t.Clients(ctx, id)
		return err
	})
	return out, err
}

// Get returns workspace id's client clientID.
func (s *Clients) Get(ctx context.Context, p *gatehouse.Principal, id, clientID string) (*gatehouse.Client, error) {
	var out *gatehouse.Client
	err := s.manage(ctx, p, id, false, func(t *Tx) error {
		if !ValidClientID(clientID) {
			return gatehouse.ErrNotFound
		}
		var err error
		out, err = t.Client(ctx, id, clientID)
		return err
	})
	return out, err
}

// Delete removes workspace id's client clientID. Its secret stops working at
// once, and introspection answers inactive for the access tokens it was
// issued (they are JWTs and stay valid elsewhere until they expire).
func (s *Clients) Delete(ctx context.Context, p *gatehouse.Principal, id, clientID string) error {
	return s.manage(ctx, p, id, true, func(t *Tx) error {
		if !ValidClientID(clientID) {
			return gatehouse.ErrNotFound
		}
		if err := t.DeleteClient(ctx, id, clientID); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthClientDeleted, Actor: p.UserID, Target: "client:" + clientID, WorkspaceID: id})
	})
}

// RotateSecret gives workspace id's client clientID a new secret, shown
// once; the old one stops working at once.
func (s *Clients) RotateSecret(ctx context.Context, p *gatehouse.Principal, id, clientID string) (*CreatedClient, error) {
	var out *CreatedClient
	err := s.manage(ctx, p, id, true, func(t *Tx) error {
		if !ValidClientID(clientID) {
			return gatehouse.ErrNotFound
		}
		c, err := t.Client(ctx, id, clientID)
		if err != nil {
			return err
		}
		if c.Public {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "a public client has no secret to rotate")
		}
		secret, hash, err := newClientSecret()
		if err != nil {
			return err
		}
		now := s.now()
		if err := t.SetClientSecret(ctx, id, clientID, hash, now); err != nil {
			return err
		}
		c.SecretHash, c.SecretRotatedAt = hash, now
		out = &CreatedClient{Client: c, Secret: secret}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthClientSecretRotate, Actor: p.UserID, Target: "client:" + clientID, WorkspaceID: id})
	})
	return out, err
}
