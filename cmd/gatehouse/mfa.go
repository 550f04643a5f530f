package main

import (
	"net"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/gatehouse-auth/gatehouse/passkey"
)

// The settings of second factors and passkeys (docs/mfa.md).
const (
	envWebAuthnRPID    = "GATEHOUSE_WEBAUTHN_RP_ID"
	envWebAuthnOrigins = "GATEHOUSE_WEBAUTHN_ORIGINS"
)

// MFASettings are the relying party of passkeys.
type MFASettings struct {
	RPID    string   // GATEHOUSE_WEBAUTHN_RP_ID, else GATEHOUSE_PUBLIC_URL's host
	Origins []string // GATEHOUSE_PUBLIC_URL's origin and GATEHOUSE_WEBAUTHN_ORIGINS
}

// loadMFASettings reads them; each error names its variable.
func loadMFASettings(get func(string) string, public *url.URL) (MFASettings, error) {
	var m MFASettings
	m.RPID = strings.ToLower(public.Hostname())
	if net.ParseIP(m.RPID) != nil {
		m.RPID = "" // an IP address cannot be a relying-party id: no passkeys unless one is set
	}
	if v := get(envWebAuthnRPID); v != "" {
		v = strings.ToLower(v)
		if !validDomain(v) && v != "localhost" {
			return m, bad(envWebAuthnRPID, "must be a domain name such as example.com")
		}
		m.RPID = v
	}
	own, err := httpapi.NormalizeOrigin((&url.URL{Scheme: public.Scheme, Host: public.Host}).String())
	if err != nil {
		return m, bad(envPublicURL, "%v", err)
	}
	m.Origins = []string{own}
	for _, o := range strings.Split(get(envWebAuthnOrigins), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		n, err := httpapi.NormalizeOrigin(o)
		if err != nil {
			return m, bad(envWebAuthnOrigins, "%v; give exact origins, comma-separated", err)
		}
		m.Origins = append(m.Origins, n)
	}
	// The rp id must be the host of an allowed origin or a parent domain of
	// it (WebAuthn Level 3, section 5.1.3 step 8).
	if m.RPID != "" {
		ok := false
		for _, o := range m.Origins {
			u, _ := url.Parse(o)
			oh := strings.ToLower(u.Hostname())
			ok = ok || oh == m.RPID || strings.HasSuffix(oh, "."+m.RPID)
		}
		if !ok {
			return m, bad(envWebAuthnRPID, "must be the host of %s (or of one of %s) or a parent domain of it", envPublicURL, envWebAuthnOrigins)
		}
	}
	return m, nil
}

// newMFA wires the second-factor service: the passkey adapter for the
// relying party, TOTP secrets sealed under the keys' KEK, and the
// recovery-code notice by mail.
func newMFA(cfg *Config, svc *services) (*auth.MFA, error) {
	var pk gatehouse.Passkeys
	if cfg.MFA.RPID != "" {
		p, err := passkey.New(passkey.Config{RPID: cfg.MFA.RPID, Origins: cfg.MFA.Origins})
		if err != nil {
			return nil, bad(envWebAuthnRPID, "%v", err)
		}
		pk = p
	}
	return auth.NewMFA(svc.core, svc.sessions, auth.MFAConfig{
		KEK: svc.keys.Config().KEK, Passkeys: pk, Hasher: svc.hasher, Issuer: cfg.PublicURL.Hostname(),
		Notify: svc.mailer.RecoveryCodeNotifier(cfg.PublicURL.String()),
	})
}
