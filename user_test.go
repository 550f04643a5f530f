package gatehouse

import (
	"strings"
	"testing"
	"unicode"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Ada@Example.COM":       "ada@example.com",
		"  ada@example.com \t":  "ada@example.com",
		"zoë.åse@exämple.com":   "zoë.åse@exämple.com",
		"ada@localhost":         "ada@localhost",
		"ada@example.com\u00a0": "ada@example.com", // trimmed, not inside
	} {
		got, err := NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestNormalizeEmailRefusesLookAlikes: an address with a character that
// shows nothing, reorders the text or stands for lost bytes is refused
// (400), wherever in the address it is, so it cannot name a second account
// that reads like the first.
func TestNormalizeEmailRefusesLookAlikes(t *testing.T) {
	var runes []rune
	for r := rune(0x200B); r <= 0x200F; r++ {
		runes = append(runes, r)
	}
	for r := rune(0x202A); r <= 0x202E; r++ {
		runes = append(runes, r)
	}
	for r := rune(0x2066); r <= 0x2069; r++ {
		runes = append(runes, r)
	}
	runes = append(runes, 0xFEFF, 0xFFFD,
		// other format characters (Cf) and default-ignorables
		0x00AD, 0x061C, 0x180E, 0x2060, 0x2061, 0x2064, 0x206A, 0xFFF9, 0xE0001, 0xE0041,
		0x034F, 0x115F, 0x3164, 0xFE0F, 0xE0100,
		// spaces and separators other than ASCII's, controls, private use
		0x00A0, 0x2000, 0x2028, 0x2029, 0x3000, 0x0085, 0xE000, 0xFFFF)
	for _, r := range runes {
		addrs := []string{
			"ada" + string(r) + "@example.com",
			"ada@exam" + string(r) + "ple.com",
			"ada@example.com" + string(r) + "x",
		}
		if !unicode.IsSpace(r) { // leading and trailing white space is trimmed
			addrs = append(addrs, string(r)+"ada@example.com", "ada@example.com"+string(r))
		}
		for _, addr := range addrs {
			got, err := NormalizeEmail(addr)
			if ErrorCode(err) != EInvalidRequest {
				t.Errorf("NormalizeEmail(%+q) = %q, %v; want invalid_request", addr, got, err)
			}
		}
	}
	// Invalid UTF-8 decodes to U+FFFD: refused as well.
	if _, err := NormalizeEmail("ada\xff@example.com"); ErrorCode(err) != EInvalidRequest {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if _, err := NormalizeEmail("ada\u200b@example.com"); err == nil || strings.Contains(err.Error(), "ada") {
		t.Errorf("error %v names the address", err)
	}
}
