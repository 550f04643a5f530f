package gatehouse

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeEmail: an address from a sign-up, sign-in or invitation body.
// Properties: an accepted address is a fixed point (normalizing it again
// gives it back unchanged, so lookups by the stored form always match), it
// has the shape local@domain within MaxEmailLen bytes, is lower case, valid
// UTF-8 and holds no invisible or look-alike character; and whatever
// LookAlikeEmail refuses, NormalizeEmail refuses too (the sign-in path that
// only calls LookAlikeEmail is never looser than sign-up).
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"Ada@Example.com", " ada@example.com\t", "ada\u200b@example.com", "a@localhost",
		"@example.com", "ada@", "ada@@example.com", "a\"b@example.com", "ada@exam\u202eple.com",
		"\xff@example.com", "ADA@EXAMPLE.COM\u00a0", "İ@example.com", "a@b.c", strings.Repeat("a", 250) + "@x.io",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeEmail(in)
		if LookAlikeEmail(in) != nil && err == nil {
			t.Fatalf("LookAlikeEmail refuses %q but NormalizeEmail accepts it as %q", in, out)
		}
		if err != nil {
			if ErrorCode(err) != EInvalidRequest {
				t.Fatalf("refusal of %q is %v, not invalid_request", in, err)
			}
			return
		}
		again, err := NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("not a fixed point: %q -> %q -> %q, %v", in, out, again, err)
		}
		if len(out) == 0 || len(out) > MaxEmailLen || !utf8.ValidString(out) || strings.ToLower(out) != out {
			t.Fatalf("accepted %q as %q", in, out)
		}
		at := strings.LastIndexByte(out, '@')
		if at <= 0 || at == len(out)-1 {
			t.Fatalf("accepted %q without local@domain shape", out)
		}
		for _, r := range out {
			if invisibleRune(r) || r <= ' ' {
				t.Fatalf("accepted %q holding %U", out, r)
			}
		}
		if LookAlikeEmail(out) != nil {
			t.Fatalf("accepted %q that LookAlikeEmail refuses", out)
		}
	})
}
