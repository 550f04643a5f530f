package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"math/big"
	"strings"
)

// The personal access token format (docs/reference.md §5):
//
//	gth_ <body: 43 base62 chars> <checksum: 6 base62 chars>
//
// The body is the 256-bit random secret in base62 (0-9, a-z, A-Z), left-padded
// with '0' to a fixed 43 characters (62^43 > 2^256). The checksum is the
// CRC-32 (IEEE) of "gth_" + body, in base62, left-padded to 6 characters
// (62^6 > 2^32). The checksum is not a security measure: it lets a typo, a
// truncated paste or random junk be refused without a store look-up, and lets
// secret scanners tell a real gatehouse token from a look-alike with few false
// positives (the scheme GitHub uses for its tokens). It reveals nothing useful:
// anyone who can compute it already holds the body.
const (
	PATPrefix      = "gth_"
	patBodyLen     = 43
	patChecksumLen = 6
	// PATLen is the length of every personal access token.
	PATLen = len(PATPrefix) + patBodyLen + patChecksumLen
	// PATDisplayLen is the number of body characters shown in listings.
	PATDisplayLen = 6
)

const base62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// ErrMalformedPAT is returned for a string that is not a well-formed personal
// access token with a correct checksum.
var ErrMalformedPAT = errors.New("token: malformed personal access token")

// PAT is a personal access token: a secret. Its String, GoString, LogValue and
// MarshalJSON show only the display prefix; Reveal returns the secret, to be
// shown once, at creation.
type PAT struct{ s string }

// NewPAT returns a new token with 256 bits from r (crypto/rand when r is nil).
func NewPAT(r io.Reader) (PAT, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return PAT{}, err
	}
	body := new(big.Int).SetBytes(b[:]).Text(62) // big.Int uses the same 0-9a-zA-Z alphabet
	body = strings.Repeat("0", patBodyLen-len(body)) + body
	return PAT{s: PATPrefix + body + patChecksum(body)}, nil
}

// ParsePAT checks the format and the checksum of s. It needs no storage: a
// malformed token costs one pass over 53 bytes and a CRC.
func ParsePAT(s string) (PAT, error) {
	if len(s) != PATLen || !strings.HasPrefix(s, PATPrefix) {
		return PAT{}, ErrMalformedPAT
	}
	rest := s[len(PATPrefix):]
	for i := 0; i < len(rest); i++ {
		if !isBase62(rest[i]) {
			return PAT{}, ErrMalformedPAT
		}
	}
	body, sum := rest[:patBodyLen], rest[patBodyLen:]
	if subtle.ConstantTimeCompare([]byte(sum), []byte(patChecksum(body))) != 1 {
		return PAT{}, ErrMalformedPAT
	}
	return PAT{s: s}, nil
}

// LooksLikePAT reports whether s has the gth_ prefix, so a caller can route
// a bearer credential to PAT checking rather than JWT verification.
func LooksLikePAT(s string) bool { return strings.HasPrefix(s, PATPrefix) }

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func patChecksum(body string) string {
	c := crc32.NewIEEE()
	io.WriteString(c, PATPrefix)
	io.WriteString(c, body)
	v := c.Sum32()
	var out [patChecksumLen]byte
	for i := patChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out[:])
}

// Reveal returns the secret token. Call it only to show the token once to its
// owner.
func (p PAT) Reveal() string { return p.s }

// IsZero reports whether p holds no token.
func (p PAT) IsZero() bool { return p.s == "" }

// Prefix returns the display prefix, "gth_" and the first PATDisplayLen
// characters of the body, for listings. It reveals about 36 of 256 bits.
func (p PAT) Prefix() string {
	if len(p.s) < len(PATPrefix)+PATDisplayLen {
		return ""
	}
	return p.s[:len(PATPrefix)+PATDisplayLen]
}

// Hash returns the lookup hash of the token: what storage holds.
func (p PAT) Hash() []byte { return LookupHash(p.s) }

// String returns the display prefix followed by a redaction mark.
func (p PAT) String() string { return p.Prefix() + "…[redacted]" }

// GoString redacts as String does.
func (p PAT) GoString() string { return "token.PAT(" + p.String() + ")" }

// LogValue redacts as String does.
func (p PAT) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON redacts as String does; encode Reveal() explicitly to send the
// secret.
func (p PAT) MarshalJSON() ([]byte, error) { return []byte(`"` + p.String() + `"`), nil }

// LookupHash returns SHA-256 of a random secret token: the key under which
// storage finds it. Storage never holds the token itself.
//
// SHA-256 is enough here, and a password hash such as argon2id would add only
// CPU cost. A slow hash protects passwords because people choose them from a
// guessable space: a stolen hash can be tested against a dictionary. A token
// of 256 random bits has no dictionary; finding a token from its hash is a
// preimage attack on SHA-256, and even brute force needs about 2^255 tries,
// which no slowdown factor changes in any meaningful way. A slow hash would,
// on the other hand, put tens of milliseconds of CPU and megabytes of memory
// on every API request a PAT authenticates, and make an attacker's flood of
// made-up tokens expensive for us instead of for them. The lookup is an
// index search on the hash, so no secret is ever compared in SQL.
func LookupHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// LookupHashHex is LookupHash in lower-case hex.
func LookupHashHex(secret string) string { return hex.EncodeToString(LookupHash(secret)) }
