package kms

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// LocalKeyLabel is the HKDF label the caller should derive the local KEK
// with from the master secret (secret.Derive(LocalKeyLabel, 32)), so that no
// other derived key equals it.
const LocalKeyLabel = "gatehouse kms local kek v1"

// Local is a KEK provider whose keys are 32-byte AES-256 keys derived from
// the master secret with HKDF (by the caller). It is the default: nothing to
// run, and a changed master secret makes old envelopes fail to open (with
// ErrUnknownKEK, not garbage), as docs/reference.md §9 says.
type Local struct {
	current string
	keys    map[string]cipher.AEAD
}

// NewLocal returns a provider that wraps under current and can also unwrap
// under each of previous (keys from earlier master secrets, to re-seal after
// a secret change). Each key must be 32 bytes.
func NewLocal(current []byte, previous ...[]byte) (*Local, error) {
	l := &Local{keys: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{current}, previous...) {
		if len(k) != 32 {
			return nil, errors.New("kms: a local key-encryption key must be 32 bytes")
		}
		id := localKeyID(k)
		gcm, err := newGCM(k)
		if err != nil {
			return nil, err
		}
		l.keys[id] = gcm
		if i == 0 {
			l.current = id
		}
	}
	return l, nil
}

// localKeyID names a local KEK without revealing it: "local-" and 16 hex
// digits of an HMAC of a fixed label under the key.
func localKeyID(k []byte) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("gatehouse local kek id"))
	return "local-" + hex.EncodeToString(m.Sum(nil)[:8])
}

// KeyID returns the id of the KEK that Wrap uses.
func (l *Local) KeyID() string { return l.current }

// Wrap encrypts dek with AES-256-GCM under the current KEK, with the KEK id
// as additional data.
func (l *Local) Wrap(_ context.Context, dek []byte) (string, []byte, error) {
	gcm := l.keys[l.current]
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return l.current, gcm.Seal(nonce, nonce, dek, []byte(l.current)), nil
}

// Unwrap decrypts a data key wrapped by Wrap under keyID.
func (l *Local) Unwrap(_ context.Context, keyID string, wrapped []byte) ([]byte, error) {
	gcm, ok := l.keys[keyID]
	if !ok {
		return nil, ErrUnknownKEK
	}
	if len(wrapped) < gcm.NonceSize()+gcm.Overhead() {
		return nil, ErrEnvelope
	}
	n := gcm.NonceSize()
	dek, err := gcm.Open(nil, wrapped[:n], wrapped[n:], []byte(keyID))
	if err != nil {
		return nil, ErrDecrypt
	}
	return dek, nil
}
