package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
)

// The raw primitives are measured here, in the same run, as the baselines
// for the JWT and PAT figures: report Verify/EdDSA ÷ RawVerify/EdDSA and so on.

func benchClaims() *Claims {
	return &Claims{Issuer: testIss, Subject: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Audience: Audience{testAud},
		ExpiresAt: testNow.Add(15 * 60e9).Unix(), IssuedAt: testNow.Unix(), ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
		ClientID: "gatehouse", Scope: "tokens:read tokens:write", SessionID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d"}
}

func benchSigners(b *testing.B) []*Signer {
	k := newTestKeys(b)
	return []*Signer{k.ed, k.ec, k.rs}
}

func BenchmarkSign(b *testing.B) {
	for _, s := range benchSigners(b) {
		b.Run(string(s.Alg()), func(b *testing.B) {
			c := benchClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SignAccessToken(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawSign(b *testing.B) {
	msg := []byte(strings.Repeat("x", 400)) // about a token's signing input
	for _, s := range benchSigners(b) {
		b.Run(string(s.Alg()), func(b *testing.B) {
			for b.Loop() {
				switch s.Alg() {
				case EdDSA:
					s.signer.Sign(nil, msg, crypto.Hash(0))
				default:
					d := sha256.Sum256(msg)
					s.signer.Sign(randReader, d[:], crypto.SHA256)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	k := newTestKeys(b)
	v := testVerifier()
	for _, s := range benchSigners(b) {
		tok, err := s.SignAccessToken(benchClaims())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(s.Alg()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok, k.set); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawVerify is the signature check alone over the same signing
// input: the floor under BenchmarkVerify.
func BenchmarkRawVerify(b *testing.B) {
	for _, s := range benchSigners(b) {
		tok, _ := s.SignAccessToken(benchClaims())
		i := strings.LastIndexByte(tok, '.')
		msg := []byte(tok[:i])
		sig, _ := b64dec.DecodeString(tok[i+1:])
		b.Run(string(s.Alg()), func(b *testing.B) {
			switch k := s.PublicKey().Key.(type) {
			case ed25519.PublicKey:
				for b.Loop() {
					if !ed25519.Verify(k, msg, sig) {
						b.Fatal("bad")
					}
				}
			case *ecdsa.PublicKey:
				for b.Loop() {
					if !verifySig(s.PublicKey(), msg, sig) {
						b.Fatal("bad")
					}
				}
			case *rsa.PublicKey:
				for b.Loop() {
					d := sha256.Sum256(msg)
					if rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) != nil {
						b.Fatal("bad")
					}
				}
			}
		})
	}
}

func BenchmarkPATParseHash(b *testing.B) {
	p, _ := NewPAT(nil)
	s := p.Reveal()
	b.ReportAllocs()
	for b.Loop() {
		q, err := ParsePAT(s)
		if err != nil {
			b.Fatal(err)
		}
		_ = q.Hash()
	}
}

// BenchmarkRawSHA256 hashes a PAT-sized input: the floor under PATParseHash.
func BenchmarkRawSHA256(b *testing.B) {
	p, _ := NewPAT(nil)
	s := []byte(p.Reveal())
	for b.Loop() {
		sha256.Sum256(s)
	}
}

// BenchmarkVerifyWithoutSignature is everything Verify does except the
// signature check (size bound, split, base64url, strict header and claims
// JSON, claim checks): the overhead this package adds to the primitive,
// measurable even when the machine is too loaded for Verify ÷ RawVerify to
// be stable.
func BenchmarkVerifyWithoutSignature(b *testing.B) {
	k := newTestKeys(b)
	v := testVerifier()
	tok, _ := k.ed.SignAccessToken(benchClaims())
	b.ReportAllocs()
	for b.Loop() {
		h, payload, _, _, err := parseCompact(tok)
		if err != nil || !typeIs(h.Typ, AccessTokenType) {
			b.Fatal(err)
		}
		if _, ok := k.set.PublicKey(h.KID); !ok {
			b.Fatal("key")
		}
		var c Claims
		if err := decodeClaims(payload, &c); err != nil {
			b.Fatal(err)
		}
		if err := v.checkClaims(&c); err != nil {
			b.Fatal(err)
		}
	}
}
