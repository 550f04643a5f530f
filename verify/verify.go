// Package verify lets a Go resource server accept gatehouse credentials.
//
//	jwt, err := verify.NewJWT(verify.JWTConfig{
//		Issuer:    "https://auth.example.com", // gatehouse's GATEHOUSE_PUBLIC_URL
//		Audience:  "https://auth.example.com", // the aud gatehouse writes: its public URL
//		Workspace: os.Getenv("GATEHOUSE_WORKSPACE_ID"), // whose tokens this API accepts
//	})
//	pat, err := verify.NewPAT(verify.IntrospectionConfig{ // to accept PATs too
//		Issuer:       "https://auth.example.com",
//		Workspace:    os.Getenv("GATEHOUSE_WORKSPACE_ID"),
//		ClientID:     os.Getenv("GATEHOUSE_CLIENT_ID"), // this API's OAuth client
//		ClientSecret: os.Getenv("GATEHOUSE_CLIENT_SECRET"),
//	})
//	mux.Handle("GET /things", verify.Require(jwt, pat)(things))
//	// in the handler: id, _ := verify.FromContext(r.Context())
//
// Require reads the credential from the Authorization header only (RFC 6750
// section 2.1; never a query parameter or a form field), hands it to each
// Authenticator in turn until one claims it, and puts the verified Identity
// in the request context: 401 when it is missing or invalid, 503 when it
// cannot be checked now.
//
// JWT access tokens (RFC 9068) are checked locally against the issuer's
// JWKS, fetched and cached by JWKSCache.
//
// # Tokens: which workspace, whose session
//
// One gatehouse serves many workspaces (tenants), and signs every workspace's
// tokens, and people's own sessions, with the same keys, issuer and
// audience. A valid signature therefore says only "gatehouse issued this";
// a resource server must also say whose tokens it serves:
//
//   - Workspace (required) pins it to one workspace: a token carrying
//     another workspace_id, or a PAT gatehouse reports for another workspace,
//     is refused (401, ErrWorkspace). An empty Workspace is a configuration
//     error, never "any": a resource server that really serves every
//     workspace sets AnyWorkspace, and then checks Identity.WorkspaceID
//     itself.
//   - A person's session token (the access token of someone signed in to
//     gatehouse itself: sid, client_id "gatehouse", no workspace_id) belongs
//     to no workspace and was not issued for any API; it is refused (401,
//     ErrSession) unless JWTConfig.AllowSessions is set. With it, the API
//     learns who the person is (Identity.Subject) and must decide itself
//     what they may do there.
//
// Audiences: gatehouse writes one aud, its public URL, into every access
// token, so JWTConfig.Audience is that URL, and it does not tell one API
// from another. Per-API audiences (RFC 8707 resource indicators) would take
// a registry of resources at gatehouse and the resource parameter at its
// token and authorization endpoints; they are not offered. The workspace pin
// is what keeps tenants apart, and scopes (RequireScope) what keeps the APIs
// of one workspace apart.
//
// # PATs
//
// Personal access tokens (gth_…) are checked by PAT, which asks gatehouse's
// introspection endpoint (RFC 7662) as an OAuth client of one workspace:
// gatehouse answers active only for PATs of that client's workspace, and PAT
// also refuses an answer for any other workspace than
// IntrospectionConfig.Workspace, so a resource server accepts the PATs of
// the workspace it is registered in and pinned to (`gatehouse clients
// create --workspace W --name N --grant client_credentials`). A malformed
// token or one with a bad checksum is refused without a call. Active answers
// are cached for IntrospectionConfig.CacheTTL (30 s by default) under the
// token's SHA-256, so a deleted or revoked PAT keeps working at a resource
// server for at most that long; inactive answers for NegativeTTL (5 s);
// failures of the endpoint (down, timed out, 5xx, 429, a refused client
// secret) are never cached and give 503, never acceptance. Calls are bounded
// by Timeout and MaxConcurrent, and concurrent checks of one token share
// one call.
package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// Identity is a verified caller.
type Identity struct {
	// Kind is "session" for a person's access token (it has a sid), "client"
	// for an OAuth client's, "pat" for a personal access token.
	Kind        string
	Subject     string // sub: the user id, or the client id for a client acting for itself
	SessionID   string
	ClientID    string
	WorkspaceID string
	Scopes      []string
	TokenID     string // jti, or the PAT's id
	ExpiresAt   time.Time
	// Claims are the access token's claims (JWT kinds only).
	Claims *token.Claims
}

// HasScope reports whether the identity was granted scope s.
func (id *Identity) HasScope(s string) bool {
	for _, g := range id.Scopes {
		if g == s {
			return true
		}
	}
	return false
}

type identityKey struct{}

// NewContext returns a copy of ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity Require put in ctx.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok
}

// An Authenticator checks one kind of credential.
type Authenticator interface {
	// Authenticate verifies a bearer credential. It returns ErrNotMine when
	// the credential is not of its kind, so the next Authenticator may try;
	// ErrInvalid (wrapping the cause) when it is its kind but does not
	// verify; any other error when it cannot decide now (keys unavailable).
	Authenticate(ctx context.Context, credential string) (*Identity, error)
}

// Errors of an Authenticator.
var (
	ErrNotMine = errors.New("verify: not this authenticator's credential")
	ErrInvalid = errors.New("verify: invalid credential")
)

// Causes, inside ErrInvalid, of a valid credential this resource server does
// not accept.
var (
	// ErrWorkspace: the credential belongs to another workspace than the
	// one the authenticator is pinned to (JWTConfig.Workspace,
	// IntrospectionConfig.Workspace).
	ErrWorkspace = errors.New("verify: credential of another workspace")
	// ErrSession: a person's gatehouse session token, and the authenticator
	// was not told to accept those (JWTConfig.AllowSessions).
	ErrSession = errors.New("verify: a person's session token is not accepted here")
)

// workspacePin is which workspace's credentials an authenticator accepts.
type workspacePin struct {
	id  string
	any bool
}

func newWorkspacePin(what, id string, anyWS bool) (workspacePin, error) {
	switch {
	case id == "" && !anyWS:
		return workspacePin{}, errors.New("verify: " + what + " needs the Workspace whose tokens it accepts (or AnyWorkspace)")
	case id != "" && anyWS:
		return workspacePin{}, errors.New("verify: " + what + ": Workspace and AnyWorkspace exclude each other")
	case strings.TrimSpace(id) != id:
		return workspacePin{}, errors.New("verify: " + what + ": Workspace has spaces around it")
	}
	return workspacePin{id: id, any: anyWS}, nil
}

// admits reports whether a credential of workspace ws is accepted; "" (no
// workspace) never is.
func (w workspacePin) admits(ws string) bool {
	return ws != "" && (w.any || ws == w.id)
}

// JWTConfig configures a JWT authenticator. Which tokens it accepts, besides
// a valid signature, iss, aud and times (see Tokens, in the package
// documentation):
//
//   - a token with a workspace_id claim (a client's own, or a person's
//     through a client of the workspace: the authorization-code grant) only
//     when that is Workspace, or with AnyWorkspace;
//   - a token with no workspace_id (a person's gatehouse session: sid,
//     client_id "gatehouse") only with AllowSessions.
//
// Everything else is 401 invalid_token.
type JWTConfig struct {
	Issuer   string // required: the iss gatehouse writes (its public URL)
	Audience string // required: the aud this resource server accepts (gatehouse writes its public URL)
	// Workspace is the id of the workspace whose tokens this resource server
	// accepts. Required, unless AnyWorkspace is set: an empty Workspace
	// never means "any" (NewJWT refuses it), so a forgotten setting cannot
	// open an API to every tenant of the gatehouse.
	Workspace string
	// AnyWorkspace accepts the tokens of every workspace, for a resource
	// server that serves them all and checks Identity.WorkspaceID itself.
	// It cannot be set together with Workspace.
	AnyWorkspace bool
	// AllowSessions also accepts people's session tokens: the access token
	// a person gets by signing in to gatehouse itself. It belongs to no
	// workspace and no client, carries gatehouse's own scopes, and says
	// only who the person is; the resource server must decide itself what
	// that person may do here. Off by default: such a token is refused.
	AllowSessions bool
	// JWKSURL defaults to Issuer + "/.well-known/jwks.json".
	JWKSURL            string
	HTTPClient         *http.Client
	Leeway             time.Duration // default token.DefaultLeeway
	MinRefreshInterval time.Duration // default DefaultMinRefreshInterval
	MaxCacheAge        time.Duration // default DefaultMaxCacheAge
	Now                func() time.Time
}

// JWT authenticates RFC 9068 access tokens against a cached JWKS.
type JWT struct {
	cache         *JWKSCache
	verifier      token.Verifier
	now           func() time.Time
	workspace     workspacePin
	allowSessions bool

	mu       sync.RWMutex
	gen      *cachedKeys          // the key set the entries were verified against
	verified map[string]*Identity // whole token → identity; emptied when gen changes
}

// maxVerified bounds the verified-token cache; when full it is emptied.
const maxVerified = 10000

// NewJWT returns a JWT authenticator.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("verify: JWT needs an issuer and an audience")
	}
	pin, err := newWorkspacePin("JWT", cfg.Workspace, cfg.AnyWorkspace)
	if err != nil {
		return nil, err
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
	}
	cache, err := NewJWKSCache(JWKSConfig{URL: cfg.JWKSURL, HTTPClient: cfg.HTTPClient,
		MinRefreshInterval: cfg.MinRefreshInterval, MaxCacheAge: cfg.MaxCacheAge, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = token.DefaultLeeway
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &JWT{cache: cache, now: now, workspace: pin, allowSessions: cfg.AllowSessions,
		verifier: token.Verifier{Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: leeway, Now: cfg.Now}}, nil
}

// Cache returns the JWT authenticator's key cache.
func (j *JWT) Cache() *JWKSCache { return j.cache }

// Authenticate verifies a JWT access token. A token whose kid is not in the
// cached set triggers one rate-limited refresh of the set, then one more
// verification. A token already verified against the current set is
// answered from memory (keyed by the whole token; still expiry-checked);
// every new fetch of the set empties that memory.
func (j *JWT) Authenticate(ctx context.Context, cred string) (*Identity, error) {
	if token.LooksLikePAT(cred) || strings.Count(cred, ".") != 2 {
		return nil, ErrNotMine
	}
	gen, err := j.cache.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	j.mu.RLock()
	id, hit := j.verified[cred]
	hit = hit && j.gen == gen
	j.mu.RUnlock()
	if hit {
		if !j.now().Before(id.ExpiresAt.Add(j.verifier.Leeway)) {
			return nil, errors.Join(ErrInvalid, token.ErrExpired)
		}
		// A copy the caller may change without touching the cache.
		cp := *id
		cp.Scopes = append([]string(nil), id.Scopes...)
		if id.Claims != nil {
			claims := *id.Claims
			cp.Claims = &claims
		}
		return &cp, nil
	}
	c, err := j.verifier.Verify(cred, gen.keys)
	if errors.Is(err, token.ErrUnknownKey) {
		// The set may have changed since: verify again against the newest
		// (a still-unknown kid fails before any signature work).
		if gen, err = j.cache.fetch(ctx, true); err != nil {
			return nil, err
		}
		c, err = j.verifier.Verify(cred, gen.keys)
	}
	if err != nil {
		return nil, errors.Join(ErrInvalid, err)
	}
	if err := j.admit(c); err != nil {
		return nil, errors.Join(ErrInvalid, err) // not remembered: checked again next time
	}
	id = &Identity{Kind: "client", Subject: c.Subject, SessionID: c.SessionID, ClientID: c.ClientID,
		WorkspaceID: c.WorkspaceID, Scopes: c.Scopes(), TokenID: c.ID, ExpiresAt: time.Unix(c.ExpiresAt, 0), Claims: c}
	if c.SessionID != "" {
		id.Kind = "session"
	}
	j.remember(gen, cred, id)
	cp := *id
	return &cp, nil
}

// admit applies the workspace pin and the session opt-in to a verified
// token's claims. A token with a workspace_id is a workspace's (a client's,
// or a person's through a client) and must be of the pinned workspace; one
// without is a person's gatehouse session, which must carry its sid and is
// accepted only with AllowSessions.
func (j *JWT) admit(c *token.Claims) error {
	if c.WorkspaceID != "" {
		if !j.workspace.admits(c.WorkspaceID) {
			return ErrWorkspace
		}
		return nil
	}
	if !j.allowSessions || c.SessionID == "" {
		return ErrSession
	}
	return nil
}

func (j *JWT) remember(gen *cachedKeys, cred string, id *Identity) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.gen != gen || j.verified == nil || len(j.verified) >= maxVerified {
		j.gen, j.verified = gen, make(map[string]*Identity)
	}
	j.verified[cred] = id
}

// Require returns middleware that lets a request through only with a
// credential one of auths verifies. It answers 401 with a WWW-Authenticate
// challenge (RFC 6750 section 3) when the credential is missing or invalid,
// and 503 when it cannot decide (no key set could be fetched).
func Require(auths ...Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cred, ok := bearer(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer`)
				writeError(w, http.StatusUnauthorized, "unauthorized", "a bearer token in the Authorization header is required")
				return
			}
			for _, a := range auths {
				id, err := a.Authenticate(r.Context(), cred)
				if errors.Is(err, ErrNotMine) {
					continue
				}
				if errors.Is(err, ErrInvalid) {
					break
				}
				if err != nil {
					writeError(w, http.StatusServiceUnavailable, "unavailable", "credentials cannot be checked now")
					return
				}
				next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid")
		})
	}
}

// RequireScope returns middleware, to go inside Require, that answers 403
// insufficient_scope unless the caller was granted scope.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := FromContext(r.Context())
			if !ok || !id.HasScope(scope) {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
				writeError(w, http.StatusForbidden, "insufficient_scope", "the token lacks the required scope")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// bearer returns the credential of a single "Authorization: Bearer …"
// header. Two Authorization headers, another scheme, or an empty or
// oversized credential count as none.
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	scheme, cred, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimLeft(cred, " ")
	if cred == "" || len(cred) > token.MaxTokenLen || strings.ContainsAny(cred, " \t") {
		return "", false
	}
	return cred, true
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
