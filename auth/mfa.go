package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/password"
)

// Second factors and passkeys (docs/mfa.md): enrolment of TOTP, passkeys and
// recovery codes, the second step of a sign-in, passwordless passkey
// sign-in and re-authentication. Every change goes through WriteTx; every
// code or assertion check through the credential guard.

// MFAConfig configures MFA.
type MFAConfig struct {
	KEK      kms.KEK            // required: seals TOTP secrets at rest
	Passkeys gatehouse.Passkeys // nil: passkeys are not available
	Hasher   *password.Hasher   // required: re-authentication by password
	Issuer   string             // the otpauth issuer (the public URL's host)
	// Notify mails the person that a recovery code was used; nil: no mail.
	Notify func(ctx context.Context, to string, remaining int) error
}

// MFA is the second-factor service.
type MFA struct {
	*Core
	cfg      MFAConfig
	sessions *SessionKeeper
}

// NewMFA returns the second-factor service over sessions.
func NewMFA(core *Core, sessions *Sessions, cfg MFAConfig) (*MFA, error) {
	if cfg.KEK == nil || cfg.Hasher == nil || sessions == nil {
		return nil, errors.New("auth: MFA needs a KEK, a Hasher and the sessions")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "gatehouse"
	}
	m := &MFA{Core: core, cfg: cfg, sessions: sessions.SessionKeeper}
	sessions.SessionKeeper.mfa = m
	return m, nil
}

// Lifetimes of the server-side flows.
const (
	MFATokenTTL     = 5 * time.Minute // a sign-in waiting for its second factor
	webauthnFlowTTL = 5 * time.Minute // a WebAuthn challenge (W3C WebAuthn 13.4.3)
	recoveryCodes   = 10
)

// Flow kinds.
const (
	flowMFAToken = "mfa_token"
	flowRegister = "webauthn.register"
	flowLogin    = "webauthn.login"  // passwordless
	flowSecond   = "webauthn.second" // a passkey as second factor, for mfa_token or reauthentication
)

var (
	errBadMFA       = gatehouse.Errorf(gatehouse.EInvalidGrant, "the code, passkey or mfa_token is invalid, spent or expired")
	errNoPasskeys   = gatehouse.Errorf(gatehouse.EUnavailable, "passkeys are not configured")
	errBadFactor    = gatehouse.Errorf(gatehouse.ENotFound, "not found")
	errBadEnrolCode = gatehouse.Errorf(gatehouse.EInvalidGrant, "the code is wrong or was already used")
)

// FactorRef names a factor in an mfa_required answer.
type FactorRef struct {
	ID   string
	Type gatehouse.FactorType
}

// MFARequiredError is the answer to a right first factor on an account with
// an active second factor: 403 mfa_required with an mfa_token (docs/mfa.md).
// Its Error and log forms never show the token.
type MFARequiredError struct {
	Token   string
	Factors []FactorRef
}

var errMFARequired = gatehouse.Errorf(gatehouse.EMFARequired, "this account needs its second factor: POST /v1/auth/mfa/verify with the mfa_token")

func (e *MFARequiredError) Error() string { return errMFARequired.Error() }

// Unwrap gives the error code (mfa_required) and safe message.
func (e *MFARequiredError) Unwrap() error { return errMFARequired }

// pendingSignIn is what an mfa_token's flow keeps of the first factor.
type pendingSignIn struct {
	Method   gatehouse.SessionMethod `json:"method"`
	AuthTime int64                   `json:"auth_time"`          // unix microseconds
	Provider string                  `json:"provider,omitempty"` // an upstream provider's sign-in (federation.go)
}

func firstFactor(p pendingSignIn) gatehouse.Factor {
	switch p.Method {
	case gatehouse.MethodMagicLink:
		return gatehouse.MagicLinkFactor{}
	case gatehouse.MethodFederated:
		return gatehouse.FederatedFactor{ProviderID: p.Provider}
	}
	return gatehouse.PasswordFactor{}
}

// activeFactors lists u's active second factors.
func activeFactors(ctx context.Context, t gatehouse.Tx, userID string) ([]*gatehouse.MFAFactor, error) {
	all, err := t.UserFactors(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []*gatehouse.MFAFactor
	for _, f := range all {
		if f.Status == gatehouse.FactorActive {
			out = append(out, f)
		}
	}
	return out, nil
}

// challenge is called by SessionKeeper.start's callers through
// startOrChallenge: when in's user has an active second factor, the sign-in
// is pending; its first factor's result is kept under a new mfa_token and
// the answer is MFARequiredError (committed with t).
func (m *MFA) challenge(ctx context.Context, t *Tx, in *gatehouse.SignIn) error {
	fs, err := activeFactors(ctx, t, in.User.ID)
	if err != nil || len(fs) == 0 {
		return err
	}
	in.Pending = []string{"second_factor"}
	tok, err := newSecretToken()
	if err != nil {
		return err
	}
	first := pendingSignIn{Method: in.Method(), AuthTime: in.AuthTime.UnixMicro()}
	if f, ok := in.Factors[0].(gatehouse.FederatedFactor); ok {
		first.Provider = f.ProviderID
	}
	data, _ := json.Marshal(first)
	now := m.now()
	if err := t.CreateMFAFlow(ctx, &gatehouse.MFAFlow{ID: flowKey(tok), Kind: flowMFAToken, UserID: in.User.ID, Data: data, ExpiresAt: now.Add(MFATokenTTL)}); err != nil {
		return err
	}
	e := &MFARequiredError{Token: tok}
	for _, f := range fs {
		e.Factors = append(e.Factors, FactorRef{ID: f.ID, Type: f.Type})
	}
	return CommitThen(e)
}

// flowKey is how an mfa_token is stored: its SHA-256, hex.
func flowKey(tok string) string { return hex.EncodeToString(hashToken(tok)) }

// startOrChallenge starts a session for a finished first factor, or, when
// the account has a second factor, answers mfa_required.
func (k *SessionKeeper) startOrChallenge(ctx context.Context, t *Tx, in *gatehouse.SignIn) (*gatehouse.Session, string, error) {
	if k.mfa != nil {
		if err := k.mfa.challenge(ctx, t, in); err != nil {
			return nil, "", err
		}
	}
	return k.start(ctx, t, in)
}

// ---- Enrolment --------------------------------------------------------------

// TOTPEnrolment is a new, pending TOTP factor: the secret is shown once.
type TOTPEnrolment struct {
	ID         string
	Secret     string // base32, no padding
	OTPAuthURI string
}

// EnrolTOTP creates a pending TOTP factor (active once confirmed with a code).
func (m *MFA) EnrolTOTP(ctx context.Context, p *gatehouse.Principal) (*TOTPEnrolment, error) {
	if err := requireSession(p, "second factors are managed"); err != nil {
		return nil, err
	}
	key := make([]byte, totpKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	now := m.now()
	id := gatehouse.NewID(now)
	sealed, err := kms.Seal(ctx, m.cfg.KEK, key, totpAAD(id))
	if err != nil {
		return nil, err
	}
	var email string
	err = m.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := m.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		u, err := t.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		email = u.Email
		return t.CreateFactor(ctx, &gatehouse.MFAFactor{ID: id, UserID: p.UserID, Type: gatehouse.FactorTOTP, Name: "Authenticator app",
			Status: gatehouse.FactorPending, Secret: sealed, CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	secret := totpB32.EncodeToString(key)
	return &TOTPEnrolment{ID: id, Secret: secret, OTPAuthURI: otpauthURI(m.cfg.Issuer, email, secret)}, nil
}

func totpAAD(id string) []byte { return []byte("gatehouse totp v1:" + id) }

// ConfirmTOTP activates a pending TOTP factor with a code it produced.
func (m *MFA) ConfirmTOTP(ctx context.Context, p *gatehouse.Principal, id, code string) (err error) {
	if err := requireSession(p, "second factors are managed"); err != nil {
		return err
	}
	pass, err := enter(ctx, Attempt{Account: "user:" + p.UserID})
	if err != nil {
		return err
	}
	defer func() { pass.Done(ctx, err) }()
	now := m.now()
	return m.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := m.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		f, err := t.FactorByID(ctx, id)
		if errors.Is(err, gatehouse.ErrNotFound) || err == nil && (f.UserID != p.UserID || f.Type != gatehouse.FactorTOTP) {
			return errBadFactor
		}
		if err != nil {
			return err
		}
		key, err := kms.Open(ctx, m.cfg.KEK, f.Secret, totpAAD(f.ID))
		if err != nil {
			return err
		}
		step, ok := checkTOTP(key, code, now)
		if !ok {
			return errBadEnrolCode
		}
		if err := t.UseTOTPStep(ctx, f.ID, step, true, now); errors.Is(err, gatehouse.ErrNotFound) {
			return errBadEnrolCode
		} else if err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventFactorAdded, Actor: p.UserID, Target: "user:" + p.UserID,
			Details: map[string]string{"factor_id": f.ID, "type": string(f.Type)}})
	})
}

// WebAuthnOptions is a ceremony's options and the flow that keeps its
// challenge.
type WebAuthnOptions struct {
	FlowID    string
	PublicKey json.RawMessage
}

func (m *MFA) newFlow(ctx context.Context, t *Tx, kind, userID string, session []byte) (string, error) {
	now := m.now()
	id := gatehouse.NewID(now)
	return id, t.CreateMFAFlow(ctx, &gatehouse.MFAFlow{ID: id, Kind: kind, UserID: userID, Data: session, ExpiresAt: now.Add(webauthnFlowTTL)})
}

// PasskeyRegistrationOptions begins adding a passkey.
func (m *MFA) PasskeyRegistrationOptions(ctx context.Context, p *gatehouse.Principal) (*WebAuthnOptions, error) {
	if err := requireSession(p, "second factors are managed"); err != nil {
		return nil, err
	}
	if m.cfg.Passkeys == nil {
		return nil, errNoPasskeys
	}
	var out WebAuthnOptions
	err := m.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := m.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		u, err := t.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		fs, err := t.UserFactors(ctx, p.UserID)
		if err != nil {
			return err
		}
		opts, sess, err := m.cfg.Passkeys.BeginRegistration(u, fs)
		if err != nil {
			return err
		}
		out.PublicKey = opts
		out.FlowID, err = m.newFlow(ctx, t, flowRegister, u.ID, sess)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// FactorInfo is one entry of a person's factor list.
type FactorInfo struct {
	ID         string
	Type       gatehouse.FactorType
	Name       string
	Status     string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

func factorInfo(f *gatehouse.MFAFactor) FactorInfo {
	return FactorInfo{ID: f.ID, Type: f.Type, Name: f.Name, Status: f.Status, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt}
}

// RegisterPasskey finishes adding a passkey named name.
func (m *MFA) RegisterPasskey(ctx context.Context, p *gatehouse.Principal, flowID, name string, credential []byte) (*FactorInfo, error) {
	if err := requireSession(p, "second factors are managed"); err != nil {
		return nil, err
	}
	if m.cfg.Passkeys == nil {
		return nil, errNoPasskeys
	}
	if strings.TrimSpace(name) != "" {
		var err error
		if name, err = ValidName("name", name); err != nil {
			return nil, err
		}
	}
	now := m.now()
	var out FactorInfo
	var bad error
	err := m.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := m.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		flow, err := t.ConsumeMFAFlow(ctx, flowID, flowRegister, now)
		if errors.Is(err, gatehouse.ErrNotFound) || err == nil && flow.UserID != p.UserID {
			return CommitThen(gatehouse.Errorf(gatehouse.EInvalidRequest, "the registration flow is unknown, spent or expired"))
		}
		if err != nil {
			return err
		}
		u, err := t.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		f, known, err := m.cfg.Passkeys.FinishRegistration(u, flow.Data, credential)
		if err != nil {
			bad = gatehouse.Errorf(gatehouse.EInvalidRequest, "the passkey could not be verified")
			return CommitThen(bad) // the challenge stays spent
		}
		if name == "" {
			name = known
		}
		if name == "" {
			name = "Passkey"
		}
		f.ID, f.UserID, f.Type, f.Name, f.Status, f.CreatedAt = gatehouse.NewID(now), u.ID, gatehouse.FactorPasskey, name, gatehouse.FactorActive, now
		if err := t.CreateFactor(ctx, f); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return gatehouse.Errorf(gatehouse.EConflict, "this passkey is already registered")
			}
			return err
		}
		out = factorInfo(f)
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventFactorAdded, Actor: p.UserID, Target: "user:" + p.UserID,
			Details: map[string]string{"factor_id": f.ID, "type": string(f.Type), "aaguid": hex.EncodeToString(f.AAGUID)}})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Factors lists the caller's factors.
func (m *MFA) Factors(ctx context.Context, p *gatehouse.Principal) ([]FactorInfo, error) {
	if err := requireSession(p, "second factors are managed"); err != nil {
		return nil, err
	}
	var out []FactorInfo
	err := m.InTx(ctx, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		fs, err := t.UserFactors(ctx, p.UserID)
		for _, f := range fs {
			out = append(out, factorInfo(f))
		}
		return err
	})
	return out, err
}

// RemoveFactor deletes one of the caller's factors and ends the sessions it
// signed in (through RevokeSession, as every session end).
func (m *MFA) RemoveFactor(ctx context.Context, p *gatehouse.Principal, id string) error {
	if err := requireSession(p, "second factors are managed"); err != nil {
		return err
	}
	now := m.now()
	return m.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := m.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		f, err := t.FactorByID(ctx, id)
		if errors.Is(err, gatehouse.ErrNotFound) || err == nil && f.UserID != p.UserID {
			return errBadFactor
		}
		if err != nil {
			return err
		}
		sids, err := t.FactorSessions(ctx, f.ID)
		if err != nil {
			return err
		}
		if err := t.DeleteFactor(ctx, p.UserID, f.ID); err != nil {
			return err
		}
		if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventFactorRemoved, Actor: p.UserID, Target: "user:" + p.UserID,
			Details: map[string]string{"factor_id": f.ID, "type": string(f.Type), "sessions_ended": strconv.Itoa(len(sids))}}); err != nil {
			return err
		}
		for _, sid := range sids {
			if err := t.RevokeSession(ctx, sid, now); errors.Is(err, gatehouse.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSessionRevoked, Actor: p.UserID, Target: "session:" + sid,
				Details: map[string]string{"reason": "factor_removed"}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Recovery codes: 12 characters of a 32-letter alphabet without look-alikes
// (60 bits each), shown as xxxx-xxxx-xxxx; stored as SHA-256 of the
// normalized code (high-entropy, so a fast hash suffices, as for tokens).
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789" + "0"

func newRecoveryCode() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	out := make([]byte, 0, 14)
	for i, x := range b {
		if i == 4 || i == 8 {
			out = append(out, '-')
		}
		out = append(out, recoveryAlphabet[x&31])
	}
	return string(out), nil
}

// normalizeRecoveryCode lower-cases and drops separators; "" when it cannot
// be one.
func normalizeRecoveryCode(c string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(c) {
		switch {
		case r == '-' || r == ' ':
		case strings.ContainsRune(recoveryAlphabet, r):
			b.WriteRune(r)
		default:
			return ""
		}
		if b.Len() > 12 {
			return ""
		}
	}
	if b.Len() != 12 {
		return ""
	}
	return b.String()
}

func hashRecoveryCode(norm string) []byte {
	h := sha256.Sum256([]byte("gatehouse recovery code v1:" + norm))
	return h[:]
}

// RecoveryCodes makes 10 new recovery codes, voiding the old ones, and
// returns them (shown once).
func (m *MFA) RecoveryCodes(ctx context.Context, p *gatehouse.Principal) ([]string, error) {
	if err := requireSession(p, "second factors are managed"); err != nil {
		return nil, err
	}
	codes := make([]string, recoveryCodes)
	hashes := make([][]byte, recoveryCodes)
	for i := range codes {
		c, err := newRecoveryCode()
		if err != nil {
			return nil, err
		}
		codes[i], hashes[i] = c, hashRecoveryCode(normalizeRecoveryCode(c))
	}
	now := m.now()
	err := m.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := m.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		if err := t.ReplaceRecoveryCodes(ctx, p.UserID, hashes, now); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRecoveryCodesGenerated, Actor: p.UserID, Target: "user:" + p.UserID,
			Details: map[string]string{"count": strconv.Itoa(recoveryCodes)}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}
