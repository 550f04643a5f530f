package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/password"
)

// SecondFactor is what a person presents as a second factor: a code (TOTP
// or recovery code), or a passkey assertion with the flow of its options.
type SecondFactor struct {
	Code       string
	FlowID     string
	Credential []byte
}

func (s SecondFactor) passkey() bool { return s.FlowID != "" || len(s.Credential) > 0 }

// checkSecond checks sf for u, in t: a TOTP code against each active TOTP
// factor (the step is then spent), a recovery code (then spent), or a
// passkey assertion for the flow's challenge (spent in any case). It returns
// the factor proven, or errBadMFA.
func (m *MFA) checkSecond(ctx context.Context, t *Tx, u *gatehouse.User, sf SecondFactor, now time.Time) (gatehouse.Factor, bool, error) {
	fs, err := activeFactors(ctx, t, u.ID)
	if err != nil {
		return nil, false, err
	}
	if sf.passkey() {
		if m.cfg.Passkeys == nil {
			return nil, false, errBadMFA
		}
		flow, err := t.ConsumeMFAFlow(ctx, sf.FlowID, flowSecond, now)
		if errors.Is(err, gatehouse.ErrNotFound) || err == nil && flow.UserID != u.ID {
			return nil, false, errBadMFA
		}
		if err != nil {
			return nil, false, err
		}
		f, count, uv, err := m.assert(ctx, t, flow, sf.Credential)
		if err != nil {
			return nil, false, err
		}
		if f.UserID != u.ID {
			return nil, false, errBadMFA
		}
		if err := t.UsePasskey(ctx, f.ID, count, now); errors.Is(err, gatehouse.ErrNotFound) {
			return nil, false, errBadMFA // the counter went backwards: a cloned authenticator
		} else if err != nil {
			return nil, false, err
		}
		return gatehouse.PasskeyFactor{ID: f.ID, UV: uv}, false, nil
	}
	code := strings.TrimSpace(sf.Code)
	if len(code) == totpDigits {
		for _, f := range fs {
			if f.Type != gatehouse.FactorTOTP {
				continue
			}
			key, err := kms.Open(ctx, m.cfg.KEK, f.Secret, totpAAD(f.ID))
			if err != nil {
				return nil, false, err
			}
			step, ok := checkTOTP(key, code, now)
			if !ok {
				continue
			}
			if err := t.UseTOTPStep(ctx, f.ID, step, false, now); errors.Is(err, gatehouse.ErrNotFound) {
				return nil, false, errBadMFA // this code (or a later one) was already used
			} else if err != nil {
				return nil, false, err
			}
			return gatehouse.TOTPFactor{ID: f.ID}, false, nil
		}
		return nil, false, errBadMFA
	}
	norm := normalizeRecoveryCode(code)
	if norm == "" || len(fs) == 0 {
		return nil, false, errBadMFA
	}
	if err := t.UseRecoveryCode(ctx, u.ID, hashRecoveryCode(norm), now); errors.Is(err, gatehouse.ErrNotFound) {
		return nil, false, errBadMFA
	} else if err != nil {
		return nil, false, err
	}
	return gatehouse.RecoveryCodeFactor{}, true, nil
}

// assert verifies a passkey assertion against flow's challenge and returns
// the passkey, its new counter and whether the user was verified.
func (m *MFA) assert(ctx context.Context, t *Tx, flow *gatehouse.MFAFlow, cred []byte) (*gatehouse.MFAFactor, int64, bool, error) {
	id, err := m.cfg.Passkeys.CredentialID(cred)
	if err != nil {
		return nil, 0, false, errBadMFA
	}
	f, err := t.FactorByCredentialID(ctx, id)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, 0, false, errBadMFA
	}
	if err != nil {
		return nil, 0, false, err
	}
	u, err := t.UserByID(ctx, f.UserID)
	if err != nil {
		return nil, 0, false, err
	}
	count, uv, err := m.cfg.Passkeys.FinishLogin(u, f, flow.Data, cred)
	if err != nil {
		return nil, 0, false, errBadMFA
	}
	return f, count, uv, nil
}

// mfaFailed records mfa.failed in t (committed with the refusal).
func mfaFailed(t *Tx, userID, reason string) error {
	return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMFAFailed, Outcome: gatehouse.OutcomeFailure, Actor: userID, Target: "user:" + userID,
		Details: map[string]string{"reason": reason}})
}

// pendingFor reads the sign-in an mfa_token keeps, and its user; errBadMFA
// when the token is unknown, spent or expired.
func (m *MFA) pendingFor(ctx context.Context, token string) (*gatehouse.MFAFlow, *gatehouse.User, error) {
	if !validSecretToken(token) {
		return nil, nil, errBadMFA
	}
	var flow *gatehouse.MFAFlow
	var u *gatehouse.User
	err := m.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		var err error
		if flow, err = t.MFAFlowByID(ctx, flowKey(token), flowMFAToken, m.now()); err != nil {
			return err
		}
		u, err = t.UserByID(ctx, flow.UserID)
		return err
	})
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, nil, errBadMFA
	}
	return flow, u, err
}

// VerifyMFA is the second step of a sign-in (docs/mfa.md): the mfa_token
// and a TOTP code, a recovery code or a passkey assertion. Past the
// account's or the IP's failed-auth ceiling nothing is checked; a wrong
// factor counts against both; the token ends with its first success.
func (m *MFA) VerifyMFA(ctx context.Context, token string, sf SecondFactor) (_ *TokenResponse, err error) {
	flow, u, err := m.pendingFor(ctx, token)
	if err != nil {
		if errors.Is(err, errBadMFA) {
			return nil, CredentialsMissing(ctx, err) // the IP's ceiling
		}
		return nil, err
	}
	pass, err := enter(ctx, Attempt{Account: EmailAccount(u.Email)}) // the same account as its password
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	if sf.Code == "" && !sf.passkey() {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "code, or flow_id and credential, are required")
	}
	var first pendingSignIn
	if err := json.Unmarshal(flow.Data, &first); err != nil {
		return nil, err
	}
	now := m.now()
	var sess *gatehouse.Session
	var refresh string
	var notify string
	var remaining int
	err = m.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		cur, err := t.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur.Status != gatehouse.StatusActive {
			return CommitThen(statusError(cur.Status))
		}
		if _, err := t.MFAFlowByID(ctx, flow.ID, flowMFAToken, now); errors.Is(err, gatehouse.ErrNotFound) {
			return errBadMFA
		} else if err != nil {
			return err
		}
		f, recovery, err := m.checkSecond(ctx, t, cur, sf, now)
		if errors.Is(err, errBadMFA) {
			if aerr := mfaFailed(t, cur.ID, "wrong_factor"); aerr != nil {
				return aerr
			}
			return CommitThen(err) // a spent challenge stays spent
		}
		if err != nil {
			return err
		}
		if _, err := t.ConsumeMFAFlow(ctx, flow.ID, flowMFAToken, now); errors.Is(err, gatehouse.ErrNotFound) {
			return errBadMFA // a concurrent success took it: this one changes nothing
		} else if err != nil {
			return err
		}
		in := &gatehouse.SignIn{User: cur, Factors: []gatehouse.Factor{firstFactor(first), f}, AuthTime: now}
		if err := m.succeeded(ctx, t, cur, f, recovery); err != nil {
			return err
		}
		if recovery {
			notify = cur.Email
			if remaining, err = t.UnusedRecoveryCodes(ctx, cur.ID); err != nil {
				return err
			}
		}
		sess, refresh, err = m.sessions.start(ctx, t, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.notifyRecovery(ctx, notify, remaining)
	return m.sessions.respond(ctx, sess, refresh)
}

// succeeded records mfa.succeeded (and recovery_code.used).
func (m *MFA) succeeded(ctx context.Context, t *Tx, u *gatehouse.User, f gatehouse.Factor, recovery bool) error {
	d := map[string]string{"amr": f.AMR()}
	if x, ok := f.(interface{ FactorID() string }); ok {
		d["factor_id"] = x.FactorID()
	}
	if recovery {
		d["factor"] = "recovery_code"
		if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventRecoveryCodeUsed, Actor: u.ID, Target: "user:" + u.ID}); err != nil {
			return err
		}
	}
	return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMFASucceeded, Actor: u.ID, Target: "user:" + u.ID, Details: d})
}

func (m *MFA) notifyRecovery(ctx context.Context, to string, remaining int) {
	if to == "" || m.cfg.Notify == nil {
		return
	}
	if err := m.cfg.Notify(ctx, to, remaining); err != nil {
		m.Log.ErrorContext(ctx, "recovery-code notice not sent", "error", err.Error())
	}
}

// MFAWebAuthnOptions gives the passkey options for the second step of the
// sign-in an mfa_token keeps (its user's passkeys).
func (m *MFA) MFAWebAuthnOptions(ctx context.Context, token string) (*WebAuthnOptions, error) {
	if m.cfg.Passkeys == nil {
		return nil, errNoPasskeys
	}
	_, u, err := m.pendingFor(ctx, token)
	if err != nil {
		if errors.Is(err, errBadMFA) {
			return nil, CredentialsMissing(ctx, err)
		}
		return nil, err
	}
	return m.secondOptions(ctx, u.ID)
}

func (m *MFA) secondOptions(ctx context.Context, userID string) (*WebAuthnOptions, error) {
	var out WebAuthnOptions
	err := m.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		fs, err := activeFactors(ctx, t, userID)
		if err != nil {
			return err
		}
		var pk []*gatehouse.MFAFactor
		for _, f := range fs {
			if f.Type == gatehouse.FactorPasskey {
				pk = append(pk, f)
			}
		}
		if len(pk) == 0 {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "this account has no passkey")
		}
		opts, sess, err := m.cfg.Passkeys.BeginLogin(pk)
		if err != nil {
			return err
		}
		out.PublicKey = opts
		out.FlowID, err = m.newFlow(ctx, t, flowSecond, userID, sess)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PasskeyOptions begins a passwordless passkey sign-in (any discoverable
// credential, user verification required).
func (m *MFA) PasskeyOptions(ctx context.Context) (*WebAuthnOptions, error) {
	if m.cfg.Passkeys == nil {
		return nil, errNoPasskeys
	}
	// The guard: an IP past its failed-auth ceiling starts no ceremony
	// (nothing is counted: no credential is checked here).
	if _, err := enter(ctx, Attempt{}); err != nil {
		return nil, err
	}
	var out WebAuthnOptions
	err := m.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		opts, sess, err := m.cfg.Passkeys.BeginLogin(nil)
		if err != nil {
			return err
		}
		out.PublicKey = opts
		out.FlowID, err = m.newFlow(ctx, t, flowLogin, "", sess)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PasskeyLogin signs a person in with a passkey alone. A wrong or replayed
// assertion (challenge spent, counter backwards, foreign origin or rp id)
// is invalid_grant and a failed authentication for the IP.
func (m *MFA) PasskeyLogin(ctx context.Context, flowID string, cred []byte) (_ *TokenResponse, err error) {
	if m.cfg.Passkeys == nil {
		return nil, errNoPasskeys
	}
	pass, err := enter(ctx, Attempt{})
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	now := m.now()
	var sess *gatehouse.Session
	var refresh string
	err = m.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		flow, err := t.ConsumeMFAFlow(ctx, flowID, flowLogin, now)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return errBadMFA
		}
		if err != nil {
			return err
		}
		f, count, uv, err := m.assert(ctx, t, flow, cred)
		if errors.Is(err, errBadMFA) {
			return CommitThen(err)
		}
		if err != nil {
			return err
		}
		if !uv || f.Status != gatehouse.FactorActive {
			if aerr := mfaFailed(t, f.UserID, "user_not_verified"); aerr != nil {
				return aerr
			}
			return CommitThen(errBadMFA)
		}
		if err := t.UsePasskey(ctx, f.ID, count, now); errors.Is(err, gatehouse.ErrNotFound) {
			if aerr := mfaFailed(t, f.UserID, "counter_backwards"); aerr != nil {
				return aerr
			}
			return CommitThen(errBadMFA)
		} else if err != nil {
			return err
		}
		u, err := t.UserByID(ctx, f.UserID)
		if err != nil {
			return err
		}
		if u.Status != gatehouse.StatusActive {
			if err := t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure, Actor: u.ID, Target: "user:" + u.ID,
				Details: map[string]string{"method": string(gatehouse.MethodPasskey), "reason": "account_" + string(u.Status)}}); err != nil {
				return err
			}
			return CommitThen(statusError(u.Status))
		}
		sess, refresh, err = m.sessions.start(ctx, t, gatehouse.NewSignIn(u, gatehouse.PasskeyFactor{ID: f.ID, UV: uv}, now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return m.sessions.respond(ctx, sess, refresh)
}

// ReauthOptions gives passkey options for re-authenticating the caller.
func (m *MFA) ReauthOptions(ctx context.Context, p *gatehouse.Principal) (*WebAuthnOptions, error) {
	if err := requireSession(p, "re-authentication is done"); err != nil {
		return nil, err
	}
	if m.cfg.Passkeys == nil {
		return nil, errNoPasskeys
	}
	return m.secondOptions(ctx, p.UserID)
}

// Reauthenticate freshens the caller's session's auth_time after a password
// or a second factor (docs/mfa.md) and returns a new access token for the
// same session (the refresh token stays as it is).
func (m *MFA) Reauthenticate(ctx context.Context, p *gatehouse.Principal, pw string, sf SecondFactor) (_ *TokenResponse, err error) {
	if err := requireSession(p, "re-authentication is done"); err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err = m.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		var err error
		u, err = t.UserByID(ctx, p.UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	pass, err := enter(ctx, Attempt{Account: EmailAccount(u.Email)})
	if err != nil {
		return nil, err
	}
	defer func() { pass.Done(ctx, err) }()
	var byPassword bool
	if pw != "" {
		ok, _, err := m.cfg.Hasher.Verify(ctx, pw, u.PasswordHash)
		if err != nil && !errors.Is(err, password.ErrMalformed) {
			return nil, err
		}
		if !ok {
			_ = m.Record(ctx, &gatehouse.AuditEvent{Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure, Actor: u.ID, Target: "user:" + u.ID,
				Details: map[string]string{"method": "reauthenticate", "reason": "wrong_password"}})
			return nil, errBadLogin
		}
		byPassword = true
	}
	now := m.now()
	var sess *gatehouse.Session
	var notify string
	var remaining int
	err = m.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		var f gatehouse.Factor = gatehouse.PasswordFactor{}
		if !byPassword {
			var recovery bool
			var err error
			f, recovery, err = m.checkSecond(ctx, t, u, sf, now)
			if errors.Is(err, errBadMFA) {
				if aerr := mfaFailed(t, u.ID, "wrong_factor"); aerr != nil {
					return aerr
				}
				return CommitThen(err)
			}
			if err != nil {
				return err
			}
			if err := m.succeeded(ctx, t, u, f, recovery); err != nil {
				return err
			}
			if recovery {
				notify = u.Email
				if remaining, err = t.UnusedRecoveryCodes(ctx, u.ID); err != nil {
					return err
				}
			}
		}
		cur, err := t.SessionByID(ctx, p.SessionID)
		if err != nil {
			return err
		}
		if err := t.SetSessionAuthTime(ctx, cur.ID, now, cur.AMR); err != nil {
			return err
		}
		cur.AuthTime = now
		sess = cur
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventReauthenticated, Actor: u.ID, Target: "session:" + cur.ID,
			Details: map[string]string{"amr": f.AMR(), "auth_time": strconv.FormatInt(now.Unix(), 10)}})
	})
	if err != nil {
		return nil, err
	}
	m.notifyRecovery(ctx, notify, remaining)
	return m.sessions.respond(ctx, sess, "")
}
