// Package gatehouse holds the domain of the gatehouse authentication service:
// its types, its one error type with codes, and the interfaces that two kinds
// of adapter implement: storage (Store and Tx, with the signing-key rows'
// KeyTx; package sqlstore) and mail (Mailer; package mail). The other
// adapters are defined where they are used: rate-limit backends implement
// ratelimit.Backend (packages ratelimit/memory and ratelimit/redis), and
// key-encryption keys kms.KEK (kms.Local, package kms/awskms). It imports
// only the standard library; the security logic lives in package auth, HTTP
// in package httpapi.
package gatehouse

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error code from docs/reference.md §2.
type Code string

// The error codes of the public contract. Each maps to one HTTP status in
// package httpapi.
const (
	EInvalidRequest       Code = "invalid_request"
	EInvalidClient        Code = "invalid_client"
	EInvalidGrant         Code = "invalid_grant"
	EUnauthorizedClient   Code = "unauthorized_client"
	EUnsupportedGrantType Code = "unsupported_grant_type"
	EInvalidScope         Code = "invalid_scope"
	EUnauthorized         Code = "unauthorized"
	EForbidden            Code = "forbidden"
	ECSRFFailed           Code = "csrf_failed"
	EOriginNotAllowed     Code = "origin_not_allowed"
	EAccountLocked        Code = "account_locked"
	EAccountDisabled      Code = "account_disabled"
	ENotFound             Code = "not_found"
	EConflict             Code = "conflict"
	EPayloadTooLarge      Code = "payload_too_large"
	EUnsupportedMediaType Code = "unsupported_media_type"
	ERateLimited          Code = "rate_limited"
	EUnavailable          Code = "unavailable"
	EInternal             Code = "internal"
	// EInsufficientScope: the bearer token lacks a scope the resource
	// needs (RFC 6750 section 3.1), e.g. openid at userinfo.
	EInsufficientScope Code = "insufficient_scope"
)

// Error is the one error type of gatehouse. Message is safe to show to the
// caller; Err is the internal cause, for logs only.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error returns the code, the safe message and, for logs, the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error whose safe message is msg and whose cause is err.
func Wrap(code Code, err error, msg string) *Error {
	return &Error{Code: code, Message: msg, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or EInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the safe message of the first *Error in err's chain, or
// "internal error" for anything else, so a cause is never shown to a caller.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}

// ErrNotFound is returned by stores when a row does not exist (or is hidden by
// row-level security, which is the same thing to the caller).
var ErrNotFound = &Error{Code: ENotFound, Message: "not found"}

// ErrConflict is returned by stores when a unique key is already taken.
var ErrConflict = &Error{Code: EConflict, Message: "already exists"}
