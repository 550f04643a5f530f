package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// Defaults of a PAT authenticator.
const (
	DefaultPATCacheTTL          = 30 * time.Second
	DefaultPATNegativeTTL       = 5 * time.Second
	DefaultPATCacheSize         = 10000
	DefaultIntrospectTimeout    = 3 * time.Second
	DefaultIntrospectConcurrent = 16
)

// maxIntrospectionLen bounds an introspection answer (RFC 7662 section 2.2
// answers are a few hundred bytes).
const maxIntrospectionLen = 64 << 10

// ErrIntrospectionUnavailable is returned when gatehouse's introspection
// endpoint gave no usable answer (down, timed out, refused the resource
// server's client credentials, rate-limited it, or answered something that
// is not an RFC 7662 answer). Require turns it into 503: it is never taken
// for "inactive", and it is never cached.
var ErrIntrospectionUnavailable = errors.New("verify: token introspection unavailable")

// ErrInactive is the cause (inside ErrInvalid) of a PAT that gatehouse says
// is not active: unknown, deleted, expired, of another workspace, or whose
// owner is no longer active.
var ErrInactive = errors.New("verify: token is not active")

// IntrospectionConfig configures a PAT authenticator, which checks personal
// access tokens by token introspection (RFC 7662). The resource server is an
// OAuth client of gatehouse, registered in the workspace whose PATs it
// accepts (`gatehouse clients create --workspace W --name N --grant
// client_credentials`), and names that workspace in Workspace too.
type IntrospectionConfig struct {
	// Workspace is the id of the workspace whose PATs this resource server
	// accepts; an active answer about a PAT of any other workspace is
	// refused (401). gatehouse answers active only for PATs of the client's
	// own workspace, so this pins the answer to the workspace the resource
	// server means, whatever client credentials it was given. Required,
	// unless AnyWorkspace is set: an empty Workspace never means "any".
	Workspace string
	// AnyWorkspace accepts whatever workspace gatehouse answers for (that
	// of the client). It cannot be set together with Workspace.
	AnyWorkspace bool

	// Issuer is gatehouse's public URL; the endpoint defaults to
	// Issuer + "/v1/oauth/introspect". IntrospectionURL overrides it. It
	// must be https, or http to a loopback address: the client secret
	// travels on every call.
	Issuer           string
	IntrospectionURL string
	// ClientID and ClientSecret are the resource server's own client
	// credentials, sent with HTTP Basic (client_secret_basic, RFC 6749
	// section 2.3.1).
	ClientID     string
	ClientSecret string
	// HTTPClient makes the calls; nil: http.DefaultTransport. Redirects are
	// never followed.
	HTTPClient *http.Client
	// Timeout bounds one introspection call, waiting for a free slot
	// included (default DefaultIntrospectTimeout).
	Timeout time.Duration
	// MaxConcurrent bounds the introspection calls in flight at once
	// (default DefaultIntrospectConcurrent); a request beyond it waits for a
	// slot within Timeout, then gets ErrIntrospectionUnavailable.
	MaxConcurrent int
	// CacheTTL is how long an active answer is reused (default
	// DefaultPATCacheTTL; never past the token's exp). It is the longest a
	// deleted or revoked PAT keeps working at this resource server.
	CacheTTL time.Duration
	// NegativeTTL is how long an inactive answer is reused (default
	// DefaultPATNegativeTTL; negative: never). Failures of the endpoint are
	// never cached.
	NegativeTTL time.Duration
	// CacheSize bounds each of the two caches (default DefaultPATCacheSize).
	CacheSize int
	Now       func() time.Time
}

// String redacts the client secret.
func (c IntrospectionConfig) String() string {
	return fmt.Sprintf("verify.IntrospectionConfig{IntrospectionURL:%q ClientID:%q ClientSecret:[redacted] Workspace:%q AnyWorkspace:%v}",
		c.introspectionURL(), c.ClientID, c.Workspace, c.AnyWorkspace)
}

// GoString redacts as String does.
func (c IntrospectionConfig) GoString() string { return c.String() }

// LogValue redacts as String does.
func (c IntrospectionConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (c IntrospectionConfig) introspectionURL() string {
	if c.IntrospectionURL != "" {
		return c.IntrospectionURL
	}
	if c.Issuer == "" {
		return ""
	}
	return strings.TrimSuffix(c.Issuer, "/") + "/v1/oauth/introspect"
}

// PAT authenticates gatehouse personal access tokens (gth_…) by asking
// gatehouse's introspection endpoint (RFC 7662), as an OAuth client of the
// workspace whose tokens it accepts: gatehouse answers active only for PATs
// of the calling client's workspace.
//
// Checking, in order: a credential without the gth_ prefix is ErrNotMine; a
// malformed one or one with a bad checksum is refused (ErrInvalid) with no
// network call; an answer cached under the token's SHA-256 (the token itself
// is never kept) is reused; else one introspection call is made (concurrent
// checks of the same token share it), bounded by Timeout and MaxConcurrent.
// An active answer for another workspace than IntrospectionConfig.Workspace
// is refused (ErrInvalid wrapping ErrWorkspace) and cached as an inactive
// one.
type PAT struct {
	workspace   workspacePin
	url         string
	basic       string // the Authorization header value; a secret
	client      *http.Client
	timeout     time.Duration
	ttl         time.Duration
	negativeTTL time.Duration
	now         func() time.Time
	sem         chan struct{}

	active   *ttlCache // token hash → *Identity
	inactive *ttlCache // token hash → nil, or the identity of another workspace

	mu       sync.Mutex
	inflight map[[sha256.Size]byte]*introspection

	calls atomic.Int64
}

// introspection is one call in flight, shared by every check of its token.
type introspection struct {
	done    chan struct{}
	id      *Identity // nil: inactive (when err is nil)
	foreign bool      // id is of another workspace than the pinned one
	err     error
}

// NewPAT returns a PAT authenticator.
func NewPAT(cfg IntrospectionConfig) (*PAT, error) {
	raw := cfg.introspectionURL()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("verify: PAT needs an issuer or an introspection URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, errors.New("verify: introspection URL must be https (or http to a loopback address)")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("verify: PAT needs the resource server's client id and secret")
	}
	pin, err := newWorkspacePin("PAT", cfg.Workspace, cfg.AnyWorkspace)
	if err != nil {
		return nil, err
	}
	p := &PAT{workspace: pin, url: raw, timeout: cfg.Timeout, ttl: cfg.CacheTTL, negativeTTL: cfg.NegativeTTL, now: cfg.Now,
		inflight: map[[sha256.Size]byte]*introspection{}}
	// RFC 6749 section 2.3.1: id and secret are form-encoded, then Basic.
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	p.basic = req.Header.Get("Authorization")
	cl := http.Client{}
	if cfg.HTTPClient != nil {
		cl = *cfg.HTTPClient
	}
	// A redirect would resend the client secret wherever it points.
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p.client = &cl
	if p.timeout <= 0 {
		p.timeout = DefaultIntrospectTimeout
	}
	if p.ttl <= 0 {
		p.ttl = DefaultPATCacheTTL
	}
	if p.negativeTTL == 0 {
		p.negativeTTL = DefaultPATNegativeTTL
	}
	if p.now == nil {
		p.now = time.Now
	}
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = DefaultIntrospectConcurrent
	}
	p.sem = make(chan struct{}, n)
	size := cfg.CacheSize
	if size <= 0 {
		size = DefaultPATCacheSize
	}
	p.active, p.inactive = newTTLCache(size), newTTLCache(size)
	return p, nil
}

// String redacts the client secret.
func (p *PAT) String() string { return "verify.PAT{" + p.url + " [credentials redacted]}" }

// Introspections returns how many introspection calls p has made.
func (p *PAT) Introspections() int64 { return p.calls.Load() }

// Authenticate checks a personal access token. See PAT.
func (p *PAT) Authenticate(ctx context.Context, cred string) (*Identity, error) {
	if !token.LooksLikePAT(cred) {
		return nil, ErrNotMine
	}
	if _, err := token.ParsePAT(cred); err != nil {
		return nil, errors.Join(ErrInvalid, err)
	}
	key := sha256.Sum256([]byte(cred))
	now := p.now()
	if id, ok := p.active.get(key, now); ok {
		return p.answer(id, now)
	}
	if id, ok := p.inactive.get(key, now); ok {
		return nil, inactiveError(id)
	}

	p.mu.Lock()
	call, ok := p.inflight[key]
	if !ok {
		call = &introspection{done: make(chan struct{})}
		p.inflight[key] = call
		// The call is not tied to the request that started it: the others
		// waiting for it must not fail because that one went away.
		go p.run(context.WithoutCancel(ctx), key, cred, call)
	}
	p.mu.Unlock()
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrIntrospectionUnavailable, ctx.Err())
	}
	if call.err != nil {
		return nil, call.err
	}
	if call.id == nil || call.foreign {
		return nil, inactiveError(call.id)
	}
	return p.answer(call.id, p.now())
}

// inactiveError is the refusal of a PAT gatehouse called inactive (id nil)
// or active in another workspace than the pinned one.
func inactiveError(id *Identity) error {
	if id != nil {
		return errors.Join(ErrInvalid, ErrWorkspace)
	}
	return errors.Join(ErrInvalid, ErrInactive)
}

// answer returns a copy of a cached identity, once more checked for expiry.
func (p *PAT) answer(id *Identity, now time.Time) (*Identity, error) {
	if !now.Before(id.ExpiresAt) {
		return nil, errors.Join(ErrInvalid, token.ErrExpired)
	}
	cp := *id
	cp.Scopes = append([]string(nil), id.Scopes...)
	return &cp, nil
}

func (p *PAT) run(ctx context.Context, key [sha256.Size]byte, cred string, call *introspection) {
	defer func() {
		p.mu.Lock()
		delete(p.inflight, key)
		p.mu.Unlock()
		close(call.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		call.err = fmt.Errorf("%w: too many introspection calls in flight", ErrIntrospectionUnavailable)
		return
	}
	id, err := p.introspect(ctx, cred)
	now := p.now()
	switch {
	case err != nil:
		call.err = err // never cached
	case id == nil:
		if p.negativeTTL > 0 {
			p.inactive.put(key, nil, now.Add(p.negativeTTL), now)
		}
	case !p.workspace.admits(id.WorkspaceID):
		// Active, but for another workspace: this resource server's client
		// is not of the workspace it was pinned to. Refused as inactive.
		call.id, call.foreign = id, true
		if p.negativeTTL > 0 {
			p.inactive.put(key, id, now.Add(p.negativeTTL), now)
		}
	default:
		call.id = id
		p.active.put(key, id, minTime(now.Add(p.ttl), id.ExpiresAt), now)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// introspectionAnswer is the part of gatehouse's RFC 7662 answer a PAT
// needs (docs/oauth.md, Introspection), under the member names gatehouse's
// POST /v1/oauth/introspect writes. The kind of credential is gatehouse's
// extension member "token_kind" ("access_token" or
// "personal_access_token"; RFC 7662 section 2.2 allows such members), not
// the registered "token_type", which is the OAuth token type of RFC 6749
// section 7.1 and is "Bearer" for every active answer.
type introspectionAnswer struct {
	Active      *bool  `json:"active"`
	Scope       string `json:"scope"`
	Sub         string `json:"sub"`
	JTI         string `json:"jti"`
	Exp         int64  `json:"exp"`
	WorkspaceID string `json:"workspace_id"`
	Kind        string `json:"token_kind"`
}

// introspect makes one call: (nil, nil) means inactive. Errors never carry
// the token (it travels only in the request body).
func (p *PAT) introspect(ctx context.Context, cred string) (*Identity, error) {
	p.calls.Add(1)
	body := url.Values{"token": {cred}, "token_type_hint": {"personal_access_token"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: bad request", ErrIntrospectionUnavailable)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", p.basic)
	resp, err := p.client.Do(req)
	if err != nil {
		// *url.Error names the method and URL only; the body is not in it.
		return nil, fmt.Errorf("%w: %v", ErrIntrospectionUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxIntrospectionLen))
		// 401: gatehouse refused this resource server's client credentials
		// (a configuration fault, not the caller's); 429: rate-limited.
		return nil, fmt.Errorf("%w: introspection answered %d", ErrIntrospectionUnavailable, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionLen))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntrospectionUnavailable, err)
	}
	return parseIntrospection(b)
}

// parseIntrospection reads an RFC 7662 answer (section 2.2) about a PAT:
// (nil, nil) is inactive.
func parseIntrospection(b []byte) (*Identity, error) {
	var a introspectionAnswer
	if err := json.Unmarshal(b, &a); err != nil || a.Active == nil {
		return nil, fmt.Errorf("%w: not an introspection answer", ErrIntrospectionUnavailable)
	}
	if !*a.Active {
		return nil, nil
	}
	if a.Kind != "personal_access_token" {
		// Only gth_ tokens come here, so gatehouse cannot call one anything
		// else; refuse rather than guess.
		return nil, nil
	}
	if a.Sub == "" || a.JTI == "" || a.WorkspaceID == "" || a.Exp <= 0 {
		return nil, fmt.Errorf("%w: incomplete introspection answer", ErrIntrospectionUnavailable)
	}
	return &Identity{Kind: "pat", Subject: a.Sub, WorkspaceID: a.WorkspaceID, Scopes: strings.Fields(a.Scope),
		TokenID: a.JTI, ExpiresAt: time.Unix(a.Exp, 0)}, nil
}

// ttlCache is a bounded map of token hashes to answers with an expiry.
// When full it drops expired entries, then arbitrary ones (Go's map order),
// down to 7/8 of its size, so a full cache costs one sweep per size/8 puts.
type ttlCache struct {
	mu  sync.RWMutex
	max int
	m   map[[sha256.Size]byte]ttlEntry
}

type ttlEntry struct {
	id      *Identity
	expires time.Time
}

func newTTLCache(size int) *ttlCache {
	return &ttlCache{max: size, m: make(map[[sha256.Size]byte]ttlEntry)}
}

func (c *ttlCache) get(k [sha256.Size]byte, now time.Time) (*Identity, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.id, true
}

func (c *ttlCache) put(k [sha256.Size]byte, id *Identity, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) <= c.max-max(c.max/8, 1) {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[k] = ttlEntry{id: id, expires: expires}
}

func (c *ttlCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
