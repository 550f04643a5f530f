package verify

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/token"
)

// Report: BenchmarkMiddleware/warm ÷ BenchmarkRawEd25519Verify, measured in
// the same run.

func benchSetup(b *testing.B) (*issuer, string, *token.Signer) {
	c := newClock()
	is := newIssuer(b, c)
	ed := is.addKey(b, token.EdDSA)
	return is, is.token(b, ed, nil), ed
}

func BenchmarkMiddleware(b *testing.B) {
	b.Run("warm", func(b *testing.B) {
		is, tok, _ := benchSetup(b)
		h := Require(newJWT(b, is))(protected)
		r := httptest.NewRequest("GET", "/things", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	// warm-uncached: the key set is cached, but every token is new to the
	// verified-token cache, so each request pays the signature check.
	b.Run("warm-uncached", func(b *testing.B) {
		is, _, ed := benchSetup(b)
		h := Require(newJWT(b, is))(protected)
		toks := make([]string, 2*maxVerified)
		for i := range toks {
			toks[i] = is.token(b, ed, func(c *token.Claims) { c.ID = strconv.Itoa(i) })
		}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest("GET", "/things", nil)
			r.Header.Set("Authorization", "Bearer "+toks[i%len(toks)])
			i++
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	// cold: a fresh cache each time, so every request fetches the JWKS over
	// loopback HTTP before it verifies.
	b.Run("cold", func(b *testing.B) {
		is, tok, _ := benchSetup(b)
		r := httptest.NewRequest("GET", "/things", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		for b.Loop() {
			h := Require(newJWT(b, is))(protected)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}

func BenchmarkRawEd25519Verify(b *testing.B) {
	_, tok, s := benchSetup(b)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	msg := []byte(tok[:i])
	pub := s.PublicKey().Key.(ed25519.PublicKey)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad")
		}
	}
}

// BenchmarkBareHandler is the same handler served without the middleware:
// the baseline of BenchmarkMiddleware/warm (docs/performance.md).
func BenchmarkBareHandler(b *testing.B) {
	is, tok, _ := benchSetup(b)
	// The identity the middleware would have put in the context.
	w := httptest.NewRecorder()
	var id *Identity
	Require(newJWT(b, is))(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { id, _ = FromContext(r.Context()) })).
		ServeHTTP(w, withBearer(tok))
	if id == nil {
		b.Fatal("no identity")
	}
	r := withBearer(tok)
	r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		protected.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func withBearer(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/things", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}
