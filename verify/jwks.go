package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// Defaults of a JWKSCache.
const (
	DefaultMinRefreshInterval = 5 * time.Second
	DefaultMaxCacheAge        = 5 * time.Minute
	DefaultCacheAge           = 5 * time.Minute
)

// ErrJWKSUnavailable is returned when no key set could be fetched at all.
var ErrJWKSUnavailable = errors.New("verify: JWKS unavailable")

// JWKSCache fetches and caches a JWK Set.
//
// It keeps a fetched set for the max-age the server sends in Cache-Control
// (no-store, no-cache and max-age=0 count as zero), capped at MaxCacheAge so a
// revoked key leaves a resource server within that bound even when the
// server allows longer caching, and never shorter than MinRefreshInterval.
// It revalidates with If-None-Match when the server sent an ETag.
//
// A token with a kid the set lacks may be signed by a key published since the
// last fetch; Refresh refetches, but at most once per MinRefreshInterval for
// the whole cache, so a flood of tokens with made-up kids cannot become a
// flood of fetches. When a fetch fails, the last good set stays in use.
//
// Nothing in a token ever chooses what is fetched: the URL is configuration.
type JWKSCache struct {
	url                string
	client             *http.Client
	minRefreshInterval time.Duration
	maxCacheAge        time.Duration
	now                func() time.Time

	keys    atomic.Pointer[cachedKeys]
	fetchMu sync.Mutex // one fetch at a time
	fetches atomic.Int64
}

type cachedKeys struct {
	keys      token.Keys
	expires   time.Time
	fetchedAt time.Time // last fetch attempt that answered (200 or 304)
	etag      string
}

// JWKSConfig configures a JWKSCache. Only URL is required.
type JWKSConfig struct {
	// URL of the JWK Set: https, or http to a loopback address (tests, a
	// sidecar).
	URL string
	// HTTPClient fetches it; nil: a client with a 10-second timeout. Redirects
	// are never followed.
	HTTPClient         *http.Client
	MinRefreshInterval time.Duration // default DefaultMinRefreshInterval
	MaxCacheAge        time.Duration // default DefaultMaxCacheAge
	Now                func() time.Time
}

// NewJWKSCache checks cfg and returns an empty cache; the first Keys call
// fetches.
func NewJWKSCache(cfg JWKSConfig) (*JWKSCache, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("verify: bad JWKS URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("verify: JWKS URL must be https (or http to a loopback address)")
	}
	c := &JWKSCache{url: cfg.URL, client: cfg.HTTPClient, minRefreshInterval: cfg.MinRefreshInterval,
		maxCacheAge: cfg.MaxCacheAge, now: cfg.Now}
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
	// Never follow a redirect: a JWKS moved elsewhere is a configuration
	// change, not something a response may decide.
	cl := *c.client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client = &cl
	if c.minRefreshInterval <= 0 {
		c.minRefreshInterval = DefaultMinRefreshInterval
	}
	if c.maxCacheAge <= 0 {
		c.maxCacheAge = DefaultMaxCacheAge
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Fetches returns how many HTTP fetches the cache has made.
func (c *JWKSCache) Fetches() int64 { return c.fetches.Load() }

// Keys returns the cached set, fetching it first if it is missing or has
// expired.
func (c *JWKSCache) Keys(ctx context.Context) (token.Keys, error) {
	ck, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return ck.keys, nil
}

// snapshot is Keys returning the cache entry itself: its pointer identifies
// the set (every fetch makes a new one), so results derived from one set can
// be dropped when it changes.
func (c *JWKSCache) snapshot(ctx context.Context) (*cachedKeys, error) {
	if ck := c.keys.Load(); ck != nil && c.now().Before(ck.expires) {
		return ck, nil
	}
	return c.fetch(ctx, false)
}

// Refresh refetches the set unless a fetch answered within the last
// MinRefreshInterval, and returns the newest set.
func (c *JWKSCache) Refresh(ctx context.Context) (token.Keys, error) {
	ck, err := c.fetch(ctx, true)
	if err != nil {
		return nil, err
	}
	return ck.keys, nil
}

func (c *JWKSCache) fetch(ctx context.Context, force bool) (*cachedKeys, error) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	now := c.now()
	ck := c.keys.Load()
	if ck != nil {
		// Another caller may have fetched while this one waited.
		if !force && now.Before(ck.expires) {
			return ck, nil
		}
		if now.Sub(ck.fetchedAt) < c.minRefreshInterval {
			return ck, nil
		}
	}
	fresh, err := c.get(ctx, ck)
	if err != nil {
		if ck != nil {
			// Serve the last good set; try again after the minimum interval.
			stale := *ck
			stale.fetchedAt = now
			c.keys.Store(&stale)
			return &stale, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrJWKSUnavailable, err)
	}
	c.keys.Store(fresh)
	return fresh, nil
}

func (c *JWKSCache) get(ctx context.Context, prev *cachedKeys) (*cachedKeys, error) {
	c.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if prev != nil && prev.etag != "" {
		req.Header.Set("If-None-Match", prev.etag)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	now := c.now()
	age := c.cacheAge(resp.Header.Values("Cache-Control"))
	switch {
	case resp.StatusCode == http.StatusNotModified && prev != nil:
		return &cachedKeys{keys: prev.keys, expires: now.Add(age), fetchedAt: now, etag: prev.etag}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("JWKS answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, token.MaxJWKSLen+1))
	if err != nil {
		return nil, err
	}
	keys, err := token.ParseJWKS(body)
	if err != nil {
		return nil, err
	}
	return &cachedKeys{keys: keys, expires: now.Add(age), fetchedAt: now, etag: resp.Header.Get("ETag")}, nil
}

// cacheAge reads max-age from Cache-Control (RFC 9111 section 5.2.2) and
// clamps it to [MinRefreshInterval, MaxCacheAge].
func (c *JWKSCache) cacheAge(values []string) time.Duration {
	age := DefaultCacheAge
	noCache, maxAge := false, time.Duration(-1)
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "no-store" || d == "no-cache":
				noCache = true
			case strings.HasPrefix(d, "max-age="):
				n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
				if err == nil && n >= 0 {
					maxAge = time.Duration(min(n, int64(c.maxCacheAge/time.Second))) * time.Second
				}
			}
		}
	}
	switch {
	case noCache:
		age = 0
	case maxAge >= 0:
		age = maxAge
	}
	return min(max(age, c.minRefreshInterval), c.maxCacheAge)
}
