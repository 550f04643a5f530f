package password

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

func TestPolicy(t *testing.T) {
	p := Policy{}
	tests := []struct {
		name, pw string
		want     string // substring of the error message; "" for allowed
	}{
		{"15 ascii", "glimmer-otter-9x", ""},
		{"14 characters", "glimmerotter9x", "at least 15 characters"},
		{"15 code points, more bytes", "ääääbbbbccccdde", ""},
		{"14 code points decomposed to more", "a\u0308a\u0308a\u0308a\u0308bbbbccccdd", "at least 15 characters"},
		{"64 characters allowed", strings.Repeat("horse battery ", 4) + "staple correct ok", ""},
		{"1024 bytes allowed", strings.Repeat("ab cd ef gh ", 85) + "ijkl", ""},
		{"1025 bytes", strings.Repeat("x", 1025), "at most 1024 bytes"},
		{"no composition rules", "all lowercase words here", ""},
		{"spaces allowed", "     inner   spaces   ok", ""},
		{"emoji allowed", "🦊🦊 tricky fox in the henhouse", ""},
		{"common long", "passwordpassword", "too common"},
		{"common case-insensitive", "PasswordPassword", "too common"},
		{"common with spaces", "correct horse battery staple", "too common"},
		{"common with suffix", "thisismypassword2024!", "too common"},
		{"common repeated", "iloveyouiloveyouiloveyou", "too common"},
		{"common short entry repeated", "dragondragondragon", "too common"},
		{"repeated char", "aaaaaaaaaaaaaaaaaaa", "too easy to guess"},
		{"repeated unit", "abcabcabcabcabcabc", "too easy to guess"},
		{"digit sequence", "123456789012345678", "too easy to guess"},
		{"reverse alphabet", "zyxwvutsrqponmlkj", "too easy to guess"},
		{"keyboard row", "qwertyuiopasdfghj", "too easy to guess"},
		{"control character", "fine until here\x00 then not", "control characters"},
		{"invalid utf8", "valid prefix then \xff\xfe bad bytes", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.pw)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.pw, err)
				}
				return
			}
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest || !strings.Contains(gatehouse.ErrorMessage(err), tt.want) {
				t.Fatalf("Check(%q) = %v, want invalid_request containing %q", tt.pw, err, tt.want)
			}
		})
	}
}

func TestPolicyContextWords(t *testing.T) {
	p := Policy{}
	for _, pw := range []string{"jonathan.harker@example.com", "Jonathan.Harker2024", "jonathan.harkerjonathan.harker"} {
		if err := p.Check(pw, "jonathan.harker@example.com"); err == nil || !strings.Contains(err.Error(), "email") {
			t.Errorf("Check(%q) with its own email = %v", pw, err)
		}
	}
	if err := p.Check("jonathan went to transylvania", "jonathan.harker@example.com"); err != nil {
		t.Errorf("a password that merely mentions a name refused: %v", err)
	}
}

func TestPolicyMinLength(t *testing.T) {
	p := Policy{MinLength: 8}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := p.Check("tram-oak"); err != nil {
		t.Fatalf("8 characters under MinLength 8: %v", err)
	}
	if err := p.Check("password"); err == nil || !strings.Contains(err.Error(), "too common") {
		t.Fatalf("short common password: %v", err)
	}
	if err := p.Check("123456789"); err == nil {
		t.Fatal("123456789 allowed")
	}
	for _, bad := range []int{1, 7, 65} {
		if (Policy{MinLength: bad}).Validate() == nil {
			t.Errorf("MinLength %d validated", bad)
		}
	}
}

func TestCommonListLoaded(t *testing.T) {
	set := commonSet()
	if len(set) < 300 {
		t.Fatalf("common list has %d entries", len(set))
	}
	long := 0
	for w := range set {
		if w != fold(w) {
			t.Errorf("entry %q not folded", w)
		}
		if len(w) >= 15 {
			long++
		}
	}
	if long < 100 {
		t.Fatalf("only %d entries of 15 characters or more", long)
	}
}

func FuzzPolicyCheck(f *testing.F) {
	f.Add("correct horse battery staple")
	f.Add("\xff\xfe")
	f.Add(strings.Repeat("ab", 600))
	f.Fuzz(func(t *testing.T, s string) {
		err := Policy{}.Check(s, "someone@example.com")
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
			t.Fatalf("Check returned %v", err)
		}
		if len(s) > MaxBytes && err == nil {
			t.Fatal("over MaxBytes accepted")
		}
	})
}
