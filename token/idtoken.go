package token

import (
	"encoding/json"
)

// IDTokenType is the JWS typ of an OpenID Connect id_token. OpenID Connect
// Core does not name one; "JWT" (RFC 7519 section 5.1) is what providers
// send, and it differs from an access token's at+jwt (RFC 9068 section
// 2.1), so neither is ever taken for the other (RFC 8725 section 3.11).
const IDTokenType = "JWT"

// LogoutTokenType is the typ of an OpenID Connect Back-Channel Logout 1.0
// logout token (section 2.4).
const LogoutTokenType = "logout+jwt"

// VerifySigned checks tok's compact form, header, typ (which must be typ)
// and signature against keys, as Verify does, and returns its payload,
// checked as strict JSON (no duplicate members), for the caller to decode
// and check claim by claim. It is how gatehouse reads back the tokens it
// issues that are not access tokens (an id_token_hint).
func VerifySigned(tok, typ string, keys KeySet) (json.RawMessage, error) {
	h, payload, signed, sig, err := parseCompact(tok)
	if err != nil {
		return nil, err
	}
	if !typeIs(h.Typ, typ) {
		return nil, ErrType
	}
	key, ok := keys.PublicKey(h.KID)
	if !ok {
		return nil, ErrUnknownKey
	}
	if key.Alg != h.Alg {
		return nil, ErrAlgorithm
	}
	if !verifySig(key, signed, sig) {
		return nil, ErrSignature
	}
	if err := CheckStrictJSON(payload); err != nil {
		return nil, ErrMalformed
	}
	return payload, nil
}
