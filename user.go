package gatehouse

import (
	"context"
	"strings"
	"time"
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
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MaxEmailLen bounds an email address (RFC 5321 limits a path to 256 octets).
const MaxEmailLen = 254

// NormalizeEmail trims spaces and lower-cases an address, and checks that it
// has the shape local@domain with no spaces or control characters. It does not
// try to be a full RFC 5322 parser: the only proof of an address is mail that
// arrives.
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
	}
	return s, nil
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
