package passkey

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/gatehouse-auth/gatehouse"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// The fuzz targets of the bodies a browser posts (W3C Web Authentication
// Level 3, sections 5.1 and 7): the assertion of a passkey sign-in
// (CredentialID, FinishLogin) and the attestation of a registration
// (FinishRegistration). Each starts from genuine responses of a software
// authenticator (descope/virtualwebauthn), so mutation begins at valid
// input; docs/fuzzing.md lists them.

// wireCredential is a response body as the properties read it, with
// encoding/json alone: the members go-webauthn decodes, base64url text.
type wireCredential struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string `json:"clientDataJSON"`
		AuthenticatorData string `json:"authenticatorData"`
		Signature         string `json:"signature"`
		UserHandle        string `json:"userHandle"`
		AttestationObject string `json:"attestationObject"`
	} `json:"response"`
}

// unb64 decodes base64url with or without padding (WebAuthn section 5.1
// serializes ArrayBuffers as base64url; padding is tolerated).
func unb64(tb testing.TB, what, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		tb.Fatalf("go-webauthn accepted a %s that is not base64url: %q", what, s)
	}
	return b
}

func readWire(tb testing.TB, body []byte) wireCredential {
	tb.Helper()
	var w wireCredential
	if err := json.Unmarshal(body, &w); err != nil {
		tb.Fatalf("go-webauthn accepted a body encoding/json refuses: %v", err)
	}
	return w
}

// register runs a registration ceremony of a new software credential on a
// and returns the factor FinishRegistration makes of it.
func register(tb testing.TB, p *Passkeys, u *gatehouse.User, rp virtualwebauthn.RelyingParty, a *virtualwebauthn.Authenticator) (*gatehouse.MFAFactor, virtualwebauthn.Credential) {
	tb.Helper()
	opts, sess, err := p.BeginRegistration(u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ao, err := virtualwebauthn.ParseAttestationOptions(string(opts))
	if err != nil {
		tb.Fatal(err)
	}
	c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
	f, _, err := p.FinishRegistration(u, sess, []byte(virtualwebauthn.CreateAttestationResponse(rp, *a, c, *ao)))
	if err != nil {
		tb.Fatal(err)
	}
	f.Type = gatehouse.FactorPasskey
	a.AddCredential(c)
	return f, c
}

// lasting returns session with an expiry a day away, so that the genuine
// seeds still verify in a long fuzzing run (go-webauthn refuses an expired
// ceremony; the flow's own expiry is package auth's).
func lasting(tb testing.TB, session []byte) []byte {
	tb.Helper()
	var s webauthn.SessionData
	if err := json.Unmarshal(session, &s); err != nil {
		tb.Fatal(err)
	}
	s.Expires = time.Now().Add(24 * time.Hour)
	out, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// FuzzCredentialID: the credential id of an assertion, which sign-in looks
// the passkey up by. Accepted ⇒ non-empty and exactly the bytes of the
// body's rawId, which its id member encodes too (section 5.1); else an
// error, never a panic.
func FuzzCredentialID(f *testing.F) {
	p, _, _, a, c, rp := ceremony(f)
	opts, _, err := p.BeginLogin(nil)
	if err != nil {
		f.Fatal(err)
	}
	ao, _ := virtualwebauthn.ParseAssertionOptions(string(opts))
	f.Add([]byte(virtualwebauthn.CreateAssertionResponse(rp, a, c, *ao)))
	f.Add([]byte(`{"id":"AQID","rawId":"AQID","type":"public-key","response":{}}`))
	f.Add([]byte(`{"id":"\r\n","rawId":"","type":"public-key"}`))
	f.Add([]byte(`{"id":"AQID","rawId":"AQIE","type":"public-key"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := p.CredentialID(body)
		if err != nil {
			if id != nil {
				t.Fatal("an id with an error")
			}
			return
		}
		w := readWire(t, body)
		if len(id) == 0 {
			t.Fatal("an empty credential id was accepted")
		}
		if raw := unb64(t, "rawId", w.RawID); !bytes.Equal(id, raw) {
			t.Fatalf("CredentialID %x, rawId %x", id, raw)
		}
		if enc := unb64(t, "id", w.ID); !bytes.Equal(id, enc) {
			t.Fatalf("CredentialID %x, but id encodes %x", id, enc)
		}
	})
}

// FuzzFinishLogin: an assertion against three sign-in ceremonies: A, any
// discoverable credential with user verification required; B, an
// allow-list of the passkey f (verification preferred); C, an allow-list of
// another passkey g only. The seeds are genuine assertions of f for each,
// with and without a user handle and user verification. Properties:
//   - f succeeds only with A or B, and then the signed bytes
//     (authenticatorData, clientDataJSON) and the signature are exactly
//     those of a genuine assertion made for that ceremony, the credential
//     is f's, the user handle is absent or the user's, the counter
//     returned is the one signed (package auth's UsePasskey refuses it
//     unless it moves forward, section 6.1.1), and uv is the signed UV flag
//     (set, with A);
//   - g (another credential of the same person) and h (f's id with g's
//     public key) never succeed, nor f with C (it was not asked for);
//   - errors only, never a panic.
func FuzzFinishLogin(f *testing.F) {
	p, u, fac, a, c, rp := ceremony(f)
	g, _ := register(f, p, u, rp, &a)
	var gc webauthn.Credential
	if err := json.Unmarshal(g.Credential, &gc); err != nil {
		f.Fatal(err)
	}
	gc.ID = fac.CredentialID
	hraw, _ := json.Marshal(gc)
	h := &gatehouse.MFAFactor{ID: "h", Type: gatehouse.FactorPasskey, CredentialID: fac.CredentialID, Credential: hraw}
	fac.SignCount = 4 // what earlier sign-ins left; every seed signs a later counter

	begin := func(allow []*gatehouse.MFAFactor) ([]byte, *virtualwebauthn.AssertionOptions) {
		opts, sess, err := p.BeginLogin(allow)
		if err != nil {
			f.Fatal(err)
		}
		ao, err := virtualwebauthn.ParseAssertionOptions(string(opts))
		if err != nil {
			f.Fatal(err)
		}
		return lasting(f, sess), ao
	}
	var sessions [3][]byte
	var options [3]*virtualwebauthn.AssertionOptions
	sessions[0], options[0] = begin(nil)
	sessions[1], options[1] = begin([]*gatehouse.MFAFactor{fac})
	sessions[2], options[2] = begin([]*gatehouse.MFAFactor{g})

	// genuine maps the signed bytes and signature of each genuine assertion
	// to the ceremony it was made for.
	type signed struct{ authData, clientData, sig string }
	genuine := map[signed]int{}
	sigOf := func(tb testing.TB, w wireCredential) signed {
		return signed{string(unb64(tb, "authenticatorData", w.Response.AuthenticatorData)),
			string(unb64(tb, "clientDataJSON", w.Response.ClientDataJSON)), string(unb64(tb, "signature", w.Response.Signature))}
	}
	noUV := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(u.ID), UserNotVerified: true})
	noHandle := virtualwebauthn.NewAuthenticator()
	c.Counter = 4
	for i := range sessions {
		for _, auth := range []virtualwebauthn.Authenticator{a, noUV, noHandle} {
			c.Counter++
			body := []byte(virtualwebauthn.CreateAssertionResponse(rp, auth, c, *options[i]))
			genuine[sigOf(f, readWire(f, body))] = i
			_, _, err := p.FinishLogin(u, fac, sessions[i], body)
			if want := i != 2 && (i != 0 || !auth.Options.UserNotVerified); (err == nil) != want {
				f.Fatalf("genuine assertion for ceremony %d (uv %v, handle %v): %v", i, !auth.Options.UserNotVerified, auth.Options.UserHandle != nil, err)
			}
			f.Add(body)
		}
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := p.CredentialID(body); err != nil {
			// Unparseable: one ceremony suffices (most mutations end here,
			// and the minimizer's runs stay cheap).
			if _, _, err := p.FinishLogin(u, fac, sessions[1], body); err == nil {
				t.Fatal("FinishLogin verified a body CredentialID cannot parse")
			}
			return
		}
		for i, sess := range sessions {
			for _, other := range []*gatehouse.MFAFactor{g, h} {
				if _, _, err := p.FinishLogin(u, other, sess, body); err == nil {
					t.Fatalf("ceremony %d: the assertion verified for factor %s", i, other.ID)
				}
			}
			count, uv, err := p.FinishLogin(u, fac, sess, body)
			if err != nil {
				continue
			}
			if i == 2 {
				t.Fatal("f verified in a ceremony that asked only for g")
			}
			w := readWire(t, body)
			s := sigOf(t, w)
			if at, ok := genuine[s]; !ok || at != i {
				t.Fatalf("ceremony %d accepted signed bytes or a signature no genuine assertion for it has (genuine for %d: %v)", i, at, ok)
			}
			if id := unb64(t, "rawId", w.RawID); !bytes.Equal(id, fac.CredentialID) {
				t.Fatalf("verified for credential %x, f is %x", id, fac.CredentialID)
			}
			if hd := unb64(t, "userHandle", w.Response.UserHandle); len(hd) > 0 && string(hd) != u.ID {
				t.Fatalf("verified with the user handle %q", hd)
			}
			ad := []byte(s.authData)
			if signedCount := int64(binary.BigEndian.Uint32(ad[33:37])); count != signedCount || count <= fac.SignCount {
				t.Fatalf("counter %d, signed %d, stored %d", count, signedCount, fac.SignCount)
			}
			if signedUV := ad[32]&0x04 != 0; uv != signedUV || i == 0 && !uv {
				t.Fatalf("ceremony %d: uv %v, signed flag %v", i, uv, signedUV)
			}
		}
	})
}

// FuzzFinishRegistration: a registration response ("none" attestation is
// asked for, so nothing but the authenticator's own statement signs it:
// properties are about what is stored, section 7.1). Accepted ⇒ the client
// data is a webauthn.create of the ceremony's challenge from the relying
// party's origin; the authenticator data has the rp id hash, user presence
// and attested credential data; the factor's credential id is 1–1023 bytes
// (section 7.1 step 23), the body's rawId and the attested id; its stored
// credential reads back (as sign-in reads it) with that id, a public key
// that parses, the signed counter and the AAGUID. Errors only, no panic.
func FuzzFinishRegistration(f *testing.F) {
	p, u, _, a, c, rp := ceremony(f)
	opts, sess, err := p.BeginRegistration(u, nil)
	if err != nil {
		f.Fatal(err)
	}
	sess = lasting(f, sess)
	var sd webauthn.SessionData
	if err := json.Unmarshal(sess, &sd); err != nil {
		f.Fatal(err)
	}
	ao, _ := virtualwebauthn.ParseAttestationOptions(string(opts))
	for _, o := range []virtualwebauthn.AuthenticatorOptions{{UserHandle: []byte(u.ID)}, {UserNotVerified: true}, {UserNotPresent: true}} {
		auth := virtualwebauthn.NewAuthenticatorWithOptions(o)
		body := []byte(virtualwebauthn.CreateAttestationResponse(rp, auth, virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2), *ao))
		if _, _, err := p.FinishRegistration(u, sess, body); (err == nil) == o.UserNotPresent {
			f.Fatalf("genuine registration %+v: %v", o, err)
		}
		f.Add(body)
	}
	f.Add([]byte(virtualwebauthn.CreateAttestationResponse(rp, a, virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeRSA), *ao)))
	lo, _, _ := p.BeginLogin(nil)
	lao, _ := virtualwebauthn.ParseAssertionOptions(string(lo))
	f.Add([]byte(virtualwebauthn.CreateAssertionResponse(rp, a, c, *lao)))
	rpHash := sha256.Sum256([]byte(rp.ID))

	f.Fuzz(func(t *testing.T, body []byte) {
		fac, _, err := p.FinishRegistration(u, sess, body)
		if err != nil {
			if fac != nil {
				t.Fatal("a factor with an error")
			}
			return
		}
		w := readWire(t, body)
		var cd struct{ Type, Challenge, Origin string }
		if err := json.Unmarshal(unb64(t, "clientDataJSON", w.Response.ClientDataJSON), &cd); err != nil {
			t.Fatalf("accepted client data encoding/json refuses: %v", err)
		}
		if cd.Type != "webauthn.create" || cd.Challenge != sd.Challenge || cd.Origin != rp.Origin {
			t.Fatalf("accepted client data %+v", cd)
		}
		var att struct {
			AuthData []byte `cbor:"authData"`
		}
		if err := webauthncbor.Unmarshal(unb64(t, "attestationObject", w.Response.AttestationObject), &att); err != nil {
			t.Fatalf("accepted an attestation object that does not decode: %v", err)
		}
		ad := att.AuthData
		if len(ad) < 55 || !bytes.Equal(ad[:32], rpHash[:]) || ad[32]&0x01 == 0 || ad[32]&0x40 == 0 {
			t.Fatalf("accepted authenticator data %x", ad)
		}
		n := int(binary.BigEndian.Uint16(ad[53:55]))
		id := fac.CredentialID
		if n == 0 || n > 1023 || len(ad) < 55+n || !bytes.Equal(id, ad[55:55+n]) {
			t.Fatalf("credential id %x (%d bytes), attested %d bytes", id, len(id), n)
		}
		if raw := unb64(t, "rawId", w.RawID); !bytes.Equal(id, raw) {
			t.Fatalf("credential id %x, rawId %x", id, raw)
		}
		fac.Type = gatehouse.FactorPasskey
		creds, err := credentials([]*gatehouse.MFAFactor{fac})
		if err != nil || len(creds) != 1 || !bytes.Equal(creds[0].ID, id) {
			t.Fatalf("the stored credential does not read back: %v", err)
		}
		if _, err := webauthncose.ParsePublicKey(creds[0].PublicKey); err != nil {
			t.Fatalf("the stored public key does not parse: %v", err)
		}
		if want := int64(binary.BigEndian.Uint32(ad[33:37])); fac.SignCount != want || int64(creds[0].Authenticator.SignCount) != want {
			t.Fatalf("sign count %d, signed %d", fac.SignCount, want)
		}
		if !bytes.Equal(fac.AAGUID, ad[37:53]) {
			t.Fatalf("AAGUID %x, attested %x", fac.AAGUID, ad[37:53])
		}
	})
}
