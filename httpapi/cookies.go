package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// The cookie names of docs/reference.md §4. Without a cookie domain the
// __Host- prefix makes the browser insist on Secure, Path=/ and no Domain, so
// a sibling subdomain cannot set or shadow them; with a cookie domain the
// __Secure- prefix still insists on Secure. Only these names are ever read
// (RFC 6265bis section 4.1.3, "Cookie Name Prefixes").
const (
	HostRefreshCookie   = "__Host-gatehouse_refresh"
	HostCSRFCookie      = "__Host-gatehouse_csrf"
	SecureRefreshCookie = "__Secure-gatehouse_refresh"
	SecureCSRFCookie    = "__Secure-gatehouse_csrf"
)

// refreshCookiePathWithDomain is the refresh cookie's path when a cookie
// domain is set: the browser sends it only to the endpoints that use it.
const refreshCookiePathWithDomain = "/v1/auth"

// CookieConfig says how gatehouse sets its browser cookies. Domain empty
// means host-only cookies (GATEHOUSE_COOKIE_DOMAIN); SameSite comes from
// GATEHOUSE_COOKIE_SAMESITE; RefreshTTL is the refresh-token and session
// lifetime (GATEHOUSE_REFRESH_TTL), which is the cookies' Max-Age.
type CookieConfig struct {
	Domain     string
	SameSite   http.SameSite
	RefreshTTL time.Duration
}

// ParseSameSite reads GATEHOUSE_COOKIE_SAMESITE: "strict" (also the empty
// string, the default), "lax" or "none", case-insensitively.
func ParseSameSite(s string) (http.SameSite, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "strict":
		return http.SameSiteStrictMode, nil
	case "lax":
		return http.SameSiteLaxMode, nil
	case "none":
		return http.SameSiteNoneMode, nil
	}
	return 0, fmt.Errorf("GATEHOUSE_COOKIE_SAMESITE must be strict, lax or none")
}

// RefreshCookieName returns the name of the refresh cookie under c.
func (c CookieConfig) RefreshCookieName() string {
	if c.Domain != "" {
		return SecureRefreshCookie
	}
	return HostRefreshCookie
}

// CSRFCookieName returns the name of the CSRF cookie under c.
func (c CookieConfig) CSRFCookieName() string {
	if c.Domain != "" {
		return SecureCSRFCookie
	}
	return HostCSRFCookie
}

func (c CookieConfig) sameSite() http.SameSite {
	switch c.SameSite {
	case http.SameSiteLaxMode, http.SameSiteNoneMode, http.SameSiteStrictMode:
		return c.SameSite
	}
	return http.SameSiteStrictMode // the contract's default; never the browser's own
}

// maxAge is the cookies' Max-Age in whole seconds, at least 1: a Max-Age of 0
// would delete the cookie, and http.Cookie would omit the attribute.
func (c CookieConfig) maxAge() int {
	s := int(c.RefreshTTL / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// refreshCookie returns the refresh cookie holding value, with every
// attribute except Max-Age.
func (c CookieConfig) refreshCookie(value string) *http.Cookie {
	ck := &http.Cookie{
		Name:     c.RefreshCookieName(),
		Value:    value,
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: c.sameSite(),
	}
	if c.Domain != "" {
		ck.Domain = c.Domain
		ck.Path = refreshCookiePathWithDomain
	}
	return ck
}

// csrfCookie returns the CSRF cookie holding value: like the refresh cookie,
// but readable by script and with Path=/ in both modes, so a page anywhere on
// the site can read it and echo it in X-CSRF-Token.
func (c CookieConfig) csrfCookie(value string) *http.Cookie {
	ck := c.refreshCookie(value)
	ck.Name = c.CSRFCookieName()
	ck.HttpOnly = false
	ck.Path = "/"
	return ck
}

// SetSessionCookies adds the Set-Cookie headers that start or rotate a
// cookie-mode session: the refresh token in the HttpOnly refresh cookie and
// the session's CSRF token in the script-readable CSRF cookie.
func (c CookieConfig) SetSessionCookies(w http.ResponseWriter, refreshToken, csrfToken string) {
	rc := c.refreshCookie(refreshToken)
	rc.MaxAge = c.maxAge()
	http.SetCookie(w, rc)
	cc := c.csrfCookie(csrfToken)
	cc.MaxAge = c.maxAge()
	http.SetCookie(w, cc)
}

// ClearSessionCookies adds the Set-Cookie headers that delete both cookies:
// Max-Age=0 and exactly the name, Path, Domain, Secure, HttpOnly and SameSite
// they were set with, since a browser deletes only the cookie that matches
// (docs/reference.md §4).
func (c CookieConfig) ClearSessionCookies(w http.ResponseWriter) {
	rc := c.refreshCookie("")
	rc.MaxAge = -1 // net/http writes a negative MaxAge as "Max-Age=0"
	http.SetCookie(w, rc)
	cc := c.csrfCookie("")
	cc.MaxAge = -1
	http.SetCookie(w, cc)
}

// errCookieTossing refuses a request that carries one of gatehouse's cookies
// twice: a sign that another site on the domain planted a second one to
// shadow or fixate ours.
var errCookieTossing = gatehouse.Errorf(gatehouse.EInvalidRequest, "a gatehouse cookie appears more than once")

// readOne returns the one value of cookie name in r, "" when absent, and an
// invalid_request error when the request carries it more than once.
func readOne(r *http.Request, name string) (string, error) {
	var val string
	n := 0
	for _, ck := range r.CookiesNamed(name) {
		n++
		val = ck.Value
	}
	if n > 1 || rawCookieCount(r, name) > 1 {
		return "", errCookieTossing
	}
	return val, nil
}

// rawCookieCount counts the pairs named name in r's Cookie headers, including
// pairs whose value net/http refuses to parse, so that a malformed duplicate
// cannot slip past the tossing check.
func rawCookieCount(r *http.Request, name string) int {
	n := 0
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			k, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k == name {
				n++
			}
		}
	}
	return n
}

// RefreshCookie returns the refresh token in r's refresh cookie ("" when there
// is none), or an invalid_request error when the cookie appears more than once.
func (c CookieConfig) RefreshCookie(r *http.Request) (string, error) {
	return readOne(r, c.RefreshCookieName())
}

// CSRFCookie returns the value of r's CSRF cookie ("" when there is none), or
// an invalid_request error when the cookie appears more than once.
func (c CookieConfig) CSRFCookie(r *http.Request) (string, error) {
	return readOne(r, c.CSRFCookieName())
}

// CheckCookies refuses a request that carries any gatehouse cookie more
// than once (cookie tossing), whether or not the handler reads it.
func (c CookieConfig) CheckCookies(r *http.Request) error {
	if _, err := c.RefreshCookie(r); err != nil {
		return err
	}
	if _, err := c.DeviceCookie(r); err != nil {
		return err
	}
	_, err := c.CSRFCookie(r)
	return err
}

// cookieChecker is what rejectTossedCookies needs of the server's cookies.
type cookieChecker interface {
	CheckCookies(r *http.Request) error
}

// rejectTossedCookies answers 400 invalid_request to any API request that
// carries one of gatehouse's cookies twice (docs/reference.md §4), whether or
// not its handler reads the cookie: two values mean another site on the
// domain planted one, and neither can be trusted.
func (s *Server) rejectTossedCookies(next http.Handler) http.Handler {
	cc, ok := s.cookies.(cookieChecker)
	if !ok {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			if err := cc.CheckCookies(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// The device cookie (OWASP "Slow Down Online Guessing Attacks with Device
// Cookies"): set on a successful password sign-in in cookie mode, it tells
// the credential guard that this browser signed in to the account before,
// so the account's own limits and failed-auth ceiling, which anyone who
// knows the address can trip, do not lock its owner out (auth/guard.go).
// Its value names no account; it is an HMAC under a key derived from the
// master secret. Body-mode clients get none.
const (
	HostDeviceCookie   = "__Host-gatehouse_device"
	SecureDeviceCookie = "__Secure-gatehouse_device"
)

// deviceCookieMaxAge is the device cookie's lifetime: long, since it only
// ever spares its browser the account's lockout; the cookie's own issue time
// bounds it too (auth.DeviceCookieTTL).
var deviceCookieMaxAge = int(auth.DeviceCookieTTL / time.Second)

// DeviceCookieName returns the name of the device cookie under c.
func (c CookieConfig) DeviceCookieName() string {
	if c.Domain != "" {
		return SecureDeviceCookie
	}
	return HostDeviceCookie
}

// SetDeviceCookie sets the device cookie: HttpOnly and Secure, SameSite as
// configured, and, with a cookie domain, sent only to /v1/auth.
func (c CookieConfig) SetDeviceCookie(w http.ResponseWriter, value string) {
	ck := c.refreshCookie(value)
	ck.Name = c.DeviceCookieName()
	ck.MaxAge = deviceCookieMaxAge
	http.SetCookie(w, ck)
}

// DeviceCookie returns the value of r's device cookie ("" when there is
// none), or an invalid_request error when it appears more than once.
func (c CookieConfig) DeviceCookie(r *http.Request) (string, error) {
	return readOne(r, c.DeviceCookieName())
}

// deviceCookies is what the password sign-in needs of the server's cookies;
// CookieConfig implements it.
type deviceCookies interface {
	SetDeviceCookie(w http.ResponseWriter, value string)
	DeviceCookie(r *http.Request) (string, error)
}
