// Package token holds gatehouse's credential formats: JWT access tokens (RFC
// 9068) signed and verified through crypto.Signer, the JWKS encoding of their
// public keys (RFC 7517, 7518, 8037), and personal access tokens (the gth_
// format of docs/scopes.md) with their SHA-256 lookup hashes.
//
// # Why not a JOSE library
//
// gatehouse needs one narrow slice of JOSE: compact JWS with exactly three
// algorithms (RS256, ES256, EdDSA), a header of exactly alg, kid and typ, and
// keys bound to one algorithm each. This package implements that slice on the
// standard library (about 1,200 lines with the JWKS codec and the PAT format) instead of depending on go-jose v4, for
// three reasons:
//
//   - Strictness is the point. RFC 8725 asks verifiers to pin the algorithm to
//     the key, to never act on jku/jwk/x5u/x5c, and to parse defensively. Here
//     the header is an allow-list (alg, kid, typ; anything else, crit included,
//     is refused), duplicate JSON members and trailing data are refused (the
//     standard decoder, and JOSE libraries built on it, keep the last
//     duplicate), base64url must be canonical and unpadded, and the size is
//     bounded before any decoding. Getting the same from a general library means
//     wrapping it with our own pre-parser anyway.
//   - crypto.Signer is the seam for keys held in a KMS. Signing here calls
//     crypto.Signer.Sign directly (with the ASN.1→raw conversion ES256 needs), so
//     a KMS-backed signer drops in with no adapter type.
//   - Every accepted input is covered by this package's own table tests and fuzz
//     targets; there is no unused surface (JWE, JSON serialization, HMAC,
//     embedded keys) to keep patched.
//
// # ES256: low-S only
//
// An ECDSA signature (r, s) has a twin, (r, n-s), that verifies as well over
// the same input (n is the order of P-256). Anyone holding one of our ES256
// tokens could make its twin without the key: a second, different string
// that is the same token. JWS (RFC 7515, 7518 section 3.4) does not forbid
// it, but nothing gains from it and a cache, a deny list or a log keyed by
// the token string is fooled by it. So a token we issue has exactly one
// valid form: Verify refuses an ES256 signature whose s is above n/2
// (ErrSignature; the "low-S" rule of Bitcoin's BIP 62 and BIP 146), and the
// Signer normalizes every signature it makes to low S, whatever the
// crypto.Signer behind it (a KMS may return either), so our own tokens
// always pass. Tokens from another ES256 issuer that does not normalize
// would fail half the time; gatehouse verifies only its own. EdDSA (RFC 8032
// verification refuses s >= L) and RS256 (PKCS #1 v1.5 is deterministic)
// have no such twin.
//
// The cost is owning the code, which is small and tested against real tokens
// built to be wrong (see jwt_test.go).
package token
