package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Alg names a JWS signature algorithm (RFC 7518 section 3.1; EdDSA from RFC
// 8037 section 3.1, which is what JWS headers and today's libraries use for
// Ed25519).
type Alg string

// The signature algorithms gatehouse signs and accepts. Nothing else is ever
// accepted: not "none", not any HMAC algorithm (RFC 8725 section 3.1).
const (
	RS256 Alg = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; RFC 9068 requires it
	ES256 Alg = "ES256" // ECDSA P-256 with SHA-256
	EdDSA Alg = "EdDSA" // Ed25519 (RFC 8037)
)

// Valid reports whether a is one of the supported algorithms.
func (a Alg) Valid() bool { return a == RS256 || a == ES256 || a == EdDSA }

// MinRSABits is the smallest RSA modulus accepted for signing or verifying.
const MinRSABits = 2048

// MaxKIDLen bounds a key id.
const MaxKIDLen = 64

// ValidKID reports whether kid is 1 to MaxKIDLen characters of the base64url
// alphabet. Key ids come from untrusted headers; this keeps path separators,
// dots, quotes, spaces and control characters out of every log line, map key
// and query they might reach.
func ValidKID(kid string) bool {
	if len(kid) == 0 || len(kid) > MaxKIDLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// PublicKey is a verification key bound to exactly one algorithm.
type PublicKey struct {
	KID string
	Alg Alg
	// Key is *rsa.PublicKey (RS256), *ecdsa.PublicKey on P-256 (ES256) or
	// ed25519.PublicKey (EdDSA).
	Key crypto.PublicKey
}

// NewPublicKey checks that key suits alg and that kid is valid.
func NewPublicKey(kid string, alg Alg, key crypto.PublicKey) (PublicKey, error) {
	if !ValidKID(kid) {
		return PublicKey{}, errors.New("token: invalid kid")
	}
	if err := checkKey(alg, key); err != nil {
		return PublicKey{}, err
	}
	return PublicKey{KID: kid, Alg: alg, Key: key}, nil
}

func checkKey(alg Alg, key crypto.PublicKey) error {
	switch alg {
	case RS256:
		k, ok := key.(*rsa.PublicKey)
		if !ok || k.N == nil || k.N.BitLen() < MinRSABits || k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("token: %s needs an RSA public key of at least %d bits", alg, MinRSABits)
		}
	case ES256:
		k, ok := key.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return fmt.Errorf("token: %s needs a P-256 public key", alg)
		}
	case EdDSA:
		k, ok := key.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("token: %s needs an Ed25519 public key", alg)
		}
	default:
		return fmt.Errorf("token: unsupported algorithm %q", alg)
	}
	return nil
}

// KeySet finds a verification key by its kid.
type KeySet interface {
	PublicKey(kid string) (PublicKey, bool)
}

// Keys is a KeySet held in a map from kid to key. Treat it as immutable once
// shared: build a new one to change it.
type Keys map[string]PublicKey

// PublicKey returns the key with the given kid.
func (ks Keys) PublicKey(kid string) (PublicKey, bool) {
	k, ok := ks[kid]
	return k, ok
}

// GenerateKey returns a new private key for alg: RSA-2048 for RS256, P-256
// for ES256, Ed25519 for EdDSA.
func GenerateKey(alg Alg) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, MinRSABits)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("token: unsupported algorithm %q", alg)
}

// MarshalPrivateKey encodes a private key as PKCS #8 DER, for encryption at
// rest under a key-encryption key (package kms). The result is secret.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	return x509.MarshalPKCS8PrivateKey(key)
}

// ParsePrivateKey decodes a PKCS #8 DER private key made by MarshalPrivateKey.
func ParsePrivateKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("token: private key cannot sign")
	}
	return s, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of key (SHA-256,
// base64url): a stable, content-derived key id.
func Thumbprint(key crypto.PublicKey) (string, error) {
	var members string
	switch k := key.(type) {
	case *rsa.PublicKey:
		members = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64(big.NewInt(int64(k.E)).Bytes()), b64(k.N.Bytes()))
	case *ecdsa.PublicKey:
		x, y, err := ecPoint(k)
		if err != nil {
			return "", err
		}
		members = fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, b64(x), b64(y))
	case ed25519.PublicKey:
		members = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64(k))
	default:
		return "", errors.New("token: unsupported key type")
	}
	sum := sha256.Sum256([]byte(members))
	return b64(sum[:]), nil
}

// ecPoint returns the fixed-width x and y coordinates of a P-256 key.
func ecPoint(k *ecdsa.PublicKey) (x, y []byte, err error) {
	if k.Curve != elliptic.P256() {
		return nil, nil, errors.New("token: only P-256 is supported")
	}
	b, err := k.Bytes() // 0x04 || x || y
	if err != nil {
		return nil, nil, err
	}
	return b[1:33], b[33:65], nil
}

var b64enc = base64.RawURLEncoding

// b64dec refuses padding and non-canonical trailing bits, so one value has one
// encoding (no signature malleability through the encoding).
var b64dec = base64.RawURLEncoding.Strict()

func b64(b []byte) string { return b64enc.EncodeToString(b) }

// randReader is the randomness for signing; tests may replace it.
var randReader io.Reader = rand.Reader
