package auth

import (
	"strings"
	"testing"
)

// FuzzParseScope: a scope parameter either fails with invalid_scope or
// yields distinct, sorted tokens of the vocabulary.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"audit:read", "audit:read workspaces:read", "a  b", " x", "profile:read profile:read", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseScope(s)
		if err != nil {
			return
		}
		for i, sc := range got {
			if !contains(ClientScopes, sc) {
				t.Fatalf("%q is not in the vocabulary", sc)
			}
			if i > 0 && got[i-1] >= sc {
				t.Fatalf("not sorted and distinct: %v", got)
			}
		}
		if len(got) == 0 || strings.Join(got, " ") == "" {
			t.Fatalf("%q parsed to nothing", s)
		}
	})
}

func TestSecretMatches(t *testing.T) {
	_, hash, err := newClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	s, h2, _ := newClientSecret()
	if !secretMatches(s.Reveal(), h2) || secretMatches(s.Reveal(), hash) || secretMatches(s.Reveal(), "zz") || secretMatches("", dummySecretHash) {
		t.Fatal("secretMatches")
	}
	id, _ := newClientID()
	if !ValidClientID(id) || id[14] != '4' {
		t.Fatalf("client id %q", id)
	}
}
