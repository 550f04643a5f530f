package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
)

// A refresh token is base64url (unpadded) of 56 bytes: the session id (16),
// the token's generation (8, big-endian) and 32 secret bytes. The first
// token of a session has random secret bytes and generation 0; each refresh
// replaces it by its successor:
//
//	successor(T) = sid || gen+1 || HMAC-SHA256(K, "gatehouse refresh successor v1" || 0 || T)
//
// with K derived from the master secret. Only SHA-256(T) of the current
// token is stored (in the session row). So:
//   - a refresh is one UPDATE that swaps SHA-256(T) for SHA-256(successor(T));
//   - a client that raced itself and presents T again within the grace
//     window is given successor(T) again, recomputed, not stored;
//   - a retired token is recognised, however old, by deriving forward from
//     it until its generation reaches the current one and comparing hashes:
//     that is reuse, and the whole session is revoked (OAuth 2.0 Security
//     BCP, RFC 9700 section 4.14.2). A made-up token with a real session id
//     derives to nothing stored, so it cannot get someone's session revoked.
//
// The session id inside lets the CSRF check (and the store lookup) find the
// session without a query; it is not a secret (it is in every token response).
const (
	refreshRawLen = 16 + 8 + 32
	refreshLen    = (refreshRawLen*8 + 5) / 6 // 75 characters
	// maxWalk bounds the derivation from a presented token to the current
	// one (about 1 µs a step). A session refreshed every 15 minutes for 30
	// days has 2,880 generations.
	maxWalk = 20000
	// maxGeneration bounds a token's generation: far beyond any session's
	// rotations, and far from int64 overflow.
	maxGeneration = 1 << 40
)

var b64url = base64.RawURLEncoding.Strict()

// refreshToken is a parsed refresh token.
type refreshToken struct {
	text string
	sid  string
	gen  int64
}

// parseRefreshToken checks a refresh token's form without any storage.
func parseRefreshToken(s string) (refreshToken, bool) {
	if len(s) != refreshLen {
		return refreshToken{}, false
	}
	raw, err := b64url.DecodeString(s)
	if err != nil || len(raw) != refreshRawLen || b64url.EncodeToString(raw) != s {
		return refreshToken{}, false
	}
	gen := binary.BigEndian.Uint64(raw[16:24])
	if gen > maxGeneration {
		return refreshToken{}, false
	}
	return refreshToken{text: s, sid: formatUUID(raw[:16]), gen: int64(gen)}, true
}

// newRefreshToken returns the first token of session sid.
func newRefreshToken(sid string) (string, error) {
	var raw [refreshRawLen]byte
	if err := parseUUID(sid, raw[:16]); err != nil {
		return "", err
	}
	if _, err := rand.Read(raw[24:]); err != nil {
		return "", err
	}
	return b64url.EncodeToString(raw[:]), nil
}

// successor returns the token that replaces t at the next refresh.
func successor(key []byte, t refreshToken) string {
	raw, _ := b64url.DecodeString(t.text)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse refresh successor v1\x00"))
	m.Write([]byte(t.text))
	var next [refreshRawLen]byte
	copy(next[:16], raw[:16])
	binary.BigEndian.PutUint64(next[16:24], uint64(t.gen+1))
	m.Sum(next[24:24])
	return b64url.EncodeToString(next[:])
}

// hashToken is the stored form of a token: SHA-256 of its text.
func hashToken(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// descendsTo reports whether deriving forward from t reaches a token of
// generation gen whose hash is current: t is that token or an ancestor of it.
func descendsTo(key []byte, t refreshToken, gen int64, current []byte) bool {
	if t.gen > gen || gen-t.gen > maxWalk {
		return false
	}
	for t.gen < gen {
		next := successor(key, t)
		t = refreshToken{text: next, sid: t.sid, gen: t.gen + 1}
	}
	return subtle.ConstantTimeCompare(hashToken(t.text), current) == 1
}

// parseUUID decodes a canonical UUID into dst (16 bytes).
func parseUUID(s string, dst []byte) error {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return errBadUUID
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(dst, []byte(h)); err != nil {
		return errBadUUID
	}
	return nil
}

func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

type uuidError struct{}

func (uuidError) Error() string { return "auth: not a UUID" }

var errBadUUID error = uuidError{}

// newSecretToken returns 32 random bytes in base64url: a magic-link token.
func newSecretToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return b64url.EncodeToString(b[:]), nil
}

// validSecretToken checks a magic-link token's form: 43 base64url characters.
func validSecretToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	raw, err := b64url.DecodeString(s)
	return err == nil && len(raw) == 32
}
