// Package passkey implements gatehouse.Passkeys over go-webauthn
// (github.com/go-webauthn/webauthn): the WebAuthn ceremonies (W3C Web
// Authentication Level 3, sections 7.1 and 7.2) for package auth, which
// knows no HTTP. Attestation is "none" (no authenticator model is trusted or
// refused); the AAGUID is kept and named where it is a well-known one.
package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// Config is the relying party: its id (a host, GATEHOUSE_WEBAUTHN_RP_ID or
// GATEHOUSE_PUBLIC_URL's host) and the origins allowed to run ceremonies.
type Config struct {
	RPID        string
	DisplayName string
	Origins     []string
}

// Passkeys is the adapter.
type Passkeys struct {
	w *webauthn.WebAuthn
}

// New returns the adapter for cfg.
func New(cfg Config) (*Passkeys, error) {
	if cfg.RPID == "" || len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: a relying-party id and at least one origin are required")
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = "gatehouse"
	}
	w, err := webauthn.New(&webauthn.Config{RPID: cfg.RPID, RPDisplayName: cfg.DisplayName, RPOrigins: cfg.Origins})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Passkeys{w: w}, nil
}

var _ gatehouse.Passkeys = (*Passkeys)(nil)

// user is a gatehouse user as go-webauthn sees it: its id (the user handle)
// and its passkeys.
type user struct {
	u     *gatehouse.User
	creds []webauthn.Credential
}

func (x *user) WebAuthnID() []byte                         { return []byte(x.u.ID) }
func (x *user) WebAuthnName() string                       { return x.u.Email }
func (x *user) WebAuthnDisplayName() string                { return x.u.Email }
func (x *user) WebAuthnCredentials() []webauthn.Credential { return x.creds }

func credentials(fs []*gatehouse.MFAFactor) ([]webauthn.Credential, error) {
	var out []webauthn.Credential
	for _, f := range fs {
		if f.Type != gatehouse.FactorPasskey {
			continue
		}
		var c webauthn.Credential
		if err := json.Unmarshal(f.Credential, &c); err != nil {
			return nil, fmt.Errorf("passkey: stored credential %s: %w", f.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// BeginRegistration: a discoverable credential (residentKey "required"),
// user verification preferred, attestation none.
func (p *Passkeys) BeginRegistration(u *gatehouse.User, exclude []*gatehouse.MFAFactor) ([]byte, []byte, error) {
	creds, err := credentials(exclude)
	if err != nil {
		return nil, nil, err
	}
	var ex []protocol.CredentialDescriptor
	for _, c := range creds {
		ex = append(ex, c.Descriptor())
	}
	req := true
	cc, sess, err := p.w.BeginRegistration(&user{u: u},
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &req, UserVerification: protocol.VerificationPreferred}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(ex))
	if err != nil {
		return nil, nil, err
	}
	return marshal2(cc.Response, sess)
}

func marshal2(opts any, sess *webauthn.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(opts)
	if err != nil {
		return nil, nil, err
	}
	s, err := json.Marshal(sess)
	return o, s, err
}

// FinishRegistration verifies the attestation response.
func (p *Passkeys) FinishRegistration(u *gatehouse.User, session, response []byte) (*gatehouse.MFAFactor, string, error) {
	var sess webauthn.SessionData
	if err := json.Unmarshal(session, &sess); err != nil {
		return nil, "", err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, "", err
	}
	c, err := p.w.CreateCredential(&user{u: u}, sess, parsed)
	if err != nil {
		return nil, "", err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, "", err
	}
	return &gatehouse.MFAFactor{CredentialID: c.ID, SignCount: int64(c.Authenticator.SignCount), AAGUID: c.Authenticator.AAGUID, Credential: raw},
		AuthenticatorName(c.Authenticator.AAGUID), nil
}

// BeginLogin: for allow's credentials (user verification preferred), or,
// with none, for any discoverable credential (user verification required).
func (p *Passkeys) BeginLogin(allow []*gatehouse.MFAFactor) ([]byte, []byte, error) {
	if len(allow) == 0 {
		ca, sess, err := p.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, nil, err
		}
		return marshal2(ca.Response, sess)
	}
	creds, err := credentials(allow)
	if err != nil {
		return nil, nil, err
	}
	var list []protocol.CredentialDescriptor
	for _, c := range creds {
		list = append(list, c.Descriptor())
	}
	ca, sess, err := p.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred), webauthn.WithAllowedCredentials(list))
	if err != nil {
		return nil, nil, err
	}
	sess.AllowedCredentialIDs = nil // checked against the flow's user by the caller
	for _, c := range creds {
		sess.AllowedCredentialIDs = append(sess.AllowedCredentialIDs, c.ID)
	}
	return marshal2(ca.Response, sess)
}

// CredentialID reads the credential id of an assertion.
func (p *Passkeys) CredentialID(response []byte) ([]byte, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, err
	}
	return parsed.RawID, nil
}

// FinishLogin verifies an assertion for passkey f of u: challenge, origin,
// rp id hash, signature, user presence (and verification when the options
// required it). The counter is returned for the caller to move forward.
func (p *Passkeys) FinishLogin(u *gatehouse.User, f *gatehouse.MFAFactor, session, response []byte) (int64, bool, error) {
	var sess webauthn.SessionData
	if err := json.Unmarshal(session, &sess); err != nil {
		return 0, false, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return 0, false, err
	}
	creds, err := credentials([]*gatehouse.MFAFactor{f})
	if err != nil || len(creds) != 1 || !bytes.Equal(creds[0].ID, parsed.RawID) {
		return 0, false, errors.New("passkey: the assertion names another credential")
	}
	if len(sess.AllowedCredentialIDs) > 0 {
		ok := false
		for _, id := range sess.AllowedCredentialIDs {
			ok = ok || bytes.Equal(id, parsed.RawID)
		}
		if !ok {
			return 0, false, errors.New("passkey: the credential was not asked for")
		}
	}
	sess.AllowedCredentialIDs = nil
	x := &user{u: u, creds: creds}
	var c *webauthn.Credential
	if len(parsed.Response.UserHandle) == 0 {
		// A second factor's assertion may omit the user handle (WebAuthn
		// 7.2 step 6): the credential is already known to be the user's.
		sess.UserID = x.WebAuthnID()
		c, err = p.w.ValidateLogin(x, sess, parsed)
	} else {
		c, err = p.w.ValidateDiscoverableLogin(func(rawID, handle []byte) (webauthn.User, error) {
			if !bytes.Equal(handle, x.WebAuthnID()) {
				return nil, errors.New("passkey: user handle mismatch")
			}
			return x, nil
		}, sess, parsed)
	}
	if err != nil {
		return 0, false, err
	}
	return int64(c.Authenticator.SignCount), parsed.Response.AuthenticatorData.Flags.HasUserVerified(), nil
}

// known names well-known authenticators by AAGUID (from the community list
// at github.com/passkeydeveloper/passkey-authenticator-aaguids).
var known = map[string]string{
	"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
	"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
	"adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
	"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
	"9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
	"6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
	"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
	"d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
	"531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
	"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5 Series",
	"ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5 Series",
}

// AuthenticatorName is the name of the authenticator model aaguid names,
// or "" when unknown.
func AuthenticatorName(aaguid []byte) string {
	id, err := uuid.FromBytes(aaguid)
	if err != nil {
		return ""
	}
	return known[id.String()]
}
