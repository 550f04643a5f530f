package auth

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// FuzzNormalizeDomain: the DNS name a workspace owner claims for single
// sign-on. Properties: an accepted name is a fixed point, at most 253
// bytes, of at least two labels of [a-z0-9-] (1 to 63 bytes, no hyphen at
// either end), so it can never carry a second name, a path or a wildcard
// into the TXT lookup `_gatehouse.<domain>`; refusals are invalid_request.
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{
		"example.com", "Example.COM.", " a.b ", "localhost", "-a.com", "a-.com", "a..com", "*.example.com",
		"exa mple.com", "example.com/x", "xn--bcher-kva.example", "ex\u0430mple.com", strings.Repeat("a", 64) + ".com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := normalizeDomain(in)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("refusal of %q is %v", in, err)
			}
			return
		}
		if again, err := normalizeDomain(out); err != nil || again != out {
			t.Fatalf("not a fixed point: %q -> %q -> %q, %v", in, out, again, err)
		}
		labels := strings.Split(out, ".")
		if len(out) > 253 || len(labels) < 2 {
			t.Fatalf("accepted %q", out)
		}
		for _, l := range labels {
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
				t.Fatalf("accepted %q with label %q", out, l)
			}
			for i := 0; i < len(l); i++ {
				c := l[i]
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
					t.Fatalf("accepted %q with byte %q", out, c)
				}
			}
		}
	})
}
