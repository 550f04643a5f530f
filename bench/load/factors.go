package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-auth/gatehouse/password"
)

// The second-factor sign-ins (docs/reference.md §13, docs/mfa.md).

// errDry is a TOTP worker with no account left whose next code the server
// would accept now: it leaves the phase (counted as dry), since waiting for
// the next step inside a request would be measured as the server's latency.
var errDry = errors.New("no account with an unused TOTP step: raise -totp-accounts")

const (
	totpPeriod = 30 // RFC 6238 section 4.1: X, the time step in seconds, as gatehouse uses it
	// totpMargin is how long before the end of a step a code of the step
	// before it is still sent: the server accepts one step of drift either
	// way, so the previous step's code stays good while its check happens
	// within the current step; this many seconds cover one second-factor
	// request's queueing under load.
	totpMargin = 5
)

// nextTOTPStep is the time step (RFC 6238) whose code a factor whose last
// accepted step is last should send at t: gatehouse accepts a code of the
// current step or one step either side, and only a step later than the last
// one it accepted (docs/mfa.md). The earliest such step is taken, so that
// each factor serves as many sign-ins as it can: the previous step while
// totpMargin seconds of the current one remain, else the current one. ok is
// false when every step the server would accept is spent.
func nextTOTPStep(last int64, t time.Time) (step int64, ok bool) {
	now := t.Unix() / totpPeriod
	lo := now
	if t.Unix()%totpPeriod < totpPeriod-totpMargin {
		lo = now - 1
	}
	step = max(last+1, lo)
	return step, step <= now+1
}

// totpCode is the code of secret (base32, as gatehouse gives it) at step,
// from pquerna/otp, an implementation independent of gatehouse's.
func totpCode(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// totpAccountsFor is how many accounts each TOTP worker needs so that none
// runs out of codes in the phases concs of d each: at most rate sign-ins a
// second in all (each costs one argon2id hash, the password step), shared by
// c workers in a phase of c, and at least two sign-ins per account (the two
// steps a fresh factor has within one step of time), plus one spare.
func totpAccountsFor(rate float64, d time.Duration, concs []int) int {
	var uses float64
	for _, c := range concs {
		uses += rate * d.Seconds() / float64(c)
	}
	return int(math.Ceil(uses/2)) + 1
}

// hashRate is an upper bound of the sign-ins a second this machine can
// serve: its cores over the time of one argon2id hash at gatehouse's
// parameters (the fastest of three, in this process).
func hashRate() float64 {
	p := password.DefaultParams
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	best := time.Duration(math.MaxInt64)
	for range 3 {
		t := time.Now()
		argon2.IDKey([]byte("a long passphrase for the estimate"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		best = min(best, time.Since(t))
	}
	return float64(runtime.NumCPU()) / best.Seconds()
}

// mfaRequired is the 403 of a right password on an account with an active
// second factor.
type mfaRequired struct {
	Error    string `json:"error"`
	MFAToken string `json:"mfa_token"`
}

// totpAccount is an account with one confirmed TOTP factor, and the last
// step the server accepted from it.
type totpAccount struct {
	email, secret string
	last          int64
}

// setupTOTP makes n accounts for worker i, each with a TOTP factor enrolled
// and confirmed through the API, and returns its request: a whole
// second-factor sign-in, the password step (answered 403 mfa_required with
// an mfa_token) and then the TOTP step with a code the factor has not used,
// both from one address. The accounts are used in turn (one factor keeps
// one person's codes, each accepted once); with none left whose next code
// the server would accept, the request is errDry.
func setupTOTP(o *opts, i, n int) (func() error, error) {
	accts := make([]*totpAccount, n)
	for k := range accts {
		email, err := signUp(o, fmt.Sprintf("%d-%d", i, k))
		if err != nil {
			return nil, err
		}
		t, err := signIn(o, email)
		if err != nil {
			return nil, err
		}
		auth := "Bearer " + t.AccessToken
		var enr struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		}
		if err := postH(o.cl, o.base+"/v1/mfa/totp", struct{}{}, &enr, "Authorization", auth); err != nil {
			return nil, fmt.Errorf("TOTP enrolment: %w", err)
		}
		step, _ := nextTOTPStep(0, time.Now())
		code, err := totpCode(enr.Secret, step)
		if err != nil {
			return nil, err
		}
		if err := postH(o.cl, o.base+"/v1/mfa/totp/"+url.PathEscape(enr.ID)+"/confirm", map[string]string{"code": code}, nil, "Authorization", auth); err != nil {
			return nil, fmt.Errorf("TOTP confirmation: %w", err)
		}
		accts[k] = &totpAccount{email: email, secret: enr.Secret, last: step}
	}
	next := 0
	return func() error {
		var a *totpAccount
		now := time.Now()
		for k := range accts {
			c := accts[(next+k)%len(accts)]
			if _, ok := nextTOTPStep(c.last, now); ok {
				a, next = c, (next+k+1)%len(accts)
				break
			}
		}
		if a == nil {
			return errDry
		}
		ip := randomAddress()
		err := postH(o.cl, o.base+"/v1/auth/token", map[string]string{"email": a.email, "password": loadPassword}, nil, "X-Forwarded-For", ip)
		mt, err := mfaToken(err)
		if err != nil {
			return err
		}
		step, _ := nextTOTPStep(a.last, time.Now()) // still ok: time only moves on
		code, err := totpCode(a.secret, step)
		if err != nil {
			return err
		}
		a.last = step // sent: spent, whatever the answer
		var t tokens
		if err := postH(o.cl, o.base+"/v1/auth/mfa/verify", map[string]string{"mfa_token": mt, "code": code}, &t, "X-Forwarded-For", ip); err != nil {
			return err
		}
		if t.AccessToken == "" {
			return errors.New("TOTP step: 200 without an access token")
		}
		return nil
	}, nil
}

// mfaToken reads the mfa_token of the password step's answer (err, from
// postH): a 403 mfa_required; any other answer is returned as the error.
func mfaToken(err error) (string, error) {
	var he *httpError
	if err == nil {
		return "", errors.New("password step: a session without the second factor")
	}
	if !errors.As(err, &he) || he.status != http.StatusForbidden {
		return "", err
	}
	var m mfaRequired
	if json.Unmarshal([]byte(he.body), &m) != nil || m.Error != "mfa_required" || m.MFAToken == "" {
		return "", err
	}
	return m.MFAToken, nil
}

// webauthnOptions is the answer of every options endpoint.
type webauthnOptions struct {
	FlowID    string          `json:"flow_id"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// setupPasskey registers a passkey for the account signed in as t, made by
// a software authenticator (descope/virtualwebauthn) for the relying party
// the server names in its options and the origin origin (empty: -base's
// scheme and port on the rp id's host), and returns the worker's request:
// a passwordless passkey sign-in (options, then the assertion signed for
// their challenge), both from one address. The authenticator counts its
// signatures, as a security key does, so every assertion moves the
// server's counter forward.
func setupPasskey(o *opts, t tokens) (func() error, error) {
	auth := "Bearer " + t.AccessToken
	var ro webauthnOptions
	if err := postH(o.cl, o.base+"/v1/webauthn/registration/options", struct{}{}, &ro, "Authorization", auth); err != nil {
		return nil, fmt.Errorf("passkey registration options (passkeys need GATEHOUSE_WEBAUTHN_RP_ID on an IP-address public URL): %w", err)
	}
	ao, err := virtualwebauthn.ParseAttestationOptions(string(ro.PublicKey))
	if err != nil {
		return nil, err
	}
	origin := o.webauthnOrigin
	if origin == "" {
		b, err := url.Parse(o.base)
		if err != nil {
			return nil, err
		}
		origin = b.Scheme + "://" + ao.RelyingPartyID
		if b.Port() != "" {
			origin = b.Scheme + "://" + net.JoinHostPort(ao.RelyingPartyID, b.Port())
		}
	}
	rp := virtualwebauthn.RelyingParty{ID: ao.RelyingPartyID, Name: ao.RelyingPartyName, Origin: origin}
	authn := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(ao.UserID)})
	cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
	att := virtualwebauthn.CreateAttestationResponse(rp, authn, cred, *ao)
	authn.AddCredential(cred)
	if err := postH(o.cl, o.base+"/v1/webauthn/registration",
		map[string]any{"flow_id": ro.FlowID, "name": "load", "credential": json.RawMessage(att)}, nil, "Authorization", auth); err != nil {
		return nil, fmt.Errorf("passkey registration (origin %s, rp id %s): %w", origin, rp.ID, err)
	}
	return func() error {
		ip := randomAddress()
		var po webauthnOptions
		if err := postH(o.cl, o.base+"/v1/auth/passkey/options", struct{}{}, &po, "X-Forwarded-For", ip); err != nil {
			return err
		}
		as, err := virtualwebauthn.ParseAssertionOptions(string(po.PublicKey))
		if err != nil {
			return err
		}
		cred.Counter++
		assertion := virtualwebauthn.CreateAssertionResponse(rp, authn, cred, *as)
		var t tokens
		if err := postH(o.cl, o.base+"/v1/auth/passkey",
			map[string]any{"flow_id": po.FlowID, "credential": json.RawMessage(assertion)}, &t, "X-Forwarded-For", ip); err != nil {
			return err
		}
		if t.AccessToken == "" {
			return errors.New("passkey sign-in: 200 without an access token")
		}
		return nil
	}, nil
}
