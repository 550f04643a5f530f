// Package kms encrypts secrets at rest (gatehouse's private signing keys)
// under a key-encryption key (KEK) held by a provider: Local, derived from the
// master secret, or package awskms, a key in AWS KMS or anything that speaks
// its API.
//
// Seal uses envelope encryption: every blob gets its own random 256-bit data
// key (DEK); the blob is encrypted with AES-256-GCM under the DEK, and the DEK
// is wrapped by the provider. The envelope records which KEK (id and version)
// wrapped it, so a KEK can change (a new master secret, a KMS key rotation)
// while old envelopes stay readable for as long as the provider still knows
// their KEK. The KEK id and the caller's additional data are bound into the
// GCM additional data, so an envelope cannot be moved to another row or
// relabelled with another key id.
//
// Signing never goes through this package: signing keys are used through
// crypto.Signer (package token), so a key that never leaves a KMS can be added
// later as another crypto.Signer without changing callers.
package kms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// KEK is a key-encryption key provider: it wraps and unwraps data keys.
type KEK interface {
	// Wrap encrypts a data key under the current KEK and returns the id
	// (with version, where the provider has one) of the KEK that was used.
	Wrap(ctx context.Context, dek []byte) (keyID string, wrapped []byte, err error)
	// Unwrap decrypts a data key wrapped under keyID. It fails with
	// ErrUnknownKEK when the provider does not hold that KEK.
	Unwrap(ctx context.Context, keyID string, wrapped []byte) ([]byte, error)
}

// Errors from Open.
var (
	ErrEnvelope   = errors.New("kms: malformed envelope")
	ErrUnknownKEK = errors.New("kms: envelope sealed under a key-encryption key this provider does not hold")
	ErrDecrypt    = errors.New("kms: envelope does not decrypt (wrong key or tampered)")
)

// envelope format, all lengths big-endian:
//
//	"GHE1" | u16 len(keyID) | keyID | u16 len(wrapped) | wrapped | nonce (12) | ciphertext+tag
var magic = []byte("GHE1")

const (
	dekLen   = 32 // AES-256
	nonceLen = 12
	maxField = 4096
)

// Seal encrypts plaintext under a fresh data key wrapped by kek. aad is
// authenticated but not stored: Open must be given the same aad (for a
// signing key, its kid).
func Seal(ctx context.Context, kek KEK, plaintext, aad []byte) ([]byte, error) {
	dek := make([]byte, dekLen)
	if _, err := rand.Read(dek); err != nil {
		return nil, err
	}
	defer clear(dek)
	keyID, wrapped, err := kek.Wrap(ctx, dek)
	if err != nil {
		return nil, fmt.Errorf("kms: wrap data key: %w", err)
	}
	if len(keyID) == 0 || len(keyID) > maxField || len(wrapped) == 0 || len(wrapped) > maxField {
		return nil, errors.New("kms: provider returned an unusable key id or wrapped key")
	}
	gcm, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(magic)+4+len(keyID)+len(wrapped)+nonceLen+len(plaintext)+gcm.Overhead())
	out = append(out, magic...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(keyID)))
	out = append(out, keyID...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(wrapped)))
	out = append(out, wrapped...)
	nonce := make([]byte, nonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, plaintext, dataAAD(keyID, aad)), nil
}

// Open decrypts an envelope made by Seal with the same aad.
func Open(ctx context.Context, kek KEK, envelope, aad []byte) ([]byte, error) {
	keyID, wrapped, nonce, ct, err := parseEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	dek, err := kek.Unwrap(ctx, keyID, wrapped)
	if err != nil {
		if errors.Is(err, ErrUnknownKEK) || errors.Is(err, ErrDecrypt) {
			return nil, err
		}
		return nil, fmt.Errorf("kms: unwrap data key: %w", err)
	}
	defer clear(dek)
	if len(dek) != dekLen {
		return nil, ErrDecrypt
	}
	gcm, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	pt, err := gcm.Open(nil, nonce, ct, dataAAD(keyID, aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// EnvelopeKeyID returns the id of the KEK an envelope was sealed under, for
// listings and for re-wrapping after a KEK change.
func EnvelopeKeyID(envelope []byte) (string, error) {
	keyID, _, _, _, err := parseEnvelope(envelope)
	return keyID, err
}

func parseEnvelope(b []byte) (keyID string, wrapped, nonce, ct []byte, err error) {
	if len(b) < len(magic) || string(b[:len(magic)]) != string(magic) {
		return "", nil, nil, nil, ErrEnvelope
	}
	b = b[len(magic):]
	field := func() ([]byte, bool) {
		if len(b) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b))
		if n == 0 || n > maxField || len(b) < 2+n {
			return nil, false
		}
		f := b[2 : 2+n]
		b = b[2+n:]
		return f, true
	}
	k, ok1 := field()
	w, ok2 := field()
	if !ok1 || !ok2 || len(b) < nonceLen+16 {
		return "", nil, nil, nil, ErrEnvelope
	}
	return string(k), w, b[:nonceLen], b[nonceLen:], nil
}

// dataAAD binds the KEK id and the caller's aad, each length-prefixed so no
// two different pairs give the same bytes.
func dataAAD(keyID string, aad []byte) []byte {
	out := make([]byte, 0, 32+len(keyID)+len(aad))
	out = append(out, "gatehouse envelope v1"...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(keyID)))
	out = append(out, keyID...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(aad)))
	return append(out, aad...)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
