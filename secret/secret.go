// Package secret holds gatehouse's master secret (docs/reference.md §9): it
// parses and checks GATEHOUSE_AUTH_SECRET, generates good ones, and derives
// every other key (the CSRF HMAC key, the local key-encryption key, …) from it
// with HKDF-SHA256 (RFC 5869), one label per use.
//
// The secret's bytes never leave the package except through Derive: Secret has
// no exported field, and its String, GoString and LogValue redact.
package secret

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// MinBytes is the least number of decoded bytes a master secret may have.
const MinBytes = 32

// Secret is the decoded master secret. The zero value holds no secret.
type Secret struct {
	key []byte
}

// Error says why a value was refused as a master secret. It never contains
// the value, nor any part of it.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "master secret " + e.Reason }

// The reasons Parse gives. Each is a complete phrase after "master secret ".
var (
	ErrMissing  = &Error{Reason: "is missing"}
	ErrEncoding = &Error{Reason: "is neither hex nor base64 (standard or URL-safe)"}
	ErrTooShort = &Error{Reason: "decodes to fewer than 32 bytes"}
)

func lowEntropy(why string) *Error { return &Error{Reason: "is low-entropy (" + why + ")"} }

// Parse decodes and checks a master secret. A value made only of hex digits is
// read as hex; anything else as base64, standard or URL-safe, with or without
// padding. Surrounding white space is ignored. The decoded secret must have at
// least MinBytes bytes and must not look like a placeholder, a repetition, a
// sequence, text, or otherwise have a low estimated entropy.
func Parse(s string) (Secret, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Secret{}, ErrMissing
	}
	// Placeholders are refused before anything else, so a short "changeme" is
	// called what it is rather than "too short".
	if placeholder(strings.ToLower(s)) {
		return Secret{}, lowEntropy("a well-known placeholder")
	}
	if why := textPattern(s); why != "" {
		return Secret{}, lowEntropy(why)
	}
	b, err := decode(s)
	if err != nil {
		return Secret{}, err
	}
	if len(b) < MinBytes {
		return Secret{}, ErrTooShort
	}
	if why := check(b); why != "" {
		return Secret{}, lowEntropy(why)
	}
	return Secret{key: b}, nil
}

// decode reads s as hex when it is made only of hex digits, else as base64.
func decode(s string) ([]byte, error) {
	if isHex(s) {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, ErrEncoding
		}
		return b, nil
	}
	t := strings.TrimRight(s, "=")
	if len(s)-len(t) > 2 {
		return nil, ErrEncoding
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(t, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.Strict().DecodeString(t)
	if err != nil {
		return nil, ErrEncoding
	}
	return b, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Generate returns a new master secret: 32 random bytes, URL-safe base64
// without padding. Parse accepts every value it returns.
func Generate() string {
	for {
		var b [MinBytes]byte
		rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
		s := base64.RawURLEncoding.EncodeToString(b[:])
		// A random value trips a check with a probability far below 1e-12;
		// looping keeps the promise that Parse accepts it anyway.
		if _, err := Parse(s); err == nil {
			return s
		}
	}
}

// IsZero reports whether s holds no secret.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// Derive returns n bytes derived from the secret for one purpose, named by
// label (for example "csrf-hmac" or "local-kek"). Different labels give
// independent keys; the same label always gives the same key. It uses
// HKDF-SHA256 (RFC 5869) with the label as the info parameter. It panics if
// the secret is zero or n is out of HKDF's range (1 to 8160 bytes), which are
// programming errors.
func (s Secret) Derive(label string, n int) []byte {
	if s.IsZero() {
		panic("secret: Derive on a zero Secret")
	}
	if label == "" {
		panic("secret: Derive needs a label")
	}
	k, err := hkdf.Key(sha256.New, s.key, []byte("gatehouse master secret v1"), "gatehouse/"+label, n)
	if err != nil {
		panic("secret: Derive: " + err.Error())
	}
	return k
}

// String redacts the secret.
func (Secret) String() string { return "[REDACTED]" }

// GoString redacts the secret from %#v.
func (Secret) GoString() string { return "secret.Secret{[REDACTED]}" }

// Format redacts the secret under every fmt verb (%d and %x included, which
// would otherwise print the bytes of an unexported field).
func (Secret) Format(f fmt.State, verb rune) { io.WriteString(f, "[REDACTED]") }

// LogValue redacts the secret from slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }
