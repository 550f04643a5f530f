// Package password hashes and checks people's passwords: argon2id stored as PHC
// strings, run in a bounded pool so that a burst of logins queues (up to a
// limit) instead of allocating argon2's memory without bound, and a policy
// that follows NIST SP 800-63B-4 section 3.1.1.2.
package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters (RFC 9106 section 3.1).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes of salt for new hashes
	KeyLen  uint32 // bytes of output
}

// DefaultParams are OWASP's first recommendation for argon2id (Password
// Storage Cheat Sheet, "Argon2id": m=19 MiB, t=2, p=1), with a 16-byte salt
// and a 32-byte output.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on every parameter, applied to configuration and to every stored
// hash parsed, so that a row in the database cannot make gatehouse allocate
// gigabytes or spin for minutes. A stored hash below the minimum still parses
// (it is merely weak, and NeedsRehash says so); one above the maximum does not.
const (
	MinMemory  = 8          // KiB; argon2 needs at least 8 KiB per lane
	MaxMemory  = 256 * 1024 // KiB: 256 MiB
	MinTime    = 1
	MaxTime    = 16
	MinThreads = 1
	MaxThreads = 16
	MinSaltLen = 8 // RFC 9106 recommends 16; 8 is PHC's floor
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 64

	// maxPHCLen bounds the encoded string before it is parsed at all.
	maxPHCLen = 256
)

// Validate reports whether p is within the bounds above.
func (p Params) Validate() error {
	switch {
	case p.Memory < MinMemory || p.Memory > MaxMemory:
		return fmt.Errorf("password: argon2 memory %d KiB outside [%d, %d]", p.Memory, MinMemory, MaxMemory)
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("password: argon2 memory %d KiB below 8 KiB per lane", p.Memory)
	case p.Time < MinTime || p.Time > MaxTime:
		return fmt.Errorf("password: argon2 time %d outside [%d, %d]", p.Time, MinTime, MaxTime)
	case p.Threads < MinThreads || p.Threads > MaxThreads:
		return fmt.Errorf("password: argon2 threads %d outside [%d, %d]", p.Threads, MinThreads, MaxThreads)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("password: salt length %d outside [%d, %d]", p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("password: key length %d outside [%d, %d]", p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// weakerThan reports whether a hash made with p costs less than one made with
// q, or is shorter: the test for rehashing at login.
func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.Threads < q.Threads || p.KeyLen < q.KeyLen || p.SaltLen < q.SaltLen
}

// Hash is a parsed PHC string.
type Hash struct {
	Params Params // SaltLen and KeyLen are those of Salt and Key
	Salt   []byte
	Key    []byte
}

// String returns the PHC string form (https://github.com/P-H-C/phc-string-format):
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>, both in unpadded
// standard base64.
func (h *Hash) String() string {
	var b strings.Builder
	b.Grow(96)
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(h.Params.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(h.Params.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(h.Params.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.Salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.Key))
	return b.String()
}

// b64 is PHC's base64: standard alphabet, no padding, and strict, so that
// exactly one string encodes each byte sequence.
var b64 = base64.RawStdEncoding.Strict()

// ErrMalformed is returned for a stored hash that is not a PHC argon2id
// string within bounds. It is an internal error: stored hashes are ours.
var ErrMalformed = errors.New("password: malformed or out-of-bounds argon2id PHC string")

// Parse parses a PHC argon2id string strictly: the exact field order written
// by String, version 19 only, decimal numbers without sign or leading zeros,
// every parameter within bounds, canonical base64. Anything else is
// ErrMalformed, before any memory is allocated for argon2.
func Parse(s string) (*Hash, error) {
	if len(s) > maxPHCLen {
		return nil, ErrMalformed
	}
	rest, ok := strings.CutPrefix(s, "$argon2id$v=19$m=")
	if !ok {
		return nil, ErrMalformed
	}
	var p Params
	var n uint64
	if n, rest, ok = cutNumber(rest, ",t=", MaxMemory); !ok {
		return nil, ErrMalformed
	}
	p.Memory = uint32(n)
	if n, rest, ok = cutNumber(rest, ",p=", MaxTime); !ok {
		return nil, ErrMalformed
	}
	p.Time = uint32(n)
	if n, rest, ok = cutNumber(rest, "$", MaxThreads); !ok {
		return nil, ErrMalformed
	}
	p.Threads = uint8(n)
	saltText, keyText, ok := strings.Cut(rest, "$")
	if !ok || !isB64(saltText) || !isB64(keyText) {
		return nil, ErrMalformed
	}
	salt, err := b64.DecodeString(saltText)
	if err != nil {
		return nil, ErrMalformed
	}
	key, err := b64.DecodeString(keyText)
	if err != nil {
		return nil, ErrMalformed
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if p.Validate() != nil {
		return nil, ErrMalformed
	}
	return &Hash{Params: p, Salt: salt, Key: key}, nil
}

// isB64 reports whether s holds only the standard base64 alphabet: Go's
// decoder skips CR and LF, which would let two strings encode one hash.
func isB64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// cutNumber reads a decimal number in [0, max] up to sep and returns it and
// what follows sep.
func cutNumber(s, sep string, max uint64) (uint64, string, bool) {
	digits, rest, ok := strings.Cut(s, sep)
	if !ok || len(digits) == 0 || len(digits) > 7 || (len(digits) > 1 && digits[0] == '0') {
		return 0, "", false
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, "", false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > max {
		return 0, "", false
	}
	return n, rest, true
}

// derive runs argon2id. Callers hold a pool slot.
func derive(password []byte, salt []byte, p Params) []byte {
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}
