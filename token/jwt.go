package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"time"
)

// MaxTokenLen bounds a compact JWS. Longer input is refused before it is
// split, decoded or parsed.
const MaxTokenLen = 8 << 10

// maxHeaderLen bounds the decoded protected header: alg, kid and typ fit in
// far less.
const maxHeaderLen = 512

// AccessTokenType is the JWS typ of an access token (RFC 9068 section 2.1).
const AccessTokenType = "at+jwt"

// DefaultLeeway is the clock-skew allowance for exp, nbf and iat.
const DefaultLeeway = 60 * time.Second

// Verification errors. Each refused token wraps exactly one of them, so a
// caller can tell "refresh the key set" (ErrUnknownKey) from everything else.
var (
	ErrMalformed     = errors.New("token: malformed")
	ErrHeader        = errors.New("token: header member not allowed")
	ErrAlgorithm     = errors.New("token: algorithm not allowed")
	ErrUnknownKey    = errors.New("token: unknown key id")
	ErrSignature     = errors.New("token: bad signature")
	ErrType          = errors.New("token: wrong typ")
	ErrIssuer        = errors.New("token: wrong issuer")
	ErrAudience      = errors.New("token: wrong audience")
	ErrExpired       = errors.New("token: expired")
	ErrNotYetValid   = errors.New("token: not yet valid")
	ErrMissingClaims = errors.New("token: required claim missing")
)

// Claims are the claims of an access token (RFC 9068 section 2.2). Times are
// NumericDate seconds.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  Audience `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	NotBefore int64    `json:"nbf,omitempty"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
	// SessionID is the sid of a person's session; empty for a client's token.
	SessionID string `json:"sid,omitempty"`
	// WorkspaceID is the workspace a client's token is confined to.
	WorkspaceID string `json:"workspace_id,omitempty"`
	// AuthTime is when the person of a session last proved a factor
	// (NumericDate), and AMR the methods they used (RFC 8176 values). RFC
	// 9068 section 2.2.1 lets access tokens carry both, as id_tokens do
	// (OpenID Connect Core section 2). Both are absent from a client's token.
	AuthTime int64    `json:"auth_time,omitempty"`
	AMR      []string `json:"amr,omitempty"`
}

// Scopes splits Scope on spaces.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// Audience is the aud claim: one string, or an array of strings (RFC 7519
// section 4.1.3). It is always written as a string when it has one member.
type Audience []string

// MarshalJSON writes one audience as a string.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// Contains reports whether aud is one of a.
func (a Audience) Contains(aud string) bool {
	for _, s := range a {
		if s == aud {
			return true
		}
	}
	return false
}

// Signer makes compact JWS tokens with one key and its one algorithm.
// It is safe for concurrent use if its crypto.Signer is.
type Signer struct {
	kid    string
	alg    Alg
	signer crypto.Signer
	pub    PublicKey
}

// NewSigner binds signer to kid and alg. The signer may be an in-memory key
// or one held by a KMS or HSM: only its Public and Sign methods are used.
func NewSigner(kid string, alg Alg, signer crypto.Signer) (*Signer, error) {
	pub, err := NewPublicKey(kid, alg, signer.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{kid: kid, alg: alg, signer: signer, pub: pub}, nil
}

// KID returns the signer's key id.
func (s *Signer) KID() string { return s.kid }

// Alg returns the signer's algorithm.
func (s *Signer) Alg() Alg { return s.alg }

// PublicKey returns the verification key for the signer's tokens.
func (s *Signer) PublicKey() PublicKey { return s.pub }

// SignAccessToken signs c as an RFC 9068 access token (typ at+jwt).
func (s *Signer) SignAccessToken(c *Claims) (string, error) {
	return s.Sign(AccessTokenType, c)
}

// Sign returns the compact JWS of claims (marshalled with encoding/json) with
// the protected header {"alg","kid","typ"}.
func (s *Signer) Sign(typ string, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	hdr, err := json.Marshal(struct {
		Alg Alg    `json:"alg"`
		KID string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{s.alg, s.kid, typ})
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.Grow(b64enc.EncodedLen(len(hdr)) + b64enc.EncodedLen(len(payload)) + 400)
	sb.WriteString(b64(hdr))
	sb.WriteByte('.')
	sb.WriteString(b64(payload))
	sig, err := s.signBytes([]byte(sb.String()))
	if err != nil {
		return "", err
	}
	sb.WriteByte('.')
	sb.WriteString(b64(sig))
	return sb.String(), nil
}

func (s *Signer) signBytes(msg []byte) ([]byte, error) {
	switch s.alg {
	case EdDSA:
		return s.signer.Sign(randReader, msg, crypto.Hash(0))
	case RS256:
		d := sha256.Sum256(msg)
		return s.signer.Sign(randReader, d[:], crypto.SHA256)
	case ES256:
		d := sha256.Sum256(msg)
		der, err := s.signer.Sign(randReader, d[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		// crypto.Signer returns ASN.1 DER; JWS wants r || s, 32 bytes each
		// (RFC 7518 section 3.4).
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 {
			return nil, errors.New("token: ECDSA signer returned a bad signature")
		}
		if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.Cmp(p256N) >= 0 || rs.S.Cmp(p256N) >= 0 {
			return nil, errors.New("token: ECDSA signer returned a bad signature")
		}
		// Low-S form: (r, n-s) verifies as (r, s) does, and Verify accepts
		// only s <= n/2 (see the package documentation), so a signer (a KMS,
		// say) that returns the high twin is normalized here.
		if rs.S.Cmp(p256HalfN) > 0 {
			rs.S = new(big.Int).Sub(p256N, rs.S)
		}
		out := make([]byte, 64)
		rs.R.FillBytes(out[:32])
		rs.S.FillBytes(out[32:])
		return out, nil
	}
	return nil, ErrAlgorithm
}

// p256N is n, the order of P-256's base point; p256HalfN is n/2 (rounded
// down), which an ES256 signature's s must not exceed (low-S, see doc.go).
var (
	p256N     = elliptic.P256().Params().N
	p256HalfN = new(big.Int).Rsh(p256N, 1)
)

// Verifier checks access tokens. Issuer and Audience are required.
type Verifier struct {
	Issuer   string
	Audience string
	// Leeway is the clock-skew allowance for exp, nbf and iat; use
	// DefaultLeeway unless there is a reason not to.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verify checks tok against keys and the verifier's expectations and returns
// its claims. It follows RFC 8725 and RFC 9068 section 4: the size is bounded
// before parsing; the header may hold only alg, kid and typ (a jku, jwk, x5u,
// x5c or crit member is refused, and nothing is ever fetched); the alg must be
// the one the kid's key is bound to; typ must be at+jwt; iss, aud, exp, nbf
// and iat are checked with the leeway; duplicate JSON members, trailing data
// and non-canonical base64url are refused.
func (v *Verifier) Verify(tok string, keys KeySet) (*Claims, error) {
	if v.Issuer == "" || v.Audience == "" {
		return nil, errors.New("token: verifier needs an issuer and an audience")
	}
	payload, err := VerifySigned(tok, AccessTokenType, keys)
	if err != nil {
		return nil, err
	}
	var c Claims
	if err := decodeClaims(payload, &c); err != nil {
		return nil, err
	}
	if err := v.checkClaims(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (v *Verifier) checkClaims(c *Claims) error {
	if c.Subject == "" || c.ID == "" || c.ClientID == "" || c.ExpiresAt == 0 || c.IssuedAt == 0 {
		return ErrMissingClaims
	}
	if c.Issuer != v.Issuer {
		return ErrIssuer
	}
	if !c.Audience.Contains(v.Audience) {
		return ErrAudience
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	leeway := v.Leeway
	if !t.Before(time.Unix(c.ExpiresAt, 0).Add(leeway)) {
		return ErrExpired
	}
	if c.NotBefore != 0 && t.Add(leeway).Before(time.Unix(c.NotBefore, 0)) {
		return ErrNotYetValid
	}
	if t.Add(leeway).Before(time.Unix(c.IssuedAt, 0)) {
		return ErrNotYetValid // issued in the future
	}
	return nil
}

// typeIs compares a typ header with want case-insensitively, with or without
// the "application/" prefix (RFC 7515 section 4.1.9, RFC 9068 section 2.1).
func typeIs(typ, want string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, want)
}

func verifySig(key PublicKey, signed, sig []byte) bool {
	switch k := key.Key.(type) {
	case ed25519.PublicKey:
		return key.Alg == EdDSA && len(k) == ed25519.PublicKeySize &&
			len(sig) == ed25519.SignatureSize && ed25519.Verify(k, signed, sig)
	case *rsa.PublicKey:
		if key.Alg != RS256 {
			return false
		}
		d := sha256.Sum256(signed)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	case *ecdsa.PublicKey:
		if key.Alg != ES256 || len(sig) != 64 {
			return false
		}
		d := sha256.Sum256(signed)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if s.Cmp(p256HalfN) > 0 {
			return false // the high-S twin of a signature: refused, see doc.go
		}
		return ecdsa.Verify(k, d[:], r, s)
	}
	return false
}
