package password

import (
	"strings"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3b9J9m7yJ0O5QFf3hE1K0Yb0bH1hH2JwZb0D1k3bYxQ",
		"$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg",
		"$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg",
	} {
		h, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := h.String(); got != s {
			t.Errorf("round trip: got %q, want %q", got, s)
		}
	}
}

func TestParseRejects(t *testing.T) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "3b9J9m7yJ0O5QFf3hE1K0Yb0bH1hH2JwZb0D1k3bYxQ"
	good := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key
	if _, err := Parse(good); err != nil {
		t.Fatalf("the base case must parse: %v", err)
	}
	for name, s := range map[string]string{
		"empty":              "",
		"argon2i":            "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"argon2d":            "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"old version":        "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"no version":         "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key,
		"reordered":          "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"leading zero":       "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key,
		"sign":               "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key,
		"4 GiB memory":       "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key,
		"overflowing memory": "$argon2id$v=19$m=99999999999999999999,t=2,p=1$" + salt + "$" + key,
		"memory over bound":  "$argon2id$v=19$m=262145,t=2,p=1$" + salt + "$" + key,
		"memory too small":   "$argon2id$v=19$m=7,t=2,p=1$" + salt + "$" + key,
		"memory per lane":    "$argon2id$v=19$m=16,t=2,p=4$" + salt + "$" + key,
		"zero time":          "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"huge time":          "$argon2id$v=19$m=19456,t=1000000,p=1$" + salt + "$" + key,
		"zero lanes":         "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"255 lanes":          "$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key,
		"extra param":        "$argon2id$v=19$m=19456,t=2,p=1,keyid=x$" + salt + "$" + key,
		"padded salt":        "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"url alphabet":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.ReplaceAll(key, "/", "_") + "_",
		"non-canonical bits": "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdB$" + key,
		"short salt":         "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"short key":          "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$a2V5",
		"long key":           "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("QUFB", 30),
		"no key":             "$argon2id$v=19$m=19456,t=2,p=1$" + salt,
		"extra field":        good + "$" + key,
		"trailing space":     good + " ",
		"CR in key":          "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:10] + "\r" + key[10:],
		"too long overall":   good + strings.Repeat("A", 300),
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%s: Parse(%q) succeeded", name, s)
		}
	}
}

// FuzzParse checks that no input panics, that whatever parses is within
// bounds, and that parsing is canonical: one string per hash.
func FuzzParse(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3b9J9m7yJ0O5QFf3hE1K0Yb0bH1hH2JwZb0D1k3bYxQ")
	f.Add("$argon2id$v=19$m=262144,t=16,p=16$c29tZXNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg")
	f.Add("$argon2id$v=19$m=4294967295,t=2,p=1$$")
	f.Add("$argon2i$v=19$m=1,t=1,p=1$AA$AA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			return
		}
		if err := h.Params.Validate(); err != nil {
			t.Fatalf("parsed out-of-bounds params: %v", err)
		}
		if h.String() != s {
			t.Fatalf("not canonical: %q parsed, re-encodes as %q", s, h.String())
		}
	})
}

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams.Validate(); err != nil {
		t.Fatal(err)
	}
	if DefaultParams.Memory < 19*1024 || DefaultParams.Time < 2 || DefaultParams.Threads < 1 {
		t.Fatalf("defaults %+v below OWASP's m=19MiB,t=2,p=1", DefaultParams)
	}
	bad := DefaultParams
	bad.Memory = 1 << 22
	if _, err := New(Config{Params: bad}); err == nil {
		t.Fatal("New accepted 4 GiB of memory")
	}
}
