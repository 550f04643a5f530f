package secret

import (
	"math"
	"strings"
)

// placeholders are values people paste from documentation or leave as
// defaults. Each is at least six characters long, so that a random base64 or
// hex value contains one by chance with a probability below 1e-7.
var placeholders = []string{
	"changeme", "change-me", "change_me", "changeit", "secret", "password",
	"passw0rd", "example", "your-secret", "your_secret", "yoursecret",
	"placeholder", "replace", "default", "insecure", "sample",
	"letmein", "qwerty", "1234567890", "deadbeef", "gatehouse", "s3cr3t",
	"xxxxxx", "foobar", "testing", "notasecret", "not-a-secret",
}

func placeholder(lower string) bool {
	for _, p := range placeholders {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// textPattern returns why the value as given looks weak, or "". Patterns are
// looked for in the text as well as in the decoded bytes, since a pattern in
// the text (e.g. "abcdefgh…" in base64) need not be byte-aligned.
func textPattern(text string) string {
	return pattern([]byte(text))
}

func pattern(v []byte) string {
	if periodic(v) {
		return "a repeated pattern"
	}
	if sequence(v) {
		return "a sequence"
	}
	return ""
}

// check returns why the decoded secret b looks weak, or "".
func check(b []byte) string {
	if placeholder(strings.ToLower(string(b))) {
		return "it decodes to a well-known placeholder"
	}
	if why := pattern(b); why != "" {
		return why
	}
	if printable(b) {
		return "it decodes to text, not random bytes"
	}
	if d := distinct(b); d < min(len(b)/2, 128) {
		return "too few distinct bytes"
	}
	// Plug-in Shannon estimate of the bytes' entropy. It cannot exceed
	// log2(len(b)) for short inputs, so the bar is relative to that: 32
	// random bytes measure about 4.8 bits against a maximum of 5.
	if h, hmax := shannon(b), math.Log2(float64(min(len(b), 256))); h < 0.8*hmax {
		return "low estimated entropy"
	}
	return ""
}

// periodic reports whether v repeats a pattern at most half its length long
// (which covers a single repeated byte).
func periodic(v []byte) bool {
	n := len(v)
	for p := 1; p <= n/2; p++ {
		ok := true
		for i := p; i < n; i++ {
			if v[i] != v[i-p] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// sequence reports whether more than a third of v continues a constant step:
// ascending or descending runs ("abcdef", "987654", 0x00 0x01 0x02 …) and long
// runs of one value. Random bytes continue a step with probability 1/256, the
// characters of random hex with about 1/16.
func sequence(v []byte) bool {
	if len(v) < 3 {
		return false
	}
	same := 0
	for i := 2; i < len(v); i++ {
		if v[i]-v[i-1] == v[i-1]-v[i-2] {
			same++
		}
	}
	return same*3 > len(v)-2
}

// printable reports whether every byte of b is printable ASCII or white space:
// a passphrase that was encoded, not random bytes. 32 random bytes are all
// printable with a probability of about 1e-14.
func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}

func shannon(b []byte) float64 {
	var count [256]int
	for _, c := range b {
		count[c]++
	}
	h := 0.0
	for _, c := range count {
		if c > 0 {
			p := float64(c) / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return h
}
