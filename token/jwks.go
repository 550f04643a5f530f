package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// MaxJWKSLen bounds a JWKS document read from the network.
const MaxJWKSLen = 256 << 10

// maxJWKSKeys bounds the number of keys in one set.
const maxJWKSKeys = 100

// JWK is the public part of a signing key as a JSON Web Key (RFC 7517, RFC
// 7518 section 6, RFC 8037 section 2). It has no field for a private member,
// so encoding one cannot leak d, p, q, dp, dq or qi.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg Alg    `json:"alg"`
	KID string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a JWK Set document.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK returns k as a JSON Web Key with use "sig".
func (k PublicKey) JWK() (JWK, error) {
	if err := checkKey(k.Alg, k.Key); err != nil {
		return JWK{}, err
	}
	j := JWK{Use: "sig", Alg: k.Alg, KID: k.KID}
	switch pk := k.Key.(type) {
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(pk.N.Bytes()), b64(big.NewInt(int64(pk.E)).Bytes())
	case *ecdsa.PublicKey:
		x, y, err := ecPoint(pk)
		if err != nil {
			return JWK{}, err
		}
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(x), b64(y)
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pk)
	}
	return j, nil
}

// MarshalJWKS encodes keys as a JWK Set.
func MarshalJWKS(keys []PublicKey) ([]byte, error) {
	set := JWKS{Keys: make([]JWK, 0, len(keys))}
	for _, k := range keys {
		j, err := k.JWK()
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// privateMembers are the JWK members that hold private key material (RFC 7518
// sections 6.2.2, 6.3.2, 6.4; RFC 8037 section 2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

var errJWKS = errors.New("token: invalid JWKS")

// ParseJWKS reads a JWK Set from an untrusted source into a key set. It is
// strict where a mistake could matter and lenient where it cannot:
//   - the document is bounded in size and must be strict JSON (no duplicate
//     members, nothing trailing);
//   - a key that carries any private member makes the whole set invalid (a
//     server that publishes private keys is broken, not to be trusted);
//   - a key with use other than "sig", or an algorithm this package does not
//     verify, is skipped;
//   - every accepted key must name its kid and alg, its kty and crv must match
//     the alg, RSA moduli must have at least MinRSABits, and EC points must lie
//     on P-256;
//   - two keys with the same kid make the set invalid.
func ParseJWKS(data []byte) (Keys, error) {
	if len(data) > MaxJWKSLen {
		return nil, fmt.Errorf("%w: too large", errJWKS)
	}
	if err := checkStrictJSON(data, nil); err != nil {
		return nil, fmt.Errorf("%w: %v", errJWKS, err)
	}
	var doc struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Keys == nil {
		return nil, fmt.Errorf("%w: no keys array", errJWKS)
	}
	if len(doc.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("%w: too many keys", errJWKS)
	}
	out := Keys{}
	for _, m := range doc.Keys {
		for _, p := range privateMembers {
			if _, ok := m[p]; ok {
				return nil, fmt.Errorf("%w: a key carries private member %q", errJWKS, p)
			}
		}
		var j JWK
		str := func(name string, dst *string) error {
			raw, ok := m[name]
			if !ok {
				return nil
			}
			return unmarshalString(raw, dst)
		}
		var alg string
		for name, dst := range map[string]*string{"kty": &j.Kty, "use": &j.Use, "alg": &alg, "kid": &j.KID,
			"crv": &j.Crv, "n": &j.N, "e": &j.E, "x": &j.X, "y": &j.Y} {
			if err := str(name, dst); err != nil {
				return nil, fmt.Errorf("%w: member %q is not a string", errJWKS, name)
			}
		}
		j.Alg = Alg(alg)
		if j.Use != "" && j.Use != "sig" || !j.Alg.Valid() {
			continue
		}
		k, err := j.PublicKey()
		if err != nil {
			return nil, err
		}
		if _, dup := out[k.KID]; dup {
			return nil, fmt.Errorf("%w: duplicate kid", errJWKS)
		}
		out[k.KID] = k
	}
	return out, nil
}

// PublicKey decodes j into a verification key bound to j.Alg.
func (j JWK) PublicKey() (PublicKey, error) {
	bad := func(what string) (PublicKey, error) {
		return PublicKey{}, fmt.Errorf("%w: %s", errJWKS, what)
	}
	if !ValidKID(j.KID) {
		return bad("missing or invalid kid")
	}
	switch j.Alg {
	case RS256:
		if j.Kty != "RSA" || j.Crv != "" || j.X != "" || j.Y != "" {
			return bad("RS256 key must be kty RSA")
		}
		n, err1 := b64dec.DecodeString(j.N)
		e, err2 := b64dec.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(n) == 0 || n[0] == 0 || len(e) == 0 || len(e) > 4 || e[0] == 0 {
			return bad("RSA n or e")
		}
		if len(n) > 16384/8 {
			return bad("RSA modulus too large")
		}
		ev := new(big.Int).SetBytes(e)
		if !ev.IsInt64() || ev.Int64() > 1<<31-1 {
			return bad("RSA e")
		}
		pk := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev.Int64())}
		return NewPublicKey(j.KID, j.Alg, pk)
	case ES256:
		if j.Kty != "EC" || j.Crv != "P-256" || j.N != "" || j.E != "" {
			return bad("ES256 key must be kty EC, crv P-256")
		}
		x, err1 := b64dec.DecodeString(j.X)
		y, err2 := b64dec.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return bad("EC x or y")
		}
		pt := append(append([]byte{4}, x...), y...)
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			return bad("EC point not on P-256")
		}
		return NewPublicKey(j.KID, j.Alg, pk)
	case EdDSA:
		if j.Kty != "OKP" || j.Crv != "Ed25519" || j.Y != "" || j.N != "" || j.E != "" {
			return bad("EdDSA key must be kty OKP, crv Ed25519")
		}
		x, err := b64dec.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return bad("Ed25519 x")
		}
		return NewPublicKey(j.KID, j.Alg, ed25519.PublicKey(x))
	}
	return bad("unsupported alg")
}
