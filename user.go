package gatehouse

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// UserStatus is an account's status. Only active accounts can sign in.
type UserStatus string

// The account statuses.
const (
	StatusActive   UserStatus = "active"
	StatusLocked   UserStatus = "locked"
	StatusDisabled UserStatus = "disabled"
)

// Valid reports whether s is one of the defined statuses.
func (s UserStatus) Valid() bool {
	return s == StatusActive || s == StatusLocked || s == StatusDisabled
}

// User is a person's account. Users live outside any workspace.
type User struct {
	ID           string
	Email        string // normalized by NormalizeEmail
	PasswordHash string // PHC string; empty for a magic-link-only account
	Status       UserStatus
	Admin        bool // instance admin
	// EmailVerifiedAt is when the account last proved its address; zero:
	// never (docs/reference.md section 16).
	EmailVerifiedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// MaxEmailLen bounds an email address (RFC 5321 limits a path to 256 octets).
const MaxEmailLen = 254

// NormalizeEmail trims spaces and lower-cases an address, and checks that it
// has the shape local@domain with no spaces or control characters. It does not
// try to be a full RFC 5322 parser: the only proof of an address is mail that
// arrives.
//
// It refuses (EInvalidRequest, 400) an address holding a character that
// shows nothing or makes two addresses look alike (see invisibleRune):
// zero-width characters, bidirectional controls, U+FEFF, U+FFFD (which
// invalid UTF-8 decodes to), every other format character, and spaces of
// any kind. Otherwise "ada\u200b@example.com" would be a second account that
// reads as "ada@example.com" on every screen (Unicode Technical Report #36,
// security considerations, and Technical Standard #39, security mechanisms).
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 0 || len(s) > MaxEmailLen {
		return "", Errorf(EInvalidRequest, "email must be an address of at most %d bytes", MaxEmailLen)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") && s[at+1:] != "localhost" {
		return "", Errorf(EInvalidRequest, "email is not an address")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' {
			return "", Errorf(EInvalidRequest, "email is not an address")
		}
		if invisibleRune(r) {
			return "", errLookAlikeEmail
		}
	}
	return s, nil
}

var errLookAlikeEmail = Errorf(EInvalidRequest, "email holds an invisible, bidirectional-control or replacement character")

// LookAlikeEmail returns the invalid_request error NormalizeEmail gives an
// address holding an invisible, bidirectional-control or replacement
// character, or nil. Sign-in endpoints that answer a malformed address as an
// unknown one (so that it costs and reads the same) still refuse these with
// 400: such a value is never a typo of a real address but a look-alike
// (docs/reference.md §17), and refusing it says nothing about any account.
//
// Like NormalizeEmail, it first trims the white space at either end (any
// Unicode space), so it never refuses at sign-in an address that sign-up
// accepted (found by FuzzNormalizeEmail).
func LookAlikeEmail(s string) error {
	for _, r := range strings.TrimSpace(s) {
		if invisibleRune(r) && r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			return errLookAlikeEmail
		}
	}
	return nil
}

// invisibleRune reports whether r has no place in an email address because
// it shows nothing, reorders what is shown, or stands for something lost:
//
//   - format characters (Unicode category Cf): U+200B–U+200F (zero-width
//     space, non-joiner, joiner, LRM, RLM), U+202A–U+202E and U+2066–U+2069
//     (bidirectional embeddings, overrides and isolates), U+FEFF (BOM,
//     zero-width no-break space), U+00AD (soft hyphen), U+2060–U+2064, tags
//     (U+E0001–U+E007F) and the rest of the category;
//   - the other default-ignorable code points (Hangul fillers, U+034F
//     combining grapheme joiner) and variation selectors, which render as
//     nothing;
//   - U+FFFD, the replacement character, which invalid UTF-8 decodes to;
//   - C0 and C1 controls, spaces and line or paragraph separators of any
//     kind (Unicode category Z: U+00A0, U+2028, U+3000, …), private-use
//     characters and noncharacters.
func invisibleRune(r rune) bool {
	return r == utf8.RuneError || r < ' ' || r == 0x7f ||
		unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Z,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.Noncharacter_Code_Point)
}

// UserTx is the part of a transaction that reads and writes users.
type UserTx interface {
	// CreateUser inserts u; ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns ErrNotFound when there is no such user.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail looks up a normalized email; ErrNotFound when none.
	UserByEmail(ctx context.Context, email string) (*User, error)
	UpdateUserStatus(ctx context.Context, id string, status UserStatus, now time.Time) error
	SetUserAdmin(ctx context.Context, id string, admin bool, now time.Time) error
	UpdatePasswordHash(ctx context.Context, id, hash string, now time.Time) error
}
