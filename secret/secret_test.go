package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// good32 is a fixed 32-byte value that passes every check.
var good32 = []byte{
	0x8f, 0x1c, 0x33, 0xe4, 0x5a, 0x07, 0xb9, 0x62, 0xd1, 0x4e, 0x90, 0x2b, 0xc7, 0x75, 0x18, 0xaf,
	0x3d, 0xf2, 0x66, 0x81, 0x0b, 0xde, 0x49, 0xa3, 0x57, 0xec, 0x24, 0x9a, 0x6f, 0xb0, 0x13, 0xc8,
}

func TestParseAccepts(t *testing.T) {
	std := base64.StdEncoding.EncodeToString(good32)
	tests := []struct {
		name, in string
	}{
		{"hex lower", hex.EncodeToString(good32)},
		{"hex upper", strings.ToUpper(hex.EncodeToString(good32))},
		{"base64 std padded", std},
		{"base64 std unpadded", strings.TrimRight(std, "=")},
		{"base64 url padded", base64.URLEncoding.EncodeToString(good32)},
		{"base64 url unpadded", base64.RawURLEncoding.EncodeToString(good32)},
		{"trailing newline", hex.EncodeToString(good32) + "\n"},
		{"64 bytes", base64.RawURLEncoding.EncodeToString(append(append([]byte{}, good32...), reverse(good32)...))},
		{"generated", Generate()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) = %v, want accepted", tt.in, err)
			}
			if s.IsZero() {
				t.Fatal("accepted secret is zero")
			}
		})
	}
	// Every encoding of the same bytes is the same secret.
	a, _ := Parse(hex.EncodeToString(good32))
	b, _ := Parse(base64.RawURLEncoding.EncodeToString(good32))
	if !bytes.Equal(a.Derive("x", 32), b.Derive("x", 32)) {
		t.Fatal("hex and base64 of the same bytes derive different keys")
	}
}

func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i] ^ 0x5c
	}
	return r
}

func TestParseRefuses(t *testing.T) {
	seq := make([]byte, 32)
	desc := make([]byte, 40)
	for i := range seq {
		seq[i] = byte(i)
	}
	for i := range desc {
		desc[i] = byte(200 - i)
	}
	pattern := bytes.Repeat([]byte{0xde, 0xad, 0x42, 0x17}, 8)
	halfRepeat := append(append([]byte{}, good32[:16]...), good32[:16]...)
	fewDistinct := make([]byte, 48)
	for i := range fewDistinct {
		fewDistinct[i] = good32[(i*7)%5]
	}
	tests := []struct {
		name, in string
		want     string // substring of the error
	}{
		{"empty", "", "missing"},
		{"spaces", "   \n", "missing"},
		{"changeme", "changeme", "placeholder"},
		{"CHANGEME upper", "CHANGEME", "placeholder"},
		{"secret", "secret", "placeholder"},
		{"password", "password", "placeholder"},
		{"your-secret-here", "your-secret-here", "placeholder"},
		{"example long", "this-is-an-example-secret-value-of-some-length-0123", "placeholder"},
		{"placeholder in base64", base64.StdEncoding.EncodeToString([]byte("please-changeme-before-production!!")), "placeholder"},
		{"placeholder in hex", hex.EncodeToString([]byte("my super secret value for the app")), "placeholder"},
		{"text in base64", base64.StdEncoding.EncodeToString([]byte("correct horse battery staple and more words")), "text"},
		{"short hex", hex.EncodeToString(good32[:31]), "fewer than 32"},
		{"short base64", base64.StdEncoding.EncodeToString(good32[:20]), "fewer than 32"},
		{"odd hex", hex.EncodeToString(good32)[:63], "neither hex nor base64"},
		{"not base64", "!!!!" + base64.StdEncoding.EncodeToString(good32), "neither hex nor base64"},
		{"bad padding", base64.RawStdEncoding.EncodeToString(good32) + "===", "neither hex nor base64"},
		{"mixed alphabets", "+" + base64.RawURLEncoding.EncodeToString(good32)[1:] + "_", "neither hex nor base64"},
		{"zeros hex", strings.Repeat("0", 64), "repeated"},
		{"a repeated", strings.Repeat("a", 64), "repeated"},
		{"A repeated base64", strings.Repeat("z", 44), "repeated"},
		{"ab repeated", strings.Repeat("ab", 32), "repeated"},
		{"abc repeated base64", strings.Repeat("abc", 16), "repeated"},
		{"bytes pattern", base64.StdEncoding.EncodeToString(pattern), "repeated"},
		{"half repeated", hex.EncodeToString(halfRepeat), "repeated"},
		{"ascending bytes", hex.EncodeToString(seq), "sequence"},
		{"descending bytes", base64.StdEncoding.EncodeToString(desc), "sequence"},
		{"alphabet", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "sequence"},
		{"hex digits ascending", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", "sequence"},
		{"few distinct", base64.StdEncoding.EncodeToString(fewDistinct), "low-entropy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) accepted, want refused (%s)", tt.in, tt.want)
			}
			if !s.IsZero() {
				t.Fatal("refused Parse returned a non-zero secret")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %q, want it to mention %q", tt.in, err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *secret.Error", err)
			}
			assertNoLeak(t, err.Error(), tt.in)
		})
	}
}

// assertNoLeak fails if msg contains in, or any 6-character piece of it.
func assertNoLeak(t *testing.T, msg, in string) {
	t.Helper()
	in = strings.TrimSpace(in)
	if in == "" {
		return
	}
	if strings.Contains(msg, in) && !strings.Contains("master secret", in) {
		t.Fatalf("error %q contains the value", msg)
	}
	for i := 0; i+6 <= len(in); i++ {
		piece := in[i : i+6]
		if strings.Trim(piece, "a") == "" || strings.Trim(piece, "0") == "" {
			continue // a run of one letter can occur in the message's words
		}
		if strings.Contains(msg, piece) && !strings.Contains(strings.ToLower(msg), "placeholder") && !strings.Contains(msg, "sequence") {
			t.Fatalf("error %q contains part %q of the value", msg, piece)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		g := Generate()
		if len(g) != 43 || strings.ContainsAny(g, "=+/\n ") {
			t.Fatalf("Generate() = %q, want 43 URL-safe base64 characters", g)
		}
		if _, err := Parse(g); err != nil {
			t.Fatalf("Parse(Generate()) = %v", err)
		}
		if seen[g] {
			t.Fatal("Generate repeated a value")
		}
		seen[g] = true
	}
}

func TestDerive(t *testing.T) {
	s, err := Parse(hex.EncodeToString(good32))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Derive("csrf-hmac", 32)
	if len(a) != 32 {
		t.Fatalf("len = %d", len(a))
	}
	if !bytes.Equal(a, s.Derive("csrf-hmac", 32)) {
		t.Fatal("Derive is not deterministic")
	}
	if bytes.Equal(a, s.Derive("local-kek", 32)) {
		t.Fatal("different labels gave the same key")
	}
	if bytes.Equal(a, good32) {
		t.Fatal("Derive returned the secret itself")
	}
	other, _ := Parse(Generate())
	if bytes.Equal(a, other.Derive("csrf-hmac", 32)) {
		t.Fatal("different secrets gave the same key")
	}
	if got := s.Derive("long", 100); len(got) != 100 {
		t.Fatalf("len = %d", len(got))
	}
	for name, f := range map[string]func(){
		"zero secret": func() { Secret{}.Derive("x", 32) },
		"no label":    func() { s.Derive("", 32) },
		"too long":    func() { s.Derive("x", 255*32+1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

func TestRedaction(t *testing.T) {
	s, err := Parse(hex.EncodeToString(good32))
	if err != nil {
		t.Fatal(err)
	}
	hexKey := hex.EncodeToString(good32)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s, "ptr", &s)
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %x %X %d %q", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", &s, &s, struct{ S Secret }{s}), buf.String(),
	}
	for _, out := range outs {
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("output %q is not redacted", out)
		}
		if strings.Contains(strings.ToLower(out), hexKey[:8]) || strings.Contains(out, fmt.Sprint(good32[:4])[1:8]) {
			t.Errorf("output %q leaks the key", out)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "changeme", hex.EncodeToString(good32), base64.StdEncoding.EncodeToString(good32),
		base64.RawURLEncoding.EncodeToString(good32), strings.Repeat("A", 44), "====", "ab=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			if !s.IsZero() {
				t.Fatal("error with a non-zero secret")
			}
			// Only a value of 8 bytes or more once trimmed can be told apart
			// in a message: "a" padded with spaces is in every message.
			if v := strings.TrimSpace(in); len(v) >= 8 && strings.Contains(err.Error(), v) {
				t.Fatalf("error %q contains the input", err)
			}
			return
		}
		if len(s.key) < MinBytes {
			t.Fatalf("accepted %d bytes", len(s.key))
		}
		if len(s.Derive("fuzz", 32)) != 32 {
			t.Fatal("derive length")
		}
	})
}

func BenchmarkParse(b *testing.B) {
	g := Generate()
	for b.Loop() {
		if _, err := Parse(g); err != nil {
			b.Fatal(err)
		}
	}
}
