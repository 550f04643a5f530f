package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-auth/gatehouse"
)

// MaxBytes bounds a password as received, before normalization: anything
// longer is refused with invalid_request before any hashing (docs/reference.md §3).
const MaxBytes = 1024

// DefaultMinLength is the minimum length of a password used as a single
// factor, in Unicode code points (NIST SP 800-63B-4 section 3.1.1.2: 15).
const DefaultMinLength = 15

// MinMinLength is the lowest minimum a deployment may configure: NIST's
// floor for a password used with a second factor.
const MinMinLength = 8

// Policy is the set of rules for choosing a password (NIST SP 800-63B-4
// section 3.1.1.2): a minimum length, no maximum below MaxBytes (so at least
// 64 characters are always allowed), never truncated, no composition rules,
// and a blocklist of common and guessable passwords.
type Policy struct {
	// MinLength is the minimum length in code points after Normalize; 0:
	// DefaultMinLength.
	MinLength int
}

// Validate reports whether the policy is acceptable.
func (p Policy) Validate() error {
	if p.MinLength != 0 && (p.MinLength < MinMinLength || p.MinLength > 64) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "password minimum length must be between %d and 64", MinMinLength)
	}
	return nil
}

func (p Policy) minLength() int {
	if p.MinLength == 0 {
		return DefaultMinLength
	}
	return p.MinLength
}

var errTooLong = gatehouse.Errorf(gatehouse.EInvalidRequest, "password must be at most %d bytes", MaxBytes)

// CheckLength refuses a password over MaxBytes: the only rule applied at
// login, before any hashing.
func CheckLength(password string) error {
	if len(password) > MaxBytes {
		return errTooLong
	}
	return nil
}

// Check reports why password may not be chosen, as an invalid_request error
// whose message says the reason, or nil. contextWords are words an attacker
// would try for this account (its email address); the password may not be
// one of them or contain the email's local part.
func (p Policy) Check(password string, contextWords ...string) error {
	if err := CheckLength(password); err != nil {
		return err
	}
	if !utf8.ValidString(password) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "password must be valid UTF-8")
	}
	pw := Normalize(password)
	for _, r := range pw {
		if unicode.IsControl(r) {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "password must not contain control characters")
		}
	}
	if n := utf8.RuneCountInString(pw); n < p.minLength() {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "password must be at least %d characters", p.minLength())
	}
	folded := fold(pw)
	if isListed(commonSet(), folded) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "this password is too common")
	}
	if isPattern(folded) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "this password is too easy to guess: it repeats or follows a sequence")
	}
	if len(contextWords) > 0 {
		own := make(map[string]struct{}, 2*len(contextWords))
		for _, w := range contextWords {
			w = fold(Normalize(w))
			local, _, _ := strings.Cut(w, "@")
			own[w], own[local] = struct{}{}, struct{}{}
		}
		if isListed(own, folded) {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "this password is too easy to guess: it is made of your email address")
		}
	}
	return nil
}

// Normalize prepares a password for hashing as RFC 8265's OpaqueString
// profile does (section 4.2, which NIST SP 800-63B-4 points to): non-ASCII
// spaces become U+0020 and the string is put in Unicode Normalization Form C,
// so that the same password typed on two keyboards hashes the same. NFC, not
// NFKC: compatibility folding would merge characters people tell apart. Hash
// and Verify call it; the length rule counts code points of its result.
func Normalize(password string) string {
	ascii := true
	for i := 0; i < len(password); i++ {
		if password[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return password
	}
	s := strings.Map(func(r rune) rune {
		if r != ' ' && unicode.Is(unicode.Zs, r) {
			return ' '
		}
		return r
	}, password)
	return norm.NFC.String(s)
}

// fold lower-cases s and drops its spaces, the form blocklist entries take.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

//go:embed common.txt
var commonText string

var commonSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 512)
	for _, line := range strings.Split(commonText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		m[fold(line)] = struct{}{}
	}
	return m
})

// isListed reports whether folded is in set, is an entry followed by up to
// six digits or symbols ("password2024!"), or is an entry repeated.
func isListed(set map[string]struct{}, folded string) bool {
	if _, ok := set[folded]; ok {
		return true
	}
	stem := folded
	for i := 0; i < 6 && stem != ""; i++ {
		r, size := utf8.DecodeLastRuneInString(stem)
		if unicode.IsLetter(r) {
			break
		}
		stem = stem[:len(stem)-size]
		if _, ok := set[stem]; ok {
			return true
		}
	}
	for unit := 1; unit <= len(folded)/2; unit++ {
		if len(folded)%unit != 0 || strings.Repeat(folded[:unit], len(folded)/unit) != folded {
			continue
		}
		if _, ok := set[folded[:unit]]; ok {
			return true
		}
	}
	return false
}

// walks are runs that people type as passwords: the alphabet, digits and
// keyboard rows and columns, each also reversed.
var walks = func() []string {
	base := []string{
		"abcdefghijklmnopqrstuvwxyz",
		"0123456789",
		"qwertyuiopasdfghjklzxcvbnm",
		"qwertzuiopasdfghjklyxcvbnm",
		"azertyuiopqsdfghjklmwxcvbn",
		"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
		"1q2w3e4r5t6y7u8i9o0p",
	}
	var out []string
	for _, b := range base {
		r := []rune(b)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		// Doubled so that a walk that wraps around ("7890123…") is found.
		out = append(out, b+b+b, string(r)+string(r)+string(r))
	}
	return out
}()

// isPattern reports whether folded is one short unit (up to four code points)
// repeated, as "aaaaaaaaaaaaaaa" or "abcabcabcabcabc", or a part of a walk.
func isPattern(folded string) bool {
	r := []rune(folded)
	for unit := 1; unit <= 4 && unit <= len(r)/2; unit++ {
		rep := true
		for i := unit; i < len(r); i++ {
			if r[i] != r[i-unit] {
				rep = false
				break
			}
		}
		if rep {
			return true
		}
	}
	for _, w := range walks {
		if strings.Contains(w, folded) {
			return true
		}
	}
	return false
}
