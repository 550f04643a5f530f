package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testIss = "https://auth.example.com"
	testAud = "https://api.example.com"
)

var testNow = time.Unix(1_800_000_000, 0)

type testKeys struct {
	ed, rs, ec *Signer
	set        Keys
}

var sharedKeys *testKeys

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	if sharedKeys != nil {
		return sharedKeys
	}
	mk := func(kid string, alg Alg) *Signer {
		k, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSigner(kid, alg, k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tk := &testKeys{ed: mk("ed", EdDSA), rs: mk("rs", RS256), ec: mk("ec", ES256)}
	tk.set = Keys{"ed": tk.ed.PublicKey(), "rs": tk.rs.PublicKey(), "ec": tk.ec.PublicKey()}
	sharedKeys = tk
	return tk
}

func testVerifier() *Verifier {
	return &Verifier{Issuer: testIss, Audience: testAud, Leeway: DefaultLeeway, Now: func() time.Time { return testNow }}
}

func goodClaims() map[string]any {
	return map[string]any{
		"iss": testIss, "sub": "user-1", "aud": testAud,
		"exp": testNow.Add(10 * time.Minute).Unix(), "iat": testNow.Add(-time.Minute).Unix(),
		"jti": "jti-1", "client_id": "gatehouse", "scope": "tokens:read", "sid": "sess-1",
	}
}

// craft builds a compact JWS from raw header and payload JSON, signed by sign
// over the signing input exactly as a real (possibly malicious) issuer would.
func craft(header, payload string, sign func(msg []byte) []byte) string {
	in := b64([]byte(header)) + "." + b64([]byte(payload))
	return in + "." + b64(sign([]byte(in)))
}

func signWith(t testing.TB, s *Signer) func([]byte) []byte {
	return func(msg []byte) []byte {
		sig, err := s.signBytes(msg)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func claimsWith(edit func(m map[string]any)) string {
	m := goodClaims()
	edit(m)
	return mustJSON(m)
}

func TestVerify(t *testing.T) {
	k := newTestKeys(t)
	good := mustJSON(goodClaims())
	hdr := func(alg, kid string) string { return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"at+jwt"}` }
	ed := signWith(t, k.ed)

	rsPub, _ := x509.MarshalPKIXPublicKey(k.rs.PublicKey().Key)
	rsPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsPub})
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(msg []byte) []byte { m := hmac.New(sha256.New, secret); m.Write(msg); return m.Sum(nil) }
	}
	ecDER := func(msg []byte) []byte {
		d := sha256.Sum256(msg)
		sig, err := k.ec.signer.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	tamperPayload := func(tok string) string {
		p := strings.Split(tok, ".")
		p[1] = b64([]byte(strings.Replace(good, `"user-1"`, `"admin-1"`, 1)))
		return strings.Join(p, ".")
	}
	tamperSig := func(tok string) string {
		p := strings.Split(tok, ".")
		sig, _ := b64dec.DecodeString(p[2])
		sig[len(sig)/2] ^= 1
		p[2] = b64(sig)
		return strings.Join(p, ".")
	}
	signedEd, _ := k.ed.Sign(AccessTokenType, goodClaims())
	signedRS, _ := k.rs.Sign(AccessTokenType, goodClaims())
	signedEC, _ := k.ec.Sign(AccessTokenType, goodClaims())

	tests := []struct {
		name string
		tok  string
		want error // nil: accepted
	}{
		{"EdDSA ok", signedEd, nil},
		{"RS256 ok", signedRS, nil},
		{"ES256 ok", signedEC, nil},
		{"typ upper case", craft(`{"alg":"EdDSA","kid":"ed","typ":"AT+JWT"}`, good, ed), nil},
		{"typ application/at+jwt", craft(`{"alg":"EdDSA","kid":"ed","typ":"Application/At+Jwt"}`, good, ed), nil},
		{"aud array", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["aud"] = []string{"x", testAud} }), ed), nil},
		{"exp passed within leeway", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["exp"] = testNow.Add(-30 * time.Second).Unix() }), ed), nil},
		{"nbf ahead within leeway", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["nbf"] = testNow.Add(30 * time.Second).Unix() }), ed), nil},

		// alg none and friends
		{"alg none", craft(hdr("none", "ed"), good, ed), ErrAlgorithm},
		{"alg None", craft(hdr("None", "ed"), good, ed), ErrAlgorithm},
		{"alg NONE", craft(hdr("NONE", "ed"), good, ed), ErrAlgorithm},
		{"alg none empty signature", b64([]byte(hdr("none", "ed"))) + "." + b64([]byte(good)) + ".", ErrMalformed},
		{"alg missing", craft(`{"kid":"ed","typ":"at+jwt"}`, good, ed), ErrMalformed},
		{"alg not a string", craft(`{"alg":1,"kid":"ed","typ":"at+jwt"}`, good, ed), ErrMalformed},
		// algorithm not the one the kid allows
		{"ES256 token under EdDSA kid", craft(hdr("ES256", "ed"), good, signWith(t, k.ec)), ErrAlgorithm},
		{"EdDSA token under RS256 kid", craft(hdr("EdDSA", "rs"), good, ed), ErrAlgorithm},
		{"RS256 header, EdDSA kid, Ed signature", craft(hdr("RS256", "ed"), good, ed), ErrAlgorithm},
		// HS256 with the public key as the HMAC secret (key confusion)
		{"HS256 public key PEM as secret", craft(hdr("HS256", "rs"), good, hs256(rsPEM)), ErrAlgorithm},
		{"HS256 public key DER as secret", craft(hdr("HS256", "rs"), good, hs256(rsPub)), ErrAlgorithm},
		{"HS256 Ed25519 key as secret", craft(hdr("HS256", "ed"), good, hs256(k.ed.PublicKey().Key.(ed25519.PublicKey))), ErrAlgorithm},
		// unknown kid
		{"unknown kid", craft(hdr("EdDSA", "other"), good, ed), ErrUnknownKey},
		// header members that name a key or a place to fetch one
		{"jku", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","jku":"https://evil.example/jwks"}`, good, ed), ErrHeader},
		{"jwk", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","jwk":{"kty":"OKP","crv":"Ed25519","x":"AAAA"}}`, good, ed), ErrHeader},
		{"x5u", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","x5u":"https://evil.example/cert"}`, good, ed), ErrHeader},
		{"x5c", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","x5c":["MIIB"]}`, good, ed), ErrHeader},
		{"crit", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","crit":["exp"],"exp":1}`, good, ed), ErrHeader},
		{"unknown header member", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","zip":"DEF"}`, good, ed), ErrHeader},
		// kid tricks
		{"kid path traversal", craft(hdr("EdDSA", "../../../../dev/null"), good, ed), ErrHeader},
		{"kid SQL", craft(hdr("EdDSA", "x' OR '1'='1"), good, ed), ErrHeader},
		{"kid NUL", craft(`{"alg":"EdDSA","kid":"ed\u0000","typ":"at+jwt"}`, good, ed), ErrHeader},
		{"kid too long", craft(hdr("EdDSA", strings.Repeat("a", MaxKIDLen+1)), good, ed), ErrHeader},
		{"kid empty", craft(hdr("EdDSA", ""), good, ed), ErrHeader},
		{"kid missing", craft(`{"alg":"EdDSA","typ":"at+jwt"}`, good, ed), ErrHeader},
		{"kid number", craft(`{"alg":"EdDSA","kid":7,"typ":"at+jwt"}`, good, ed), ErrHeader},
		// iss, aud, typ
		{"wrong iss", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["iss"] = "https://evil.example" }), ed), ErrIssuer},
		{"wrong aud", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["aud"] = "https://other.example" }), ed), ErrAudience},
		{"aud array without us", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["aud"] = []string{"a", "b"} }), ed), ErrAudience},
		{"typ JWT", craft(`{"alg":"EdDSA","kid":"ed","typ":"JWT"}`, good, ed), ErrType},
		{"typ missing", craft(`{"alg":"EdDSA","kid":"ed"}`, good, ed), ErrType},
		{"typ at+jwt suffix", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt2"}`, good, ed), ErrType},
		{"typ application/ only", craft(`{"alg":"EdDSA","kid":"ed","typ":"application/"}`, good, ed), ErrType},
		// time
		{"expired beyond leeway", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["exp"] = testNow.Add(-DefaultLeeway - time.Second).Unix() }), ed), ErrExpired},
		{"nbf beyond leeway", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["nbf"] = testNow.Add(DefaultLeeway + time.Second).Unix() }), ed), ErrNotYetValid},
		{"iat in the future", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["iat"] = testNow.Add(time.Hour).Unix() }), ed), ErrNotYetValid},
		{"exp missing", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { delete(m, "exp") }), ed), ErrMissingClaims},
		{"jti missing", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { delete(m, "jti") }), ed), ErrMissingClaims},
		{"client_id missing", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { delete(m, "client_id") }), ed), ErrMissingClaims},
		{"exp as string", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["exp"] = "9999999999" }), ed), ErrMalformed},
		// tampering
		{"tampered payload EdDSA", tamperPayload(signedEd), ErrSignature},
		{"tampered payload RS256", tamperPayload(signedRS), ErrSignature},
		{"tampered payload ES256", tamperPayload(signedEC), ErrSignature},
		{"tampered signature EdDSA", tamperSig(signedEd), ErrSignature},
		{"tampered signature RS256", tamperSig(signedRS), ErrSignature},
		{"tampered signature ES256", tamperSig(signedEC), ErrSignature},
		{"signature stripped", signedEd[:strings.LastIndexByte(signedEd, '.')+1], ErrMalformed},
		{"ES256 DER signature", craft(hdr("ES256", "ec"), good, ecDER), ErrSignature},
		{"RS256 short signature", craft(hdr("RS256", "rs"), good, func([]byte) []byte { return make([]byte, 255) }), ErrSignature},
		// strict parsing
		{"duplicate header alg", craft(`{"alg":"EdDSA","alg":"none","kid":"ed","typ":"at+jwt"}`, good, ed), ErrMalformed},
		{"duplicate claim", craft(hdr("EdDSA", "ed"), strings.Replace(good, `{`, `{"sub":"admin",`, 1), ed), ErrMalformed},
		{"duplicate nested member", craft(hdr("EdDSA", "ed"), strings.Replace(good, `{`, `{"x":{"a":1,"a":2},`, 1), ed), ErrMalformed},
		{"escaped duplicate claim", craft(hdr("EdDSA", "ed"), strings.Replace(good, `{`, `{"\u0073ub":"admin",`, 1), ed), ErrMalformed},
		{"case look-alike claim", craft(hdr("EdDSA", "ed"), strings.Replace(good, `{`, `{"ISS":"https://evil.example",`, 1), ed), ErrMalformed},
		{"case look-alike header", craft(`{"ALG":"none","alg":"EdDSA","kid":"ed","typ":"at+jwt"}`, good, ed), ErrHeader},
		{"trailing garbage in payload", craft(hdr("EdDSA", "ed"), good+"x", ed), ErrMalformed},
		{"second object in payload", craft(hdr("EdDSA", "ed"), good+"{}", ed), ErrMalformed},
		{"trailing garbage in header", craft(hdr("EdDSA", "ed")+"]", good, ed), ErrMalformed},
		{"payload not an object", craft(hdr("EdDSA", "ed"), `["sub"]`, ed), ErrMalformed},
		{"payload invalid UTF-8", craft(hdr("EdDSA", "ed"), strings.Replace(good, "user-1", "user-\xff", 1), ed), ErrMalformed},
		{"padded header", b64([]byte(hdr("EdDSA", "ed"))) + "=." + strings.SplitN(signedEd, ".", 2)[1], ErrMalformed},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(signedEd) + "+/", ErrMalformed},
		{"four parts", signedEd + ".x", ErrMalformed},
		{"two parts", signedEd[:strings.LastIndexByte(signedEd, '.')], ErrMalformed},
		{"empty", "", ErrMalformed},
		{"oversized", craft(hdr("EdDSA", "ed"), claimsWith(func(m map[string]any) { m["pad"] = strings.Repeat("a", MaxTokenLen) }), ed), ErrMalformed},
		{"oversized header", craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","x":"`+strings.Repeat("a", 600)+`"}`, good, ed), ErrMalformed},
	}
	v := testVerifier()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(tt.tok, k.set)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want accepted", err)
				}
				if c.Subject != "user-1" || c.SessionID != "sess-1" || c.ClientID != "gatehouse" {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Fatalf("claims returned with an error")
			}
		})
	}
}

// TestVerifyNeverFetches puts a real, reachable URL in every header member
// that names a key location and checks that nothing is fetched.
func TestVerifyNeverFetches(t *testing.T) {
	k := newTestKeys(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	for _, m := range []string{"jku", "x5u"} {
		tok := craft(`{"alg":"EdDSA","kid":"ed","typ":"at+jwt","`+m+`":"`+srv.URL+`/k"}`, mustJSON(goodClaims()), signWith(t, k.ed))
		if _, err := testVerifier().Verify(tok, k.set); !errors.Is(err, ErrHeader) {
			t.Fatalf("%s: err = %v, want ErrHeader", m, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("verifier made %d requests", n)
	}
}

// TestVerifyRemovedKey: a token whose key has left the set (revoked) fails.
func TestVerifyRemovedKey(t *testing.T) {
	k := newTestKeys(t)
	tok, err := k.ed.SignAccessToken(&Claims{Issuer: testIss, Subject: "u", Audience: Audience{testAud},
		ExpiresAt: testNow.Add(time.Minute).Unix(), IssuedAt: testNow.Unix(), ID: "j", ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testVerifier().Verify(tok, k.set); err != nil {
		t.Fatalf("before removal: %v", err)
	}
	without := Keys{"rs": k.set["rs"], "ec": k.set["ec"]}
	if _, err := testVerifier().Verify(tok, without); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("after removal: %v, want ErrUnknownKey", err)
	}
}

func TestSignerRoundTripAndHeader(t *testing.T) {
	k := newTestKeys(t)
	for _, s := range []*Signer{k.ed, k.rs, k.ec} {
		c := &Claims{Issuer: testIss, Subject: "u", Audience: Audience{testAud}, ExpiresAt: testNow.Add(time.Minute).Unix(),
			IssuedAt: testNow.Unix(), ID: "j", ClientID: "c", Scope: "a b"}
		tok, err := s.SignAccessToken(c)
		if err != nil {
			t.Fatal(err)
		}
		h, err := PeekHeader(tok)
		if err != nil || h.Alg != s.Alg() || h.KID != s.KID() || h.Typ != "at+jwt" {
			t.Fatalf("%s: header %+v, %v", s.Alg(), h, err)
		}
		got, err := testVerifier().Verify(tok, k.set)
		if err != nil {
			t.Fatalf("%s: %v", s.Alg(), err)
		}
		if got.Subject != "u" || len(got.Scopes()) != 2 || got.Audience[0] != testAud {
			t.Fatalf("%s: claims %+v", s.Alg(), got)
		}
		// aud with one member is written as a string (RFC 9068 examples).
		if p, _ := b64dec.DecodeString(strings.Split(tok, ".")[1]); !strings.Contains(string(p), `"aud":"`+testAud+`"`) {
			t.Fatalf("aud not a string: %s", p)
		}
	}
}

func TestNewSignerRefusesMismatch(t *testing.T) {
	ed, _ := GenerateKey(EdDSA)
	if _, err := NewSigner("k", RS256, ed); err == nil {
		t.Fatal("Ed25519 key accepted for RS256")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := NewSigner("k", RS256, small); err == nil {
		t.Fatal("RSA-1024 accepted")
	}
	if _, err := NewSigner("../k", EdDSA, ed); err == nil {
		t.Fatal("bad kid accepted")
	}
	if _, err := NewSigner("k", Alg("HS256"), ed); err == nil {
		t.Fatal("HS256 accepted")
	}
	ec, _ := GenerateKey(ES256)
	if _, err := NewPublicKey("k", ES256, &ec.(*ecdsa.PrivateKey).PublicKey); err != nil {
		t.Fatal(err)
	}
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	for _, alg := range []Alg{EdDSA, ES256, RS256} {
		k, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		der, err := MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := Thumbprint(k.Public())
		b, _ := Thumbprint(back.Public())
		if a != b || len(a) != 43 || !ValidKID(a) {
			t.Fatalf("%s: thumbprints %q %q", alg, a, b)
		}
	}
}

// TestThumbprintRFC7638 checks the thumbprint against the RFC 7638 section
// 3.1 example key.
func TestThumbprintRFC7638(t *testing.T) {
	j := JWK{Kty: "RSA", Alg: RS256, KID: "x", E: "AQAB",
		N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
	pk, err := j.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(pk.Key)
	if err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %q, %v", got, err)
	}
}

// auth_time and amr (RFC 9068 section 2.2.1) survive signing and
// verification; an amr that is not an array of strings is refused.
func TestAuthTimeAndAMRClaims(t *testing.T) {
	k := newTestKeys(t)
	c := &Claims{Issuer: testIss, Subject: "u", Audience: Audience{testAud}, ExpiresAt: testNow.Add(time.Minute).Unix(),
		IssuedAt: testNow.Unix(), ID: "j", ClientID: "c", SessionID: "s", AuthTime: testNow.Add(-time.Hour).Unix(), AMR: []string{"pwd", "otp", "mfa"}}
	tok, err := k.ed.SignAccessToken(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := testVerifier().Verify(tok, k.set)
	if err != nil || got.AuthTime != c.AuthTime || strings.Join(got.AMR, " ") != "pwd otp mfa" {
		t.Fatalf("claims %+v, %v", got, err)
	}
	for _, bad := range []string{`{"amr":"pwd"}`, `{"amr":[1]}`, `{"amr":null}`, `{"auth_time":"1"}`, `{"auth_time":1.5}`, `{"AMR":["x"]}`} {
		var c Claims
		if err := decodeClaims([]byte(bad), &c); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	var none Claims
	if err := decodeClaims([]byte(`{"sub":"u"}`), &none); err != nil || none.AMR != nil || none.AuthTime != 0 {
		t.Fatalf("a token without them: %+v %v", none, err)
	}
}

// highS returns the twin of an ES256 token: the same r and n-s for s. It is
// a valid ECDSA signature of the same input (ECDSA signatures are
// malleable), so only the low-S rule can refuse it.
func highS(t *testing.T, tok string) string {
	t.Helper()
	p := strings.Split(tok, ".")
	sig, err := b64dec.DecodeString(p[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("not an ES256 signature: %v", err)
	}
	s := new(big.Int).SetBytes(sig[32:])
	twin := make([]byte, 64)
	copy(twin, sig[:32])
	new(big.Int).Sub(elliptic.P256().Params().N, s).FillBytes(twin[32:])
	p[2] = b64(twin)
	return strings.Join(p, ".")
}

// TestES256HighSTwinRefused: the high-S twin of a valid ES256 token passes
// plain ECDSA verification but is refused (ErrSignature), so each token we
// issue has exactly one accepted form.
func TestES256HighSTwinRefused(t *testing.T) {
	k := newTestKeys(t)
	pub := k.ec.PublicKey().Key.(*ecdsa.PublicKey)
	for i := 0; i < 20; i++ {
		tok, err := k.ec.Sign(AccessTokenType, goodClaims())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := testVerifier().Verify(tok, k.set); err != nil {
			t.Fatalf("our token: %v", err)
		}
		twin := highS(t, tok)
		p := strings.Split(twin, ".")
		sig, _ := b64dec.DecodeString(p[2])
		d := sha256.Sum256([]byte(p[0] + "." + p[1]))
		if !ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatal("the twin is not a valid ECDSA signature: the test proves nothing")
		}
		if _, err := testVerifier().Verify(twin, k.set); !errors.Is(err, ErrSignature) {
			t.Fatalf("high-S twin: %v, want ErrSignature", err)
		}
	}
}

// highSigner is a crypto.Signer (a KMS, say) that always answers with the
// high-S form of its signature.
type highSigner struct{ *ecdsa.PrivateKey }

func (h highSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	der, err := h.PrivateKey.Sign(r, d, o)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, err
	}
	n := elliptic.P256().Params().N
	if rs.S.Cmp(new(big.Int).Rsh(n, 1)) <= 0 {
		rs.S = new(big.Int).Sub(n, rs.S)
	}
	return asn1.Marshal(rs)
}

// TestES256SignerLowS: every ES256 token we sign verifies and has a low s,
// also when the crypto.Signer behind it returns high-S signatures.
func TestES256SignerLowS(t *testing.T) {
	k := newTestKeys(t)
	pk, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	high, err := NewSigner("high", ES256, highSigner{pk.(*ecdsa.PrivateKey)})
	if err != nil {
		t.Fatal(err)
	}
	keys := Keys{"ec": k.ec.PublicKey(), "high": high.PublicKey()}
	half := new(big.Int).Rsh(elliptic.P256().Params().N, 1)
	for _, s := range []*Signer{k.ec, high} {
		for i := 0; i < 200; i++ {
			tok, err := s.Sign(AccessTokenType, goodClaims())
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := b64dec.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
			if new(big.Int).SetBytes(sig[32:]).Cmp(half) > 0 {
				t.Fatalf("%s: token %d has a high s", s.KID(), i)
			}
			if _, err := testVerifier().Verify(tok, keys); err != nil {
				t.Fatalf("%s: token %d: %v", s.KID(), i, err)
			}
		}
	}
}
