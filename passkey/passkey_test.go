package passkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/gatehouse-auth/gatehouse"
)

// ceremony registers a software passkey and returns the adapter, the user,
// the stored factor, the authenticator and its credential.
func ceremony(tb testing.TB) (*Passkeys, *gatehouse.User, *gatehouse.MFAFactor, virtualwebauthn.Authenticator, virtualwebauthn.Credential, virtualwebauthn.RelyingParty) {
	tb.Helper()
	rp := virtualwebauthn.RelyingParty{ID: "auth.example.com", Name: "gatehouse", Origin: "https://auth.example.com"}
	p, err := New(Config{RPID: rp.ID, Origins: []string{rp.Origin}})
	if err != nil {
		tb.Fatal(err)
	}
	u := &gatehouse.User{ID: "0190c3e0-0000-7000-8000-000000000001", Email: "a@example.com"}
	opts, sess, err := p.BeginRegistration(u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ao, err := virtualwebauthn.ParseAttestationOptions(string(opts))
	if err != nil {
		tb.Fatal(err)
	}
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(u.ID)})
	c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
	f, _, err := p.FinishRegistration(u, sess, []byte(virtualwebauthn.CreateAttestationResponse(rp, a, c, *ao)))
	if err != nil {
		tb.Fatal(err)
	}
	f.Type = gatehouse.FactorPasskey
	a.AddCredential(c)
	return p, u, f, a, c, rp
}

// TestFinishLoginRefusesForeignCeremonies: the adapter's own checks, apart
// from the HTTP flow (httpapi.TestMFAEndToEnd covers that on both stores).
func TestFinishLoginRefusesForeignCeremonies(t *testing.T) {
	p, u, f, a, c, rp := ceremony(t)
	try := func(rp virtualwebauthn.RelyingParty) error {
		opts, sess, err := p.BeginLogin(nil)
		if err != nil {
			t.Fatal(err)
		}
		ao, _ := virtualwebauthn.ParseAssertionOptions(string(opts))
		c.Counter++
		_, _, err = p.FinishLogin(u, f, sess, []byte(virtualwebauthn.CreateAssertionResponse(rp, a, c, *ao)))
		return err
	}
	if err := try(rp); err != nil {
		t.Fatalf("a right assertion: %v", err)
	}
	if err := try(virtualwebauthn.RelyingParty{ID: rp.ID, Origin: "https://evil.example.net"}); err == nil {
		t.Error("a foreign origin is accepted")
	}
	if err := try(virtualwebauthn.RelyingParty{ID: "example.net", Origin: rp.Origin}); err == nil {
		t.Error("a foreign rp id is accepted")
	}
	if AuthenticatorName(make([]byte, 16)) != "" || AuthenticatorName([]byte{0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57, 0xd7, 0xbd}) != "iCloud Keychain" {
		t.Error("authenticator names")
	}
}

// BenchmarkFinishLogin is a passkey sign-in's verification (parsing,
// challenge, origin, rp id hash, flags, ECDSA P-256 signature); compare with
// BenchmarkBareECDSAP256Verify.
func BenchmarkFinishLogin(b *testing.B) {
	p, u, f, a, c, rp := ceremony(b)
	opts, sess, err := p.BeginLogin(nil)
	if err != nil {
		b.Fatal(err)
	}
	ao, _ := virtualwebauthn.ParseAssertionOptions(string(opts))
	c.Counter = 1
	resp := []byte(virtualwebauthn.CreateAssertionResponse(rp, a, c, *ao))
	for b.Loop() {
		if _, _, err := p.FinishLogin(u, f, sess, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareECDSAP256Verify(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("authenticatorData || clientDataHash"))
	sig, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
	for b.Loop() {
		if !ecdsa.VerifyASN1(&k.PublicKey, d[:], sig) {
			b.Fatal("bad signature")
		}
	}
}
