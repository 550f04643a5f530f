package gatehouse

import (
	"fmt"
	"strings"
	"testing"
)

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"jane.doe@example.com":      "***@example.com",
		"Jane.Doe@Mail.Example.COM": "***@mail.example.com",
		" a@b.co ":                  "***@b.co",
		"ada@xn--exmple-cua.com":    "***@xn--exmple-cua.com",
		"***@example.com":           "***@example.com", // its own output
		"no-at-sign":                "***",
		"@example.com":              "***",
		"ada@":                      "***",
		"ada@localhost":             "***",
		"ada@example":               "***",
		"ada@1.2":                   "***",
		"ada@192.168.0.1":           "***",
		"ada@[192.168.0.1]":         "***",
		"ada@-example.com":          "***",
		"ada@example..com":          "***",
		"ada@example.com.":          "***",
		"ada@exemple_x.fr":          "***",
		"\r\n@evil.com":             "***",
		"x@evil\r\ncom":             "***",
		"émile@exemple.fr":          "***@exemple.fr",
		"ada@exämple.com":           "***",
		"ada\u200b@example.com":     "***",
		"two words@example.com":     "***",
		"ada@" + strings.Repeat("a", 64) + ".com":  "***",
		"ada@" + strings.Repeat("a.", 130) + "com": "***",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMaskEmailPasswordTypedAsEmail: a password typed into the email field
// leaves nothing of itself in the masked form, whatever its shape; only the
// domain of a well-formed address is shown.
func TestMaskEmailPasswordTypedAsEmail(t *testing.T) {
	for _, pw := range []string{
		"Hunter2@home",
		"H@ppyDays2024!",
		"correct horse@battery staple",
		"P@ss.w0rd",
		"s3cr3t@@@",
		"Tr0ub4dor&3@x",
		"p@ss@1234.5678",
		"Summer2024",
	} {
		got := MaskEmail(pw)
		if got != MaskedEmail {
			t.Errorf("MaskEmail(%q) = %q, want %q", pw, got, MaskedEmail)
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
