package gatehouse

import (
	"fmt"
	"strings"
	"testing"
)

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"jane.doe@example.com": "j***@example.com",
		"a@b.co":               "a***@b.co",
		"no-at-sign":           "***",
		"@example.com":         "***",
		"\r\n@evil.com":        "?***@evil.com",
		"x@evil\r\ncom":        "x***@?",
		"émile@exemple.fr":     "é***@exemple.fr",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMagicLinkMailRedacts(t *testing.T) {
	m := MagicLinkMail{To: "jane.doe@example.com", Link: "https://auth.example.com/magic-link?token=SECRETTOKEN"}
	for _, s := range []string{m.String(), fmt.Sprint(m), fmt.Sprintf("%v", m), m.LogValue().String()} {
		if strings.Contains(s, "SECRETTOKEN") || strings.Contains(s, "jane.doe") {
			t.Errorf("formatted mail leaks: %q", s)
		}
	}
}
