package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Defaults of KeysConfig (docs/keys.md says why).
const (
	DefaultKeyAlg         = token.EdDSA
	DefaultAccessTTL      = 15 * time.Minute
	DefaultPublishAhead   = time.Hour
	DefaultRotationPeriod = 30 * 24 * time.Hour
	DefaultKeyPoll        = 2 * time.Second
)

// KeysConfig configures the signing-key lifecycle and access tokens.
type KeysConfig struct {
	Issuer   string // iss: GATEHOUSE_PUBLIC_URL
	Audience string // aud of the tokens; default Issuer
	// Alg is the algorithm of new keys: EdDSA (default), ES256 or RS256.
	Alg token.Alg
	// AccessTTL is the lifetime of an access token (GATEHOUSE_ACCESS_TTL).
	AccessTTL time.Duration
	// MaxTokenTTL bounds every token a key signs; a retired key stays
	// published for MaxTokenTTL + Leeway. Default AccessTTL.
	MaxTokenTTL time.Duration
	Leeway      time.Duration // default token.DefaultLeeway
	// PublishAhead is how long a new key is published before it signs
	// (GATEHOUSE_KEY_PUBLISH_AHEAD), and the JWKS max-age.
	PublishAhead time.Duration
	// RotationPeriod is how long a key signs before the next one takes over.
	RotationPeriod time.Duration
	// Poll is how often a running server checks the key set for changes
	// made elsewhere (another instance, the CLI).
	Poll time.Duration
	// KEK encrypts private keys at rest.
	KEK kms.KEK
	// IDTokenAlgs are further key families, one per algorithm, each
	// rotated as Alg's is: OpenID Connect Discovery 1.0 section 3 requires
	// RS256 among the id_token algorithms (docs/oidc.md), so a server that
	// signs access tokens with EdDSA keeps an RS256 key beside it. The Alg
	// family is always one of the id_token algorithms.
	IDTokenAlgs []token.Alg
}

// Keys runs the signing-key lifecycle (next → active → retired → removed, or
// revoked), issues access tokens (RFC 9068) and verifies them.
//
// The key rows are the truth; every instance keeps a snapshot and reloads it
// when the key-set version changes (checked every Poll). Status follows from
// a key's times and the clock, so next → active → retired needs no write.
// A rotation or revocation takes the key-set lock (LockSigningKeys) and
// re-reads the rows under it, so when several instances find a rotation due
// at once, exactly one makes it.
type Keys struct {
	*Core
	cfg   KeysConfig
	state atomic.Pointer[keyState]

	mu      sync.Mutex // serializes reloads
	signers map[string]*token.Signer

	jwksMu    sync.Mutex
	jwksCache *JWKS
}

type keyState struct {
	version  int64
	keys     []*gatehouse.SigningKey
	pub      map[string]token.PublicKey
	signers  map[string]*token.Signer
	verified verifiedCache // tokens verified against this snapshot
}

// NewKeys checks cfg, fills defaults and returns a Keys with an empty
// snapshot: call Load (or Start) before use.
func NewKeys(core *Core, cfg KeysConfig) (*Keys, error) {
	if cfg.Issuer == "" || cfg.KEK == nil {
		return nil, errors.New("auth: keys need an issuer and a key-encryption key")
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if cfg.Alg == "" {
		cfg.Alg = DefaultKeyAlg
	}
	if !cfg.Alg.Valid() {
		return nil, fmt.Errorf("auth: unsupported signing algorithm %q", cfg.Alg)
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.MaxTokenTTL < cfg.AccessTTL {
		cfg.MaxTokenTTL = cfg.AccessTTL
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = token.DefaultLeeway
	}
	if cfg.PublishAhead <= 0 {
		cfg.PublishAhead = DefaultPublishAhead
	}
	if cfg.RotationPeriod <= 0 {
		cfg.RotationPeriod = DefaultRotationPeriod
	}
	if cfg.RotationPeriod <= cfg.PublishAhead {
		return nil, errors.New("auth: the key rotation period must be longer than the publish-ahead window")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultKeyPoll
	}
	algs := []token.Alg{cfg.Alg}
	for _, a := range cfg.IDTokenAlgs {
		if !a.Valid() {
			return nil, fmt.Errorf("auth: unsupported signing algorithm %q", a)
		}
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	cfg.IDTokenAlgs = algs
	k := &Keys{Core: core, cfg: cfg, signers: map[string]*token.Signer{}}
	k.state.Store(&keyState{version: -1})
	return k, nil
}

// Config returns the effective configuration.
func (k *Keys) Config() KeysConfig { return k.cfg }

// keep is how long a retired key stays published.
func (k *Keys) keep() time.Duration { return k.cfg.MaxTokenTTL + k.cfg.Leeway }

// Start loads the key set, makes the first key on a fresh install, and runs
// the poll loop (reload on change, rotate when due) until ctx ends.
func (k *Keys) Start(ctx context.Context) error {
	if err := k.Tick(ctx); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(k.cfg.Poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := k.Tick(ctx); err != nil && ctx.Err() == nil {
					k.Log.Error("signing keys: poll failed", slog.Any("error", err))
				}
			}
		}
	}()
	return nil
}

// Tick reloads the snapshot if the key set changed, and rotates if a
// rotation is due (or no key exists yet). It costs one cheap read, outside
// any transaction (Store.Read), when there is nothing to do.
func (k *Keys) Tick(ctx context.Context) error {
	var v int64
	if err := k.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		v, err = tx.SigningKeysVersion(ctx)
		return err
	}); err != nil {
		return err
	}
	if v != k.state.Load().version {
		if err := k.Load(ctx); err != nil {
			return err
		}
	}
	if k.rotationDue(k.state.Load().keys, k.now()) {
		if _, err := k.rotate(ctx, rotateAuto, "system"); err != nil {
			return err
		}
	}
	return nil
}

// Load reads every key row and rebuilds the snapshot, decrypting the private
// keys of the keys that sign now or next.
func (k *Keys) Load(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var (
		v    int64
		rows []*gatehouse.SigningKey
	)
	if err := k.Store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		if v, err = tx.SigningKeysVersion(ctx); err != nil {
			return err
		}
		rows, err = tx.SigningKeys(ctx)
		return err
	}); err != nil {
		return err
	}
	now := k.now()
	st := &keyState{version: v, keys: rows, pub: map[string]token.PublicKey{}, signers: map[string]*token.Signer{}}
	for _, r := range rows {
		switch r.Status(now, k.keep()) {
		case gatehouse.KeyRevoked, gatehouse.KeyRemoved:
			delete(k.signers, r.KID)
			continue
		case gatehouse.KeyNext, gatehouse.KeyActive:
			s, err := k.signer(ctx, r)
			if err != nil {
				// Published and verifiable, but this instance cannot sign
				// with it (a changed master secret, a KMS key it cannot
				// use): IssueAccessToken answers unavailable until
				// `gatehouse keys rotate --now` makes a key it can use.
				k.Log.Error("signing keys: cannot decrypt a private key; run `gatehouse keys rotate --now` with the current key-encryption key",
					slog.String("kid", r.KID), slog.Any("error", err))
				break
			}
			st.signers[r.KID] = s
		}
		var j token.JWK
		if err := json.Unmarshal(r.PublicJWK, &j); err != nil {
			return fmt.Errorf("auth: signing key %s: public key: %w", r.KID, err)
		}
		pk, err := j.PublicKey()
		if err != nil {
			return fmt.Errorf("auth: signing key %s: public key: %w", r.KID, err)
		}
		st.pub[r.KID] = pk
	}
	k.state.Store(st)
	return nil
}

// signer returns the decrypted signer of r, from the cache or the store.
func (k *Keys) signer(ctx context.Context, r *gatehouse.SigningKey) (*token.Signer, error) {
	if s, ok := k.signers[r.KID]; ok {
		return s, nil
	}
	der, err := kms.Open(ctx, k.cfg.KEK, r.PrivateKey, []byte(r.KID))
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %s: %w", r.KID, err)
	}
	priv, err := token.ParsePrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %s: %w", r.KID, err)
	}
	s, err := token.NewSigner(r.KID, token.Alg(r.Alg), priv)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %s: %w", r.KID, err)
	}
	k.signers[r.KID] = s
	return s, nil
}

// classify returns the active key and the next key (either may be nil)
// among rows at now, of the access-token family (cfg.Alg).
func (k *Keys) classify(rows []*gatehouse.SigningKey, now time.Time) (active, next *gatehouse.SigningKey) {
	return k.classifyAlg(rows, now, k.cfg.Alg)
}

// classifyAlg is classify for the key family of alg: each family rotates on
// its own (IDTokenAlgs).
func (k *Keys) classifyAlg(rows []*gatehouse.SigningKey, now time.Time, alg token.Alg) (active, next *gatehouse.SigningKey) {
	for _, r := range rows {
		if r.Alg != string(alg) {
			continue
		}
		switch r.Status(now, k.keep()) {
		case gatehouse.KeyActive:
			if active == nil || r.ActivatesAt.After(active.ActivatesAt) {
				active = r
			}
		case gatehouse.KeyNext:
			if next == nil || r.ActivatesAt.After(next.ActivatesAt) {
				next = r
			}
		}
	}
	return active, next
}

// rotationDue reports whether an automatic rotation should run: no key at
// all, or no successor scheduled when the active key's period ends within
// the publish-ahead window.
func (k *Keys) rotationDue(rows []*gatehouse.SigningKey, now time.Time) bool {
	for _, alg := range k.cfg.IDTokenAlgs {
		if k.familyDue(rows, now, alg) {
			return true
		}
	}
	return false
}

// familyDue is rotationDue for the family of alg.
func (k *Keys) familyDue(rows []*gatehouse.SigningKey, now time.Time, alg token.Alg) bool {
	active, next := k.classifyAlg(rows, now, alg)
	if next != nil {
		return false
	}
	if active == nil {
		return true
	}
	return !now.Before(active.ActivatesAt.Add(k.cfg.RotationPeriod - k.cfg.PublishAhead))
}

type rotateMode int

const (
	rotateAuto      rotateMode = iota // on the period; also makes the first key
	rotateScheduled                   // `keys rotate`: a new key that signs after PublishAhead
	rotateNow                         // `keys rotate --now`: a key that signs at once
)

// KeyInfo describes a key for listings (no private material).
type KeyInfo struct {
	KID         string              `json:"kid"`
	Alg         string              `json:"alg"`
	Status      gatehouse.KeyStatus `json:"status"`
	CreatedAt   time.Time           `json:"created_at"`
	ActivatesAt time.Time           `json:"activates_at"`
	RetiresAt   *time.Time          `json:"retires_at,omitempty"`
	RemovedAt   *time.Time          `json:"removed_at,omitempty"` // when a retiring key leaves the JWKS
	RevokedAt   *time.Time          `json:"revoked_at,omitempty"`
}

func (k *Keys) info(r *gatehouse.SigningKey, now time.Time) KeyInfo {
	ki := KeyInfo{KID: r.KID, Alg: r.Alg, Status: r.Status(now, k.keep()), CreatedAt: r.CreatedAt, ActivatesAt: r.ActivatesAt}
	if !r.RetiresAt.IsZero() {
		ret, rem := r.RetiresAt, r.RetiresAt.Add(k.keep())
		ki.RetiresAt, ki.RemovedAt = &ret, &rem
	}
	if !r.RevokedAt.IsZero() {
		rev := r.RevokedAt
		ki.RevokedAt = &rev
	}
	return ki
}

// Rotate publishes a new key. With now false it signs after PublishAhead
// (if a next key is already scheduled, that one is returned and nothing
// changes); with now true it signs at once (the scheduled next key, if any,
// is promoted instead, since it is already published). actor is recorded in
// the key.rotated event.
func (k *Keys) Rotate(ctx context.Context, now bool, actor string) (KeyInfo, error) {
	mode := rotateScheduled
	if now {
		mode = rotateNow
	}
	return k.rotate(ctx, mode, actor)
}

func (k *Keys) rotate(ctx context.Context, mode rotateMode, actor string) (KeyInfo, error) {
	var out KeyInfo
	changed := false
	err := k.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		if _, err := t.LockSigningKeys(ctx); err != nil {
			return err
		}
		rows, err := t.SigningKeys(ctx)
		if err != nil {
			return err
		}
		now := k.now()
		if err := k.removeExpired(ctx, t, rows, now); err != nil {
			return err
		}
		for _, alg := range k.cfg.IDTokenAlgs {
			info, did, err := k.rotateFamily(ctx, t, rows, now, mode, actor, alg)
			if err != nil {
				return err
			}
			if alg == k.cfg.Alg {
				out = info
			}
			changed = changed || did
		}
		if changed {
			return t.BumpSigningKeysVersion(ctx)
		}
		return nil
	})
	if err != nil {
		return KeyInfo{}, err
	}
	if changed {
		return out, k.Load(ctx)
	}
	return out, nil
}

// rotateFamily is rotate for the key family of alg, inside rotate's
// transaction; changed reports whether it wrote anything.
func (k *Keys) rotateFamily(ctx context.Context, t *Tx, rows []*gatehouse.SigningKey, now time.Time, mode rotateMode, actor string, alg token.Alg) (out KeyInfo, changed bool, err error) {
	active, next := k.classifyAlg(rows, now, alg)
	var key *gatehouse.SigningKey
	switch {
	case mode == rotateAuto && !k.familyDue(rows, now, alg):
		return out, false, nil // another instance did it while we waited for the lock
	case mode == rotateScheduled && next != nil:
		return k.info(next, now), false, nil
	case mode == rotateNow && next != nil && k.canSign(ctx, next):
		if err := t.UpdateSigningKeyTimes(ctx, next.KID, now, time.Time{}); err != nil {
			return out, false, err
		}
		next.ActivatesAt = now
		key = next
	default:
		at := now.Add(k.cfg.PublishAhead)
		switch {
		case active == nil || mode == rotateNow:
			at = now // first key (nothing to pre-publish for), or an emergency
		case mode == rotateAuto:
			if end := active.ActivatesAt.Add(k.cfg.RotationPeriod); end.After(at) {
				at = end
			}
		}
		if key, err = k.newKey(ctx, now, at, alg); err != nil {
			return out, false, err
		}
		if err := t.CreateSigningKey(ctx, key); err != nil {
			return out, false, err
		}
		if mode == rotateNow && next != nil {
			// A scheduled key this instance cannot decrypt: withdraw
			// it, or it would take over (unusable) at its time.
			if err := t.RevokeSigningKey(ctx, next.KID, now); err != nil {
				return out, false, err
			}
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventKeyRevoked, Actor: actor, Target: "key:" + next.KID,
				Details: map[string]string{"kid": next.KID, "status": string(gatehouse.KeyNext), "reason": "undecryptable"}}); err != nil {
				return out, false, err
			}
		}
	}
	if active != nil {
		if err := t.UpdateSigningKeyTimes(ctx, active.KID, active.ActivatesAt, key.ActivatesAt); err != nil {
			return out, false, err
		}
	}
	out = k.info(key, now)
	details := map[string]string{"kid": key.KID, "alg": key.Alg, "activates_at": key.ActivatesAt.Format(time.RFC3339), "mode": mode.String()}
	if active != nil {
		details["previous_kid"] = active.KID
	}
	return out, true, t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventKeyRotated, Actor: actor, Target: "key:" + key.KID, Details: details})
}

// canSign reports whether this instance can decrypt r's private key.
func (k *Keys) canSign(ctx context.Context, r *gatehouse.SigningKey) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, err := k.signer(ctx, r)
	return err == nil
}

// CanSign reports whether a key signs now on this instance.
func (k *Keys) CanSign() bool {
	st := k.state.Load()
	active, _ := k.classify(st.keys, k.Now())
	return active != nil && st.signers[active.KID] != nil
}

func (m rotateMode) String() string {
	switch m {
	case rotateScheduled:
		return "scheduled"
	case rotateNow:
		return "now"
	}
	return "auto"
}

// removeExpired deletes the rows of keys that have left the JWKS for good:
// retired keys past their keep time, and revoked keys a keep time after
// revocation (kept that long so `keys list` shows them).
func (k *Keys) removeExpired(ctx context.Context, t *Tx, rows []*gatehouse.SigningKey, now time.Time) error {
	for _, r := range rows {
		st := r.Status(now, k.keep())
		if st == gatehouse.KeyRemoved || st == gatehouse.KeyRevoked && now.After(r.RevokedAt.Add(k.keep())) {
			if err := t.DeleteSigningKey(ctx, r.KID); err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// newKey generates a key pair and seals its private key under the KEK.
func (k *Keys) newKey(ctx context.Context, now, activates time.Time, alg token.Alg) (*gatehouse.SigningKey, error) {
	priv, err := token.GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	kid, err := token.Thumbprint(priv.Public())
	if err != nil {
		return nil, err
	}
	pk, err := token.NewPublicKey(kid, alg, priv.Public())
	if err != nil {
		return nil, err
	}
	j, err := pk.JWK()
	if err != nil {
		return nil, err
	}
	pub, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	der, err := token.MarshalPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sealed, err := kms.Seal(ctx, k.cfg.KEK, der, []byte(kid))
	clear(der)
	if err != nil {
		return nil, err
	}
	return &gatehouse.SigningKey{KID: kid, Alg: string(alg), PublicJWK: pub, PrivateKey: sealed,
		CreatedAt: now, ActivatesAt: activates}, nil
}

// Revoke withdraws a key at once: it leaves the JWKS and its tokens stop
// verifying (on this instance at once, on others within Poll). If it was
// signing, the scheduled next key is promoted when this instance can decrypt
// it; otherwise a new key is made (and an undecryptable next key withdrawn),
// so a usable key signs at once. Revoking the scheduled next key unschedules
// it.
func (k *Keys) Revoke(ctx context.Context, kid, actor string) error {
	if !token.ValidKID(kid) {
		return gatehouse.ErrNotFound
	}
	err := k.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		if _, err := t.LockSigningKeys(ctx); err != nil {
			return err
		}
		rows, err := t.SigningKeys(ctx)
		if err != nil {
			return err
		}
		now := k.now()
		var key *gatehouse.SigningKey
		for _, r := range rows {
			if r.KID == kid {
				key = r
			}
		}
		if key == nil {
			return gatehouse.ErrNotFound
		}
		status := key.Status(now, k.keep())
		if status == gatehouse.KeyRevoked {
			return gatehouse.Errorf(gatehouse.EConflict, "key %s is already revoked", kid)
		}
		active, next := k.classifyAlg(rows, now, token.Alg(key.Alg)) // the revoked key's own family
		if err := t.RevokeSigningKey(ctx, kid, now); err != nil {
			return err
		}
		if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventKeyRevoked, Actor: actor, Target: "key:" + kid,
			Details: map[string]string{"kid": kid, "status": string(status)}}); err != nil {
			return err
		}
		switch {
		case status == gatehouse.KeyActive:
			var repl *gatehouse.SigningKey
			if next != nil && k.canSign(ctx, next) {
				if err := t.UpdateSigningKeyTimes(ctx, next.KID, now, time.Time{}); err != nil {
					return err
				}
				repl = next
			} else {
				if repl, err = k.newKey(ctx, now, now, token.Alg(key.Alg)); err != nil {
					return err
				}
				if err := t.CreateSigningKey(ctx, repl); err != nil {
					return err
				}
				if next != nil {
					// A scheduled key this instance cannot decrypt (sealed
					// under another key-encryption key): promoting it would
					// leave nothing that signs, and left scheduled it would
					// take over, unusable, at its time. Withdraw it, as
					// Rotate(now) does.
					if err := t.RevokeSigningKey(ctx, next.KID, now); err != nil {
						return err
					}
					if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventKeyRevoked, Actor: actor, Target: "key:" + next.KID,
						Details: map[string]string{"kid": next.KID, "status": string(gatehouse.KeyNext), "reason": "undecryptable"}}); err != nil {
						return err
					}
				}
			}
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventKeyRotated, Actor: actor, Target: "key:" + repl.KID,
				Details: map[string]string{"kid": repl.KID, "alg": repl.Alg, "mode": "revocation", "previous_kid": kid}}); err != nil {
				return err
			}
		case status == gatehouse.KeyNext && active != nil:
			if err := t.UpdateSigningKeyTimes(ctx, active.KID, active.ActivatesAt, time.Time{}); err != nil {
				return err
			}
		}
		return t.BumpSigningKeysVersion(ctx)
	})
	if err != nil {
		return err
	}
	return k.Load(ctx)
}

// List returns every key row with its status at now.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	var rows []*gatehouse.SigningKey
	if err := k.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		rows, err = tx.SigningKeys(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	now := k.now()
	out := make([]KeyInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, k.info(r, now))
	}
	return out, nil
}
