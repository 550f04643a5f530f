package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// verifiedCache remembers the claims of access tokens already verified
// against one key snapshot, keyed by the whole token string (never a part
// of it: the same signature under another payload must miss), so a client
// that sends the same token on every request pays for one signature check.
// It belongs to the snapshot: any change to the key set (a revocation, a
// rotation) makes a new snapshot with an empty cache. An entry is used only
// until its token's exp (+ leeway). When full, it is emptied.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]token.Claims
}

// maxVerified bounds the cache (about 1 KiB per entry).
const maxVerified = 10000

func (c *verifiedCache) get(tok string) (token.Claims, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cl, ok := c.m[tok]
	return cl, ok
}

func (c *verifiedCache) put(tok string, cl token.Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxVerified {
		c.m = make(map[string]token.Claims)
	}
	c.m[tok] = cl
}

// liveKeys is the verification key set at one instant: the published keys
// (next, active, retired) of a snapshot.
type liveKeys struct {
	st   *keyState
	now  time.Time
	keep time.Duration
}

func (l liveKeys) PublicKey(kid string) (token.PublicKey, bool) {
	pk, ok := l.st.pub[kid]
	if !ok {
		return pk, false
	}
	for _, r := range l.st.keys {
		if r.KID == kid {
			switch r.Status(l.now, l.keep) {
			case gatehouse.KeyNext, gatehouse.KeyActive, gatehouse.KeyRetired:
				return pk, true
			}
			return pk, false
		}
	}
	return pk, false
}

// IssueAccessToken signs c as an RFC 9068 access token with the active key.
// It fills iss, aud (when empty), iat, exp (now + AccessTTL when zero) and
// jti (when empty), and refuses an exp beyond MaxTokenTTL, since retired keys
// are published only that long. It returns the token and its lifetime in
// seconds (expires_in).
func (k *Keys) IssueAccessToken(ctx context.Context, c token.Claims) (string, int, error) {
	now := k.Now()
	st := k.state.Load()
	active, _ := k.classify(st.keys, now)
	if active == nil || st.signers[active.KID] == nil {
		return "", 0, gatehouse.Errorf(gatehouse.EUnavailable, "no signing key is available")
	}
	c.Issuer = k.cfg.Issuer
	if len(c.Audience) == 0 {
		c.Audience = token.Audience{k.cfg.Audience}
	}
	c.IssuedAt = now.Unix()
	if c.ExpiresAt == 0 {
		c.ExpiresAt = now.Add(k.cfg.AccessTTL).Unix()
	}
	if c.ExpiresAt > now.Add(k.cfg.MaxTokenTTL).Unix() || c.ExpiresAt <= c.IssuedAt {
		return "", 0, errors.New("auth: access token lifetime out of bounds")
	}
	if c.ID == "" {
		c.ID = gatehouse.NewID(now)
	}
	if c.Subject == "" || c.ClientID == "" {
		return "", 0, errors.New("auth: access token needs sub and client_id")
	}
	tok, err := st.signers[active.KID].SignAccessToken(&c)
	if err != nil {
		return "", 0, err
	}
	return tok, int(c.ExpiresAt - c.IssuedAt), nil
}

// VerifyAccessToken verifies an access token against the published keys of
// the current snapshot: a revoked or removed key's tokens fail. A token
// already verified against this snapshot is answered from its cache (still
// checked for expiry).
func (k *Keys) VerifyAccessToken(tok string) (*token.Claims, error) {
	now := k.Now()
	st := k.state.Load()
	if c, ok := st.verified.get(tok); ok {
		if !now.Before(time.Unix(c.ExpiresAt, 0).Add(k.cfg.Leeway)) {
			return nil, token.ErrExpired
		}
		return &c, nil
	}
	v := token.Verifier{Issuer: k.cfg.Issuer, Audience: k.cfg.Audience, Leeway: k.cfg.Leeway, Now: func() time.Time { return now }}
	c, err := v.Verify(tok, liveKeys{st: st, now: now, keep: k.keep()})
	if err != nil {
		return nil, err
	}
	st.verified.put(tok, *c)
	return c, nil
}

// JWKS is the published key set document.
type JWKS struct {
	Body   []byte
	ETag   string
	MaxAge time.Duration
	kids   string
}

// JWKS returns the document of the published keys (next, active, retired;
// never revoked or removed), its ETag, and the max-age to serve it with (the
// publish-ahead window: a client that caches it that long still sees every
// key before it signs).
func (k *Keys) JWKS() (*JWKS, error) {
	now := k.Now()
	st := k.state.Load()
	var keys []token.PublicKey
	var kids string
	rows := append([]*gatehouse.SigningKey(nil), st.keys...)
	order := map[gatehouse.KeyStatus]int{gatehouse.KeyActive: 0, gatehouse.KeyNext: 1, gatehouse.KeyRetired: 2}
	sort.SliceStable(rows, func(i, j int) bool {
		return order[rows[i].Status(now, k.keep())] < order[rows[j].Status(now, k.keep())]
	})
	for _, r := range rows {
		switch r.Status(now, k.keep()) {
		case gatehouse.KeyNext, gatehouse.KeyActive, gatehouse.KeyRetired:
			if pk, ok := st.pub[r.KID]; ok {
				keys = append(keys, pk)
				kids += r.KID + "."
			}
		}
	}
	k.jwksMu.Lock()
	defer k.jwksMu.Unlock()
	if c := k.jwksCache; c != nil && c.kids == kids {
		return c, nil
	}
	body, err := token.MarshalJWKS(keys)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	c := &JWKS{Body: body, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`, MaxAge: k.cfg.PublishAhead, kids: kids}
	k.jwksCache = c
	return c, nil
}

// SessionClientID is the client_id of the access tokens of people's own
// sessions (signed in at gatehouse itself, not through an OAuth client).
const SessionClientID = "gatehouse"

// sessionScope is the scope claim of a person's own access token: every
// scope, since the session is the person (docs/reference.md §6 lists scope among the
// claims; resource servers using package verify see the PAT vocabulary).
var sessionScope = strings.Join(PATScopes, " ")

// IssueSessionToken signs the access token of a person's session: sub the
// user, sid the session, client_id SessionClientID, every scope, lifetime
// AccessTTL.
func (k *Keys) IssueSessionToken(ctx context.Context, userID, sessionID string) (string, time.Duration, error) {
	return k.IssueSessionAccessToken(ctx, &gatehouse.Session{ID: sessionID, UserID: userID})
}

// IssueSessionAccessToken is IssueSessionToken for session s, with s's
// auth_time and amr (RFC 9068 section 2.2.1) when it has them. It is the
// SessionTokenIssuer of Sessions.
func (k *Keys) IssueSessionAccessToken(ctx context.Context, s *gatehouse.Session) (string, time.Duration, error) {
	c := token.Claims{Subject: s.UserID, SessionID: s.ID, ClientID: SessionClientID, Scope: sessionScope, AMR: s.AMR}
	if !s.AuthTime.IsZero() {
		c.AuthTime = s.AuthTime.Unix()
	}
	tok, exp, err := k.IssueAccessToken(ctx, c)
	return tok, time.Duration(exp) * time.Second, err
}

var _ SessionTokenIssuer = (*Keys)(nil)
