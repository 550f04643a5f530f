package token

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJWKSRoundTrip(t *testing.T) {
	k := newTestKeys(t)
	doc, err := MarshalJWKS([]PublicKey{k.ed.PublicKey(), k.rs.PublicKey(), k.ec.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
		if strings.Contains(string(doc), private+":") {
			t.Fatalf("JWKS carries private member %s: %s", private, doc)
		}
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{"ed": {"OKP", "EdDSA", "Ed25519"}, "rs": {"RSA", "RS256", ""}, "ec": {"EC", "ES256", "P-256"}}
	for _, m := range raw.Keys {
		w := want[m["kid"].(string)]
		if m["kty"] != w[0] || m["alg"] != w[1] || m["use"] != "sig" || w[2] != "" && m["crv"] != w[2] {
			t.Fatalf("JWK %v, want %v", m, w)
		}
	}
	set, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 3 {
		t.Fatalf("parsed %d keys", len(set))
	}
	// Tokens verify against the parsed set exactly as against the original.
	for _, s := range []*Signer{k.ed, k.rs, k.ec} {
		tok, _ := s.Sign(AccessTokenType, goodClaims())
		if _, err := testVerifier().Verify(tok, set); err != nil {
			t.Fatalf("%s against parsed JWKS: %v", s.Alg(), err)
		}
	}
}

func TestParseJWKSRefuses(t *testing.T) {
	k := newTestKeys(t)
	edJWK, _ := k.ed.PublicKey().JWK()
	ecJWK, _ := k.ec.PublicKey().JWK()
	rsJWK, _ := k.rs.PublicKey().JWK()
	obj := func(j JWK, extra string) string {
		b, _ := json.Marshal(j)
		if extra != "" {
			return strings.TrimSuffix(string(b), "}") + "," + extra + "}"
		}
		return string(b)
	}
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	with := func(j JWK, f func(*JWK)) JWK { f(&j); return j }

	tests := []struct {
		name  string
		doc   string
		ok    bool
		nkeys int
	}{
		{"good", set(obj(edJWK, ""), obj(ecJWK, ""), obj(rsJWK, "")), true, 3},
		{"enc key skipped", set(obj(with(edJWK, func(j *JWK) { j.Use = "enc" }), "")), true, 0},
		{"unknown alg skipped", set(obj(with(edJWK, func(j *JWK) { j.Alg = "HS256" }), "")), true, 0},
		{"no alg skipped", set(strings.Replace(obj(edJWK, ""), `"alg":"EdDSA",`, "", 1)), true, 0},
		{"private d", set(obj(edJWK, `"d":"AAAA"`)), false, 0},
		{"private RSA p", set(obj(rsJWK, `"p":"AAAA"`)), false, 0},
		{"symmetric k", set(`{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"h"}`), false, 0},
		{"duplicate kid", set(obj(edJWK, ""), obj(edJWK, "")), false, 0},
		{"duplicate member", `{"keys":[],"keys":[]}`, false, 0},
		{"trailing data", set(obj(edJWK, "")) + "x", false, 0},
		{"no keys member", `{}`, false, 0},
		{"kid with path", set(obj(with(edJWK, func(j *JWK) { j.KID = "../x" }), "")), false, 0},
		{"kid missing", set(obj(with(edJWK, func(j *JWK) { j.KID = "" }), "")), false, 0},
		{"EdDSA alg on EC key", set(obj(with(ecJWK, func(j *JWK) { j.Alg = EdDSA }), "")), false, 0},
		{"ES256 alg on RSA key", set(obj(with(rsJWK, func(j *JWK) { j.Alg = ES256 }), "")), false, 0},
		{"EC point off curve", set(obj(with(ecJWK, func(j *JWK) { j.Y = j.X }), "")), false, 0},
		{"Ed25519 short x", set(obj(with(edJWK, func(j *JWK) { j.X = "AAAA" }), "")), false, 0},
		{"RSA small modulus", set(obj(with(rsJWK, func(j *JWK) { j.N = j.N[:170] }), "")), false, 0},
		{"RSA even e", set(obj(with(rsJWK, func(j *JWK) { j.E = "AAAC" }), "")), false, 0},
		{"padded x", set(obj(with(edJWK, func(j *JWK) { j.X += "=" }), "")), false, 0},
		{"x not a string", set(strings.Replace(obj(edJWK, ""), `"x":"`+edJWK.X+`"`, `"x":1`, 1)), false, 0},
		{"too large", `{"keys":[],"p":"` + strings.Repeat("a", MaxJWKSLen) + `"}`, false, 0},
		{"too many keys", set(strings.Repeat(`{"use":"enc"},`, maxJWKSKeys) + `{"use":"enc"}`), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseJWKS([]byte(tt.doc))
			if tt.ok != (err == nil) {
				t.Fatalf("ParseJWKS err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && len(ks) != tt.nkeys {
				t.Fatalf("got %d keys, want %d", len(ks), tt.nkeys)
			}
		})
	}
}
