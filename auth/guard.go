package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// The credential guard (docs/rate-limits.md). Every service of this package
// that checks a secret or does work on behalf of an unauthenticated address
// asks the guard first, with the attempt's identity:
//
//   - PasswordLogin: token.account, then the failed-auth ceilings of the
//     client IP and "email:<address>" (or of the browser's device cookie);
//   - VerifyMagicLink, PATs.Authenticate: the IP's failed-auth ceiling;
//   - AuthenticateClient, PublicClient: the endpoint's per-client policy,
//     then the ceilings of the IP and "client:<id>";
//   - Signup: signup.email; RequestMagicLink: magic_link.email (past it the
//     request is answered as usual and nothing is sent, never refused);
//     Refresh: refresh.token;
//   - Workspaces.Create, AddMember, PATs.Create: their per-user policies.
//
// A refusal comes before any hashing, look-up or write: the policy and the
// ceilings are decided in one limiter round trip (ratelimit.EnforceAttempt),
// and so is the counting of a failure against both ceilings. After the
// check, only a credential failure (invalid_grant, invalid_client,
// unauthorized) counts against the ceilings; a success never touches them.
//
// The HTTP layer puts the guard in every request's context (WithGuard), so
// a new endpoint that calls these services cannot skip it; the per-IP rate
// policies of each route stay in the route table, before the body is read.
// Without a guard in the context (the CLI, tests of other areas) nothing is
// limited.

// DeviceKeyLabel labels the key that signs device cookies, derived from the
// master secret (package secret): a new secret distrusts every device.
const DeviceKeyLabel = "gatehouse device cookie v1"

// DeviceKey derives the device-cookie key (32 bytes) with derive, e.g.
// secret.Secret.Derive.
func DeviceKey(derive func(label string, n int) []byte) []byte { return derive(DeviceKeyLabel, 32) }

// GuardConfig configures a Guard.
type GuardConfig struct {
	Limits *ratelimit.Limits     // required: the named policies
	Failed *ratelimit.FailedAuth // required: the failed-auth ceilings
	// Record records failed_auth.ceiling_reached; nil: not recorded.
	Record func(ctx context.Context, ev *gatehouse.AuditEvent) error
	Log    *slog.Logger // nil: slog.Default()
	// DeviceKey signs device cookies (at least 32 bytes; DeviceKey derives
	// it). Nil: no device cookies are issued or trusted.
	DeviceKey []byte
}

// Guard decides, before any work, whether a credential check or an
// account-scoped request may run, and counts credential failures.
type Guard struct {
	limits    *ratelimit.Limits
	failed    *ratelimit.FailedAuth
	record    func(context.Context, *gatehouse.AuditEvent) error
	log       *slog.Logger
	deviceKey []byte
	// Now is the clock of device cookies' issue times (time.Now when nil).
	Now func() time.Time
}

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// NewGuard returns the guard of cfg.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if cfg.Limits == nil || cfg.Failed == nil {
		return nil, errors.New("auth: the guard needs limits and failed-auth ceilings")
	}
	if cfg.DeviceKey != nil && len(cfg.DeviceKey) < 32 {
		return nil, errors.New("auth: the device-cookie key must be at least 32 bytes")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Guard{limits: cfg.Limits, failed: cfg.Failed, record: cfg.Record, log: cfg.Log, deviceKey: cfg.DeviceKey}, nil
}

type guardKey struct{}

// WithGuard returns a copy of ctx whose credential checks g guards.
func WithGuard(ctx context.Context, g *Guard) context.Context {
	if g == nil {
		return ctx
	}
	return context.WithValue(ctx, guardKey{}, g)
}

// GuardFromContext returns the guard of ctx, or nil.
func GuardFromContext(ctx context.Context) *Guard {
	g, _ := ctx.Value(guardKey{}).(*Guard)
	return g
}

// EmailKey is the rate-limit identity of an email address as a caller typed
// it: trimmed and lower-cased, as gatehouse.NormalizeEmail does, so that case
// variants share one key; validation is left to the service.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// EmailAccount is the failed-auth account of a password attempt for email.
func EmailAccount(email string) string { return "email:" + EmailKey(email) }

// ClientAccount is the failed-auth account of a client authentication.
func ClientAccount(clientID string) string { return "client:" + clientID }

// Attempt is one credential check the guard stands in front of.
type Attempt struct {
	// Policy, when set, is the per-account rate policy applied first
	// (token.account, oauth_token.client, …) to Identity.
	Policy, Identity string
	// Account is the failed-auth account the credentials claim
	// (EmailAccount, ClientAccount); empty: the IP's ceiling only.
	Account string
	// Device: a valid device cookie for Account (DeviceCookie in the
	// context) vouches for the browser: Policy and Account's ceiling are
	// skipped and its failures count against the device instead (a password
	// sign-in only).
	Device bool
}

// Pass is an attempt let through; Done counts its outcome. A nil Pass (no
// guard) does nothing.
type Pass struct {
	g       *Guard
	ip      string
	account string // what failures count against: the attempt's account or its device
	device  *DeviceCookie
	issue   string // the account a success issues a device cookie for
}

// Enter applies a's policy and the failed-auth ceilings, and returns a Pass
// to report the outcome to, or the refusal: rate_limited (with the decision
// in the request's ratelimit.Record, for the response headers) or
// unavailable when the limiter failed.
func (g *Guard) Enter(ctx context.Context, a Attempt) (*Pass, error) {
	if g == nil {
		return nil, nil
	}
	p := &Pass{g: g, ip: ratelimit.ClientKey(gatehouse.RequestInfoFromContext(ctx).IP), account: a.Account}
	if a.Device && a.Account != "" && g.deviceKey != nil {
		p.device = deviceFromContext(ctx)
		if p.device != nil {
			p.issue = a.Account
			if nonce, ok := g.checkDevice(p.device.In, a.Account); ok {
				dev := ratelimit.DevicePrefix + nonce
				v, err := g.failed.Check(ctx, p.ip, dev)
				if err != nil {
					return nil, gatehouse.Wrap(gatehouse.EUnavailable, err, "rate limiter unavailable")
				}
				if v.IP.Blocked {
					return nil, g.failed.Enforce(ctx, p.ip, "")
				}
				if !v.Account.Blocked {
					// A browser that signed in to this account before: the
					// account's own limits do not apply to it (OWASP device
					// cookies, "trusted client" flow).
					p.account = dev
					return p, nil
				}
				// A device past its ceiling is distrusted: the account's
				// rules apply, as to any stranger.
			}
		}
	}
	// The policy, then the ceilings, in one limiter round trip.
	if err := ratelimit.EnforceAttempt(ctx, g.limits, a.Policy, a.Identity, g.failed, p.ip, a.Account); err != nil {
		return nil, err
	}
	return p, nil
}

// Done reports the outcome of the check: a credential failure counts one
// failure against the IP and the account (or device); a success of a device
// attempt gives the browser a new device cookie.
func (p *Pass) Done(ctx context.Context, err error) {
	if p == nil {
		return
	}
	if err == nil {
		if p.issue != "" {
			p.device.Out = p.g.newDevice(p.issue)
		}
		return
	}
	if credentialFailure(err) {
		p.g.countFailure(ctx, p.ip, p.account)
	}
}

// Limit applies the policy named name to identity: nil, or the refusal
// (rate_limited, or unavailable when the limiter failed).
func (g *Guard) Limit(ctx context.Context, name, identity string) error {
	if g == nil {
		return nil
	}
	return g.limits.Enforce(ctx, name, identity)
}

// Allow is Limit for work that is skipped rather than refused past its limit
// (a magic-link request): false means "do nothing"; err is only a limiter
// failure.
func (g *Guard) Allow(ctx context.Context, name, identity string) (bool, error) {
	if g == nil {
		return true, nil
	}
	d, err := g.limits.Allow(ctx, name, identity)
	if err != nil {
		return false, gatehouse.Wrap(gatehouse.EUnavailable, err, "rate limiter unavailable")
	}
	return d.Allowed, nil
}

// enter, limit and allow are the guard of ctx, for the services.
func enter(ctx context.Context, a Attempt) (*Pass, error) { return GuardFromContext(ctx).Enter(ctx, a) }

func limit(ctx context.Context, name, identity string) error {
	return GuardFromContext(ctx).Limit(ctx, name, identity)
}

func allow(ctx context.Context, name, identity string) (bool, error) {
	return GuardFromContext(ctx).Allow(ctx, name, identity)
}

// CredentialsMissing is for a request that should have carried credentials
// and carries none usable (an OAuth request without client authentication):
// refused while the IP's ceiling is reached, and otherwise counted as one
// failure against the IP. It returns err, or the refusal.
func CredentialsMissing(ctx context.Context, err error) error {
	p, gerr := enter(ctx, Attempt{})
	if gerr != nil {
		return gerr
	}
	p.Done(ctx, err)
	return err
}

// credentialFailure reports whether err says the credentials were wrong (as
// opposed to refused for another reason, or fine).
func credentialFailure(err error) bool {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EInvalidGrant, gatehouse.EInvalidClient, gatehouse.EUnauthorized:
		return true
	}
	return false
}

// countFailure counts one failed authentication and records
// failed_auth.ceiling_reached for each ceiling it crossed (once per window).
// A limiter error is logged: the failure itself was already answered.
func (g *Guard) countFailure(ctx context.Context, ip, account string) {
	v, err := g.failed.Fail(ctx, ip, account)
	if err != nil {
		g.log.LogAttrs(ctx, slog.LevelError, "failed-auth counter",
			slog.String("request_id", gatehouse.RequestInfoFromContext(ctx).RequestID),
			slog.String("err", err.Error()))
		return
	}
	if g.record == nil {
		return
	}
	for _, pol := range v.Crossed {
		ev := &gatehouse.AuditEvent{
			Type:    gatehouse.EventFailedAuthCeiling,
			Outcome: gatehouse.OutcomeFailure,
			Details: map[string]string{
				"ceiling": pol.Name,
				"limit":   strconv.Itoa(pol.Limit),
				"window":  pol.Window.String(),
			},
		}
		if c, ok := strings.CutPrefix(account, "client:"); ok && pol.Name == ratelimit.FailedAuthAccount {
			ev.Target = "client:" + c // never an email address in clear
		}
		if err := g.record(ctx, ev); err != nil {
			g.log.LogAttrs(ctx, slog.LevelError, "audit event not recorded",
				slog.String("request_id", gatehouse.RequestInfoFromContext(ctx).RequestID),
				slog.String("type", string(ev.Type)), slog.String("err", err.Error()))
		}
	}
}

// DeviceCookie carries a browser's device cookie (OWASP "Slow Down Online
// Guessing Attacks with Device Cookies") into a password sign-in and the new
// one out of it. The HTTP layer reads In from the request and, in cookie
// mode, sets Out on the response; body-mode clients get none.
type DeviceCookie struct {
	In  string // the cookie the browser presented; "" none
	Out string // after a successful sign-in: the cookie to set
}

type deviceKey struct{}

// WithDeviceCookie returns a copy of ctx carrying d.
func WithDeviceCookie(ctx context.Context, d *DeviceCookie) context.Context {
	return context.WithValue(ctx, deviceKey{}, d)
}

func deviceFromContext(ctx context.Context) *DeviceCookie {
	d, _ := ctx.Value(deviceKey{}).(*DeviceCookie)
	return d
}

// A device cookie is "<nonce>.<issued>.<mac>": a random 128-bit nonce
// (base64url), the Unix second it was issued, and HMAC-SHA256 under the
// device key over the account, the nonce and that time (base64url). It names
// no account (so it shows no address); it is valid only for the account it
// was issued to and for DeviceCookieTTL from its issue, whatever a browser
// does with its Max-Age. Its nonce keys its failure counter.
const deviceMACContext = "gatehouse device v2\x00"

// DeviceCookieTTL is how long a device cookie spares its browser the
// account's lockout (the cookie's Max-Age too).
const DeviceCookieTTL = 180 * 24 * time.Hour

func (g *Guard) deviceMAC(account, nonce, issued string) []byte {
	m := hmac.New(sha256.New, g.deviceKey)
	m.Write([]byte(deviceMACContext))
	m.Write([]byte(account))
	m.Write([]byte{0})
	m.Write([]byte(nonce))
	m.Write([]byte{0})
	m.Write([]byte(issued))
	return m.Sum(nil)
}

func (g *Guard) newDevice(account string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ""
	}
	nonce := b64url.EncodeToString(b[:])
	issued := strconv.FormatInt(g.now().Unix(), 10)
	return nonce + "." + issued + "." + b64url.EncodeToString(g.deviceMAC(account, nonce, issued))
}

// checkDevice returns the nonce of cookie when it is a valid device cookie
// for account, issued less than DeviceCookieTTL ago, in constant time over
// the MAC.
func (g *Guard) checkDevice(cookie, account string) (string, bool) {
	if cookie == "" || len(cookie) > 128 {
		return "", false
	}
	nonce, rest, ok := strings.Cut(cookie, ".")
	if !ok || len(nonce) != 22 {
		return "", false
	}
	issued, mac, ok := strings.Cut(rest, ".")
	if !ok || len(issued) == 0 || len(issued) > 12 {
		return "", false
	}
	at, err := strconv.ParseInt(issued, 10, 64)
	if err != nil || strconv.FormatInt(at, 10) != issued {
		return "", false
	}
	got, err := b64url.DecodeString(mac)
	if err != nil || !hmac.Equal(got, g.deviceMAC(account, nonce, issued)) {
		return "", false
	}
	now := g.now()
	when := time.Unix(at, 0)
	return nonce, when.Before(now.Add(time.Minute)) && now.Sub(when) < DeviceCookieTTL
}
