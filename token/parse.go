package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Header is the protected header of a token as this package accepts it.
type Header struct {
	Alg Alg
	KID string
	Typ string
}

// PeekHeader parses and checks tok's header (size, shape, allowed members,
// algorithm, kid) without verifying anything else. verify/ uses it to learn a
// token's kid before deciding whether to refresh a key set.
func PeekHeader(tok string) (Header, error) {
	h, _, _, _, err := parseCompact(tok)
	return h, err
}

// parseCompact splits and decodes a compact JWS and checks its header. It
// returns the payload bytes, the signing input and the signature.
func parseCompact(tok string) (h Header, payload, signed, sig []byte, err error) {
	if len(tok) > MaxTokenLen {
		return h, nil, nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLen)
	}
	i := strings.IndexByte(tok, '.')
	j := strings.LastIndexByte(tok, '.')
	if i <= 0 || j == i || j == len(tok)-1 || strings.IndexByte(tok[i+1:j], '.') >= 0 {
		return h, nil, nil, nil, fmt.Errorf("%w: not three parts", ErrMalformed)
	}
	if b64enc.DecodedLen(i) > maxHeaderLen {
		return h, nil, nil, nil, fmt.Errorf("%w: header too long", ErrMalformed)
	}
	hdr, err := b64dec.DecodeString(tok[:i])
	if err != nil {
		return h, nil, nil, nil, fmt.Errorf("%w: header encoding", ErrMalformed)
	}
	if h, err = parseHeader(hdr); err != nil {
		return h, nil, nil, nil, err
	}
	payload, err = b64dec.DecodeString(tok[i+1 : j])
	if err != nil {
		return h, nil, nil, nil, fmt.Errorf("%w: payload encoding", ErrMalformed)
	}
	sig, err = b64dec.DecodeString(tok[j+1:])
	if err != nil {
		return h, nil, nil, nil, fmt.Errorf("%w: signature encoding", ErrMalformed)
	}
	return h, payload, []byte(tok[:j]), sig, nil
}

// forbiddenHeaders name a key or a place to fetch one (RFC 7515 section 4.1);
// trusting any of them lets the token choose its own key (RFC 8725 section
// 3.10). They are refused, never fetched.
var forbiddenHeaders = map[string]bool{
	"jku": true, "jwk": true, "x5u": true, "x5c": true, "x5t": true, "x5t#S256": true, "crit": true,
}

func parseHeader(b []byte) (Header, error) {
	var h Header
	var memberErr error
	var alg, kid, typ []byte
	err := checkStrictJSON(b, func(name, value []byte) error {
		switch string(name) { // exact case: a decoder that folds case would read "ALG" as alg
		case "alg":
			alg = value
			return nil
		case "kid":
			kid = value
			return nil
		case "typ":
			typ = value
			return nil
		}
		if forbiddenHeaders[string(name)] {
			memberErr = fmt.Errorf("%w: %s", ErrHeader, name)
		} else {
			memberErr = fmt.Errorf("%w: unknown member", ErrHeader)
		}
		return memberErr
	})
	if memberErr != nil {
		return h, memberErr
	}
	if err != nil {
		return h, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	a, ok := jsonString(alg)
	if !ok || a == "" {
		return h, fmt.Errorf("%w: alg", ErrMalformed)
	}
	h.Alg = Alg(a)
	if !h.Alg.Valid() {
		return h, ErrAlgorithm // none, HS256 and everything else
	}
	if h.KID, ok = jsonString(kid); !ok || !ValidKID(h.KID) {
		return h, fmt.Errorf("%w: kid", ErrHeader)
	}
	if typ != nil {
		if h.Typ, ok = jsonString(typ); !ok {
			return h, fmt.Errorf("%w: typ", ErrMalformed)
		}
	}
	return h, nil
}

// decodeClaims reads the claims of a verified payload with the strict
// scanner: one pass, no reflection. Known claims must have their JSON type
// (strings; integer NumericDates; aud a string or an array of strings);
// unknown claims are ignored, except look-alikes of known ones that differ
// only in case (encoding/json would fold them together).
func decodeClaims(payload []byte, c *Claims) error {
	var bad error
	err := checkStrictJSON(payload, func(name, v []byte) error {
		str := func(dst *string) {
			var ok bool
			if *dst, ok = jsonString(v); !ok {
				bad = fmt.Errorf("%w: claim %s is not a string", ErrMalformed, name)
			}
		}
		num := func(dst *int64) {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || len(v) > 1 && v[0] == '0' || len(v) > 2 && v[0] == '-' && v[1] == '0' {
				bad = fmt.Errorf("%w: claim %s is not an integer", ErrMalformed, name)
			}
			*dst = n
		}
		switch string(name) {
		case "iss":
			str(&c.Issuer)
		case "sub":
			str(&c.Subject)
		case "aud":
			if err := c.Audience.UnmarshalJSON(v); err != nil || v[0] != '"' && v[0] != '[' {
				bad = fmt.Errorf("%w: claim aud", ErrMalformed)
			}
		case "exp":
			num(&c.ExpiresAt)
		case "nbf":
			num(&c.NotBefore)
		case "iat":
			num(&c.IssuedAt)
		case "jti":
			str(&c.ID)
		case "client_id":
			str(&c.ClientID)
		case "scope":
			str(&c.Scope)
		case "sid":
			str(&c.SessionID)
		case "workspace_id":
			str(&c.WorkspaceID)
		case "auth_time":
			num(&c.AuthTime)
		case "amr":
			if v[0] != '[' || json.Unmarshal(v, &c.AMR) != nil {
				bad = fmt.Errorf("%w: claim amr is not an array of strings", ErrMalformed)
			}
		default:
			if err := checkClaimName(name); err != nil {
				return err
			}
		}
		return bad
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	return nil
}

// claimNames are the members of Claims. A payload carrying both "iss" and
// "ISS" would be read one way here and maybe another by a case-folding
// decoder elsewhere: such look-alikes are refused.
var claimNames = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "sid", "workspace_id", "auth_time", "amr"}

func checkClaimName(name []byte) error {
	for _, c := range claimNames {
		if len(c) == len(name) && string(name) != c && bytes.EqualFold(name, []byte(c)) {
			return errStrictJSON
		}
	}
	return nil
}

func unmarshalString(raw json.RawMessage, s *string) error {
	if len(raw) == 0 || raw[0] != '"' {
		return errors.New("not a string")
	}
	return json.Unmarshal(raw, s)
}
