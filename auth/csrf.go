package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strconv"
)

// CSRF makes the tokens that tie a browser's state-changing requests to its
// session: the X-CSRF-Token of a session (CSRFToken) and the token of the
// OAuth consent form (OAuth.ConsentToken). Both are HMAC-SHA256 under a key
// derived from the master secret (OWASP CSRF Prevention Cheat Sheet, "Signed
// Double-Submit Cookie"): they need no storage and stop validating when the
// secret changes.
type CSRF struct{ key []byte }

// newCSRF returns the CSRF token maker; key is at least 32 bytes.
func newCSRF(key []byte) (*CSRF, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: the CSRF key must be at least 32 bytes")
	}
	return &CSRF{key: key}, nil
}

// CSRFToken returns session sid's CSRF token: HMAC-SHA256 over the session id
// under the CSRF key.
func (c *CSRF) CSRFToken(sid string) string {
	if sid == "" {
		return ""
	}
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("gatehouse csrf v1\x00"))
	m.Write([]byte(sid))
	return b64url.EncodeToString(m.Sum(nil))
}

// mac is HMAC-SHA256 under the CSRF key over fields, each prefixed by its
// length so that no two lists of fields collide.
func (c *CSRF) mac(fields ...string) string {
	m := hmac.New(sha256.New, c.key)
	for _, f := range fields {
		m.Write([]byte(strconv.Itoa(len(f))))
		m.Write([]byte{0})
		m.Write([]byte(f))
	}
	return b64url.EncodeToString(m.Sum(nil))
}
