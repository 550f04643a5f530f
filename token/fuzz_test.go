package token

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary strings to the JWT verifier. It must never
// panic, and must accept nothing but tokens that carry a valid signature by a
// key in the set: the fuzzer cannot forge Ed25519, so any acceptance of a
// mutated token is a bug.
func FuzzVerify(f *testing.F) {
	k := newTestKeys(f)
	f.Add(craft(`{"alg":"none","kid":"ed","typ":"at+jwt"}`, mustJSON(goodClaims()), func([]byte) []byte { return nil }))
	f.Add(craft(`{"alg":"EdDSA","kid":"ed","jku":"http://x"}`, `{}`, func([]byte) []byte { return []byte{1} }))
	f.Add("a.b.c")
	f.Add("")
	valid := map[string]bool{}
	for _, s := range []*Signer{k.ed, k.rs, k.ec} {
		tok, _ := s.Sign(AccessTokenType, goodClaims())
		valid[tok] = true
		f.Add(tok)
	}
	v := testVerifier()
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(tok, k.set)
		if err != nil {
			if c != nil {
				t.Fatal("claims with error")
			}
			return
		}
		// Accepted: the fuzzer cannot forge a signature, and the encoding is
		// canonical, so only the unmodified seeds can pass.
		if !valid[tok] {
			t.Fatalf("accepted a token that was not signed by us: %q", tok)
		}
	})
}

// FuzzParseJWKS feeds arbitrary documents to the JWKS parser: no panics, and
// every key it returns is usable and bound to a supported algorithm.
func FuzzParseJWKS(f *testing.F) {
	k := newTestKeys(f)
	doc, _ := MarshalJWKS([]PublicKey{k.ed.PublicKey(), k.rs.PublicKey(), k.ec.PublicKey()})
	f.Add(doc)
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a","alg":"EdDSA","d":"x"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"b","alg":"ES256"}]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseJWKS(data)
		if err != nil {
			return
		}
		for kid, pk := range ks {
			if kid != pk.KID || !ValidKID(kid) || !pk.Alg.Valid() {
				t.Fatalf("bad key %q %+v", kid, pk)
			}
			if err := checkKey(pk.Alg, pk.Key); err != nil {
				t.Fatalf("unusable key: %v", err)
			}
			if _, err := pk.JWK(); err != nil {
				t.Fatalf("key does not re-encode: %v", err)
			}
		}
	})
}

// FuzzParsePAT: no panics; whatever is accepted has the exact format, a
// correct checksum and round-trips.
func FuzzParsePAT(f *testing.F) {
	p, _ := NewPAT(nil)
	f.Add(p.Reveal())
	f.Add("gth_")
	f.Add("gth_" + strings.Repeat("0", 49))
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParsePAT(s)
		if err != nil {
			return
		}
		if q.Reveal() != s || len(s) != PATLen || !strings.HasPrefix(s, PATPrefix) {
			t.Fatalf("accepted %q", s)
		}
		if patChecksum(s[4:47]) != s[47:] {
			t.Fatalf("accepted bad checksum %q", s)
		}
	})
}

// FuzzDecodeClaims checks the one-pass claims decoder against encoding/json:
// whatever it accepts, encoding/json reads to the same claims (it may refuse
// more: nulls, fractions, case look-alikes).
func FuzzDecodeClaims(f *testing.F) {
	f.Add([]byte(mustJSON(goodClaims())))
	f.Add([]byte(`{"aud":["a","b"],"exp":1,"sub":"\u0041","x":{"y":[1,2]}}`))
	f.Add([]byte(`{"exp":1.5,"ISS":"x","aud":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var mine Claims
		if decodeClaims(data, &mine) != nil {
			return
		}
		var std Claims
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("decodeClaims accepted %q, encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(mine, std) {
			t.Fatalf("%q: decodeClaims %+v, encoding/json %+v", data, mine, std)
		}
	})
}
