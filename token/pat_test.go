package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestPATFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		p, err := NewPAT(nil)
		if err != nil {
			t.Fatal(err)
		}
		s := p.Reveal()
		if PATLen != 53 || len(s) != PATLen || !strings.HasPrefix(s, "gth_") {
			t.Fatalf("bad token %q", s)
		}
		if seen[s] {
			t.Fatal("duplicate token")
		}
		seen[s] = true
		q, err := ParsePAT(s)
		if err != nil || q.Reveal() != s {
			t.Fatalf("ParsePAT(%q) = %v", s, err)
		}
		if p.Prefix() != s[:10] {
			t.Fatalf("prefix %q", p.Prefix())
		}
	}
	// Fixed width: an all-zero secret is padded to 43 body characters.
	z, err := NewPAT(bytes.NewReader(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if body := z.Reveal()[4:47]; body != strings.Repeat("0", 43) {
		t.Fatalf("zero body %q", body)
	}
	// The largest secret fills the width exactly.
	m, _ := NewPAT(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if _, err := ParsePAT(m.Reveal()); err != nil || m.Reveal()[4] == '0' {
		t.Fatalf("max token %q: %v", m.Reveal(), err)
	}
}

func TestParsePATRefuses(t *testing.T) {
	p, _ := NewPAT(nil)
	s := p.Reveal()
	flip := func(i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for name, in := range map[string]string{
		"empty":             "",
		"prefix only":       "gth_",
		"wrong prefix":      "ghp_" + s[4:],
		"upper prefix":      "GTH_" + s[4:],
		"short":             s[:len(s)-1],
		"long":              s + "a",
		"body typo":         flip(10),
		"checksum typo":     flip(len(s) - 1),
		"non-base62":        s[:20] + "-" + s[21:],
		"space":             s[:20] + " " + s[21:],
		"whitespace around": " " + s[:len(s)-1],
		"JWT":               "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
		"unicode":           s[:len(s)-2] + "é",
	} {
		if _, err := ParsePAT(in); err != ErrMalformedPAT {
			t.Errorf("%s: ParsePAT(%q) err = %v", name, in, err)
		}
	}
}

func TestPATRedacts(t *testing.T) {
	p, _ := NewPAT(nil)
	secret := p.Reveal()
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "pat", p)
	js, _ := json.Marshal(struct{ P PAT }{p})
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", p), "%s": fmt.Sprintf("%s", p), "%+v": fmt.Sprintf("%+v", p),
		"%#v": fmt.Sprintf("%#v", p), "%q": fmt.Sprintf("%q", p), "%x": fmt.Sprintf("%x", p),
		"slog": logBuf.String(), "json": string(js), "struct %+v": fmt.Sprintf("%+v", struct{ P PAT }{p}),
	} {
		if strings.Contains(out, secret[10:]) || strings.Contains(out, fmt.Sprintf("%x", secret[10:])) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
	if !strings.Contains(fmt.Sprint(p), p.Prefix()) {
		t.Error("String does not show the display prefix")
	}
}

func TestLookupHash(t *testing.T) {
	p, _ := NewPAT(nil)
	want := sha256.Sum256([]byte(p.Reveal()))
	if !bytes.Equal(p.Hash(), want[:]) || len(LookupHashHex(p.Reveal())) != 64 {
		t.Fatal("LookupHash is not SHA-256 of the token")
	}
}
