package gatehouse

import (
	"context"
	"time"
)

// Error codes of second factors (docs/mfa.md).
const (
	// EMFARequired: the first factor was right and the account needs a
	// second one (403, with an mfa_token), or a workspace requires two
	// factors of a person's token (403).
	EMFARequired Code = "mfa_required"
)

// Audit events of second factors (docs/mfa.md).
const (
	EventFactorAdded            EventType = "factor.added"
	EventFactorRemoved          EventType = "factor.removed"
	EventMFASucceeded           EventType = "mfa.succeeded"
	EventMFAFailed              EventType = "mfa.failed"
	EventRecoveryCodesGenerated EventType = "recovery_codes.generated"
	EventRecoveryCodeUsed       EventType = "recovery_code.used"
	EventReauthenticated        EventType = "reauthenticated"
	// EventWorkspaceRequireMFA: a workspace's require_mfa changed.
	EventWorkspaceRequireMFA EventType = "workspace.require_mfa_changed"
)

// MethodPasskey: a session started by a passkey alone.
const MethodPasskey SessionMethod = "passkey"

// The kinds of second factor, and their states.
const (
	FactorTOTP    FactorType = "totp"
	FactorPasskey FactorType = "passkey"
	FactorPending            = "pending"
	FactorActive             = "active"
)

// amr values (RFC 8176 section 2).
const (
	totpAMR     = "otp"
	recoveryAMR = "otp"
	passkeyAMR  = "hwk"
)

// FactorType is the kind of a second factor.
type FactorType string

// MFAFactor is a person's second factor: a TOTP secret or a passkey.
type MFAFactor struct {
	ID     string
	UserID string
	Type   FactorType
	Name   string
	Status string // FactorPending (TOTP before its first code) or FactorActive
	// TOTP: the secret sealed under the key-encryption key (kms.Seal), and
	// the last time step a code was accepted for (a code is accepted once).
	Secret   []byte
	LastStep int64
	// Passkey: the credential id, the signature counter, the authenticator's
	// AAGUID and the credential as the WebAuthn adapter keeps it (public key,
	// flags, transports; nothing secret).
	CredentialID []byte
	SignCount    int64
	AAGUID       []byte
	Credential   []byte
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero: never used
}

// MFAFlow is a short-lived, single-use server-side record: a WebAuthn
// ceremony's challenge (Kind "webauthn.*") or a sign-in waiting for its
// second factor (Kind "mfa_token", ID the SHA-256 of the token, hex).
type MFAFlow struct {
	ID        string
	Kind      string
	UserID    string // "" for a passwordless passkey ceremony
	Data      []byte // the ceremony's session data, or the pending sign-in
	ExpiresAt time.Time
	UsedAt    time.Time
}

// MFATx reads and writes second factors, recovery codes and flows. They live
// outside any workspace; every query filters by id or user_id.
type MFATx interface {
	CreateFactor(ctx context.Context, f *MFAFactor) error
	// FactorByID returns ErrNotFound when there is none.
	FactorByID(ctx context.Context, id string) (*MFAFactor, error)
	// FactorByCredentialID returns the passkey with this credential id.
	FactorByCredentialID(ctx context.Context, credID []byte) (*MFAFactor, error)
	// UserFactors lists userID's factors, pending ones too, oldest first.
	UserFactors(ctx context.Context, userID string) ([]*MFAFactor, error)
	// UseTOTPStep records step as the factor's last used one, in one
	// statement, only if it is later than the last (and, with activate,
	// turns a pending factor active; without, only an active one matches);
	// ErrNotFound otherwise. Of concurrent uses of one code one succeeds.
	UseTOTPStep(ctx context.Context, id string, step int64, activate bool, now time.Time) error
	// UsePasskey moves the passkey's counter to count, only if count is
	// greater than the stored one or both are zero (an authenticator
	// without a counter); ErrNotFound otherwise.
	UsePasskey(ctx context.Context, id string, count int64, now time.Time) error
	// DeleteFactor deletes userID's factor id; ErrNotFound when none.
	DeleteFactor(ctx context.Context, userID, id string) error
	// ReplaceRecoveryCodes voids userID's recovery codes and stores hashes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error
	// UseRecoveryCode marks userID's unused code with this hash used, in one
	// statement; ErrNotFound when there is none.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error
	// UnusedRecoveryCodes counts userID's unused recovery codes.
	UnusedRecoveryCodes(ctx context.Context, userID string) (int, error)

	CreateMFAFlow(ctx context.Context, f *MFAFlow) error
	// MFAFlowByID returns the unused, unexpired flow of this id and kind;
	// ErrNotFound otherwise.
	MFAFlowByID(ctx context.Context, id, kind string, now time.Time) (*MFAFlow, error)
	// ConsumeMFAFlow marks it used in one statement and returns it; of
	// concurrent consumptions one succeeds, the others get ErrNotFound.
	ConsumeMFAFlow(ctx context.Context, id, kind string, now time.Time) (*MFAFlow, error)

	// LinkSessionFactors records the second factors a session was signed in
	// with; FactorSessions lists the unrevoked sessions signed in with
	// factorID.
	LinkSessionFactors(ctx context.Context, sessionID string, factorIDs []string) error
	FactorSessions(ctx context.Context, factorID string) ([]string, error)
	// SetSessionAuthTime freshens a live session's auth_time and amr
	// (re-authentication); ErrNotFound when it is not live.
	SetSessionAuthTime(ctx context.Context, sessionID string, authTime time.Time, amr []string) error

	// WorkspaceRequiresMFA reports whether the workspace requires two
	// factors of people's tokens; SetWorkspaceRequireMFA sets it.
	WorkspaceRequiresMFA(ctx context.Context, id string) (bool, error)
	SetWorkspaceRequireMFA(ctx context.Context, id string, v bool) error
}

// TOTPFactor is a TOTP code (RFC 6238); its amr is "otp" (RFC 8176).
type TOTPFactor struct{ ID string }

// AMR is "otp".
func (TOTPFactor) AMR() string { return totpAMR }

// Method is MethodPassword: a TOTP is never a first factor.
func (TOTPFactor) Method() SessionMethod { return MethodPassword }

// FactorID is the factor's id, so sessions signed in with it end with it.
func (f TOTPFactor) FactorID() string { return f.ID }

// RecoveryCodeFactor is a single-use recovery code; its amr is "otp".
type RecoveryCodeFactor struct{}

// AMR is "otp".
func (RecoveryCodeFactor) AMR() string { return recoveryAMR }

// Method is MethodPassword: a recovery code is never a first factor.
func (RecoveryCodeFactor) Method() SessionMethod { return MethodPassword }

// PasskeyFactor is a WebAuthn assertion (hwk, RFC 8176: proof of possession
// of a hardware-secured key). With user verification (UV) the authenticator
// also checked a PIN or biometric, so it counts as two factors ("mfa").
type PasskeyFactor struct {
	ID string
	UV bool
}

// AMR is "hwk".
func (PasskeyFactor) AMR() string { return passkeyAMR }

// Method is MethodPasskey.
func (PasskeyFactor) Method() SessionMethod { return MethodPasskey }

// FactorID is the passkey's factor id.
func (f PasskeyFactor) FactorID() string { return f.ID }

// MultiFactor reports whether the passkey verified its user.
func (f PasskeyFactor) MultiFactor() bool { return f.UV }

// Passkeys runs WebAuthn ceremonies (W3C WebAuthn Level 3) for package auth,
// which knows no HTTP: an adapter over a WebAuthn library implements it
// (package passkey). Options are the JSON sent to the browser as publicKey;
// session is opaque data kept server-side (MFAFlow.Data) until the finish.
type Passkeys interface {
	// BeginRegistration returns creation options for user (discoverable
	// credential required, user verification preferred), excluding exclude.
	BeginRegistration(user *User, exclude []*MFAFactor) (options, session []byte, err error)
	// FinishRegistration verifies the attestation response (the browser's
	// PublicKeyCredential JSON) and returns the new passkey (CredentialID,
	// SignCount, AAGUID, Credential set) and the authenticator's name, if
	// known.
	FinishRegistration(user *User, session, response []byte) (*MFAFactor, string, error)
	// BeginLogin returns request options: for allow (a second factor, user
	// verification preferred) or, when allow is nil, for any discoverable
	// credential (user verification required).
	BeginLogin(allow []*MFAFactor) (options, session []byte, err error)
	// CredentialID reads the credential id an assertion names.
	CredentialID(response []byte) ([]byte, error)
	// FinishLogin verifies an assertion for passkey f of user and returns
	// the new signature count and whether the user was verified.
	FinishLogin(user *User, f *MFAFactor, session, response []byte) (count int64, uv bool, err error)
}
