package auth

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
	"github.com/gatehouse-auth/gatehouse/token"
)

// PATScopes is the vocabulary a personal access token may be granted
// (docs/scopes.md).
var PATScopes = []string{
	gatehouse.ScopeProfileRead,
	gatehouse.ScopeWorkspacesRead,
	gatehouse.ScopeWorkspacesWrite,
	gatehouse.ScopeAuditRead,
}

// DefaultPATScopes are a new PAT's scopes when none are asked for (the
// default of PATs.DefaultScopes, docs/scopes.md).
var DefaultPATScopes = []string{gatehouse.ScopeProfileRead, gatehouse.ScopeWorkspacesRead}

// The defaults of PATs.DefaultTTL and PATs.MaxTTL, and the bounds of PATs.
const (
	DefaultPATTTL    = 30 * 24 * time.Hour
	DefaultPATMaxTTL = 365 * 24 * time.Hour
	// PATTouchEvery is how often last_used_at is written at most, per token.
	PATTouchEvery = time.Minute
	// MaxPATsPerUser bounds the tokens one account may hold.
	MaxPATsPerUser = 100
)

// PATs manages personal access tokens (docs/scopes.md).
type PATs struct {
	*Core
	DefaultTTL    time.Duration // expiry when none is asked for; default DefaultPATTTL
	MaxTTL        time.Duration // the latest expiry allowed; default DefaultPATMaxTTL
	DefaultScopes []string      // scopes when none are asked for; default DefaultPATScopes
}

func (s *PATs) defaultTTL() time.Duration {
	if s.DefaultTTL > 0 {
		return s.DefaultTTL
	}
	return DefaultPATTTL
}

func (s *PATs) maxTTL() time.Duration {
	if s.MaxTTL > 0 {
		return s.MaxTTL
	}
	return DefaultPATMaxTTL
}

// validScopes checks requested scopes against the vocabulary, removing
// duplicates; nil means the default.
func (s *PATs) validScopes(scopes []string) ([]string, error) {
	if scopes == nil {
		if s.DefaultScopes != nil {
			return append([]string(nil), s.DefaultScopes...), nil
		}
		return append([]string(nil), DefaultPATScopes...), nil
	}
	seen := map[string]bool{}
	out := []string{}
	for _, sc := range scopes {
		known := false
		for _, v := range PATScopes {
			known = known || v == sc
		}
		if !known {
			return nil, gatehouse.Errorf(gatehouse.EInvalidScope, "unknown scope; the scopes are %s", strings.Join(PATScopes, ", "))
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	sort.Strings(out)
	return out, nil
}

// CreatedPAT is a new token and its one showing of the secret.
type CreatedPAT struct {
	PAT   *gatehouse.PAT
	Token token.PAT
}

// Create makes a token for the caller in workspace, of which the caller must
// be a member. A zero expiresAt means now + DefaultTTL; it must lie in the
// future and at most MaxTTL ahead.
func (s *PATs) Create(ctx context.Context, p *gatehouse.Principal, workspaceID, name string, scopes []string, expiresAt time.Time) (*CreatedPAT, error) {
	if err := requireSession(p, "personal access tokens are managed"); err != nil {
		return nil, err
	}
	if err := limit(ctx, ratelimit.PATCreateUser, p.UserID); err != nil { // the guard (guard.go)
		return nil, err
	}
	name, err := ValidName("name", name)
	if err != nil {
		return nil, err
	}
	if scopes, err = s.validScopes(scopes); err != nil {
		return nil, err
	}
	now := s.now()
	if expiresAt.IsZero() {
		expiresAt = now.Add(s.defaultTTL())
	}
	expiresAt = expiresAt.UTC().Truncate(time.Microsecond)
	if !expiresAt.After(now) || expiresAt.After(now.Add(s.maxTTL())) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "expires_at must be in the future and at most %s ahead", gatehouse.FormatDuration(s.maxTTL()))
	}
	if !gatehouse.ValidID(workspaceID) {
		return nil, gatehouse.ErrNotFound
	}
	secret, err := token.NewPAT(nil)
	if err != nil {
		return nil, err
	}
	pat := &gatehouse.PAT{ID: gatehouse.NewID(now), WorkspaceID: workspaceID, UserID: p.UserID, Name: name,
		Prefix: secret.Prefix(), Hash: token.LookupHashHex(secret.Reveal()), Scopes: scopes, CreatedAt: now, ExpiresAt: expiresAt}
	// WriteTx: an access token whose session has ended (revoked, expired,
	// idle) or whose account is not active must not turn into a long-lived
	// PAT in the time it has left.
	err = s.WriteTx(ctx, p, gatehouse.Scope{WorkspaceID: workspaceID, UserID: p.UserID}, func(t *Tx) error {
		if _, err := t.Member(ctx, workspaceID, p.UserID); err != nil {
			return err // not_found for a non-member
		}
		// A PAT keeps working under require_mfa, so minting one needs what
		// the workspace asks of a session (mfa_policy.go).
		if err := requireMFAPolicy(ctx, t, p, workspaceID); err != nil {
			return err
		}
		if err := s.RequireRecentSignIn(ctx, t, p); err != nil {
			return err // a PAT outlives the session: a recent sign-in only (reauth.go)
		}
		// Counted under the account's row lock: concurrent creations take
		// turns, so the cap holds.
		n, err := t.CountPATsForUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if n >= MaxPATsPerUser {
			return gatehouse.Errorf(gatehouse.EConflict, "an account may hold at most %d personal access tokens", MaxPATsPerUser)
		}
		if err := t.CreatePAT(ctx, pat); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventPATCreated, Actor: p.UserID, Target: "pat:" + pat.ID, WorkspaceID: workspaceID,
			Details: map[string]string{"scopes": strings.Join(scopes, " "), "expires_at": expiresAt.Format(time.RFC3339)}})
	})
	if err != nil {
		return nil, err
	}
	return &CreatedPAT{PAT: pat, Token: secret}, nil
}

// List returns the caller's tokens in every workspace, newest first.
func (s *PATs) List(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.PAT, error) {
	if err := requireSession(p, "personal access tokens are managed"); err != nil {
		return nil, err
	}
	var out []*gatehouse.PAT
	err := s.InTx(ctx, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		var err error
		out, err = t.PATsForUser(ctx, p.UserID)
		return err
	})
	return out, err
}

// Get returns the caller's token id.
func (s *PATs) Get(ctx context.Context, p *gatehouse.Principal, id string) (*gatehouse.PAT, error) {
	if err := requireSession(p, "personal access tokens are managed"); err != nil {
		return nil, err
	}
	if !gatehouse.ValidID(id) {
		return nil, gatehouse.ErrNotFound
	}
	var out *gatehouse.PAT
	err := s.InTx(ctx, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		var err error
		out, err = t.PAT(ctx, p.UserID, id)
		return err
	})
	return out, err
}

// scopeOf returns the transaction scope for changing the caller's token id:
// its workspace (so the audit event lands in that workspace's trail, as row-
// level security requires) and the caller.
func (s *PATs) scopeOf(ctx context.Context, p *gatehouse.Principal, id string) (gatehouse.Scope, error) {
	pat, err := s.Get(ctx, p, id)
	if err != nil {
		return gatehouse.Scope{}, err
	}
	return gatehouse.Scope{WorkspaceID: pat.WorkspaceID, UserID: p.UserID}, nil
}

// PATUpdate is a change to a token; nil fields are left as they are.
type PATUpdate struct {
	Name      *string
	Scopes    []string // nil: unchanged
	ExpiresAt *time.Time
}

// Update renames a token, replaces its scopes (within the vocabulary), or
// moves its expiry earlier (never later, and not into the past).
func (s *PATs) Update(ctx context.Context, p *gatehouse.Principal, id string, u PATUpdate) (*gatehouse.PAT, error) {
	if err := requireSession(p, "personal access tokens are managed"); err != nil {
		return nil, err
	}
	if !gatehouse.ValidID(id) {
		return nil, gatehouse.ErrNotFound
	}
	scope, err := s.scopeOf(ctx, p, id)
	if err != nil {
		return nil, err
	}
	var out *gatehouse.PAT
	err = s.WriteTx(ctx, p, scope, func(t *Tx) error {
		pat, err := t.PAT(ctx, p.UserID, id)
		if err != nil {
			return err
		}
		changed := []string{}
		if u.Name != nil {
			if pat.Name, err = ValidName("name", *u.Name); err != nil {
				return err
			}
			changed = append(changed, "name")
		}
		if u.Scopes != nil {
			if pat.Scopes, err = s.validScopes(u.Scopes); err != nil {
				return err
			}
			changed = append(changed, "scopes")
		}
		if u.ExpiresAt != nil {
			e := u.ExpiresAt.UTC().Truncate(time.Microsecond)
			if e.After(pat.ExpiresAt) || !e.After(s.now()) {
				return gatehouse.Errorf(gatehouse.EInvalidRequest, "expires_at may only move earlier, and must stay in the future")
			}
			pat.ExpiresAt = e
			changed = append(changed, "expires_at")
		}
		if err := t.UpdatePAT(ctx, pat); err != nil {
			return err
		}
		out = pat
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventPATUpdated, Actor: p.UserID, Target: "pat:" + pat.ID, WorkspaceID: pat.WorkspaceID,
			Details: map[string]string{"changed": strings.Join(changed, ","), "scopes": strings.Join(pat.Scopes, " ")}})
	})
	return out, err
}

// Delete removes the caller's token id; it fails at once.
func (s *PATs) Delete(ctx context.Context, p *gatehouse.Principal, id string) error {
	if err := requireSession(p, "personal access tokens are managed"); err != nil {
		return err
	}
	if !gatehouse.ValidID(id) {
		return gatehouse.ErrNotFound
	}
	scope, err := s.scopeOf(ctx, p, id)
	if err != nil {
		return err
	}
	return s.WriteTx(ctx, p, scope, func(t *Tx) error {
		pat, err := t.PAT(ctx, p.UserID, id)
		if err != nil {
			return err
		}
		if err := t.DeletePAT(ctx, p.UserID, id); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventPATDeleted, Actor: p.UserID, Target: "pat:" + id, WorkspaceID: pat.WorkspaceID})
	})
}

var errBadPAT = gatehouse.Errorf(gatehouse.EUnauthorized, "the bearer token is not valid")

// Authenticate checks a PAT: format and checksum first (a malformed token
// never reaches the store), then one statement that finds it by its SHA-256
// hash with its owner's status, then expiry and that status; at most once a
// minute per token, a short transaction records its use.
func (s *PATs) Authenticate(ctx context.Context, bearer string) (_ *gatehouse.Principal, err error) {
	// The guard (guard.go): refused while the IP is past its failed-auth
	// ceiling; a PAT that does not authenticate counts against the IP.
	pass, err := enter(ctx, Attempt{})
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	secret, err := token.ParsePAT(bearer)
	if err != nil {
		return nil, errBadPAT
	}
	hash := token.LookupHashHex(secret.Reveal())
	var pat *gatehouse.PAT
	now := s.now()
	err = s.Store.Read(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		var err error
		if pat, err = tx.PATByHash(ctx, hash); err != nil {
			return err
		}
		if !now.Before(pat.ExpiresAt) || pat.OwnerStatus != gatehouse.StatusActive {
			return errBadPAT
		}
		return nil
	})
	if err == nil && (pat.LastUsedAt.IsZero() || now.Sub(pat.LastUsedAt) >= PATTouchEvery) {
		err = s.Store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			return tx.TouchPAT(ctx, hash, now, PATTouchEvery)
		})
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return nil, errBadPAT
		}
		return nil, err
	}
	return &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: pat.UserID, TokenID: pat.ID,
		WorkspaceID: pat.WorkspaceID, Scopes: pat.Scopes}, nil
}
