package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

var testKey = bytes.Repeat([]byte{7}, 32)

func TestRefreshTokenFormat(t *testing.T) {
	sid := "0190f000-0000-7000-8000-00000000abcd"
	tok, err := newRefreshToken(sid)
	if err != nil {
		t.Fatal(err)
	}
	if refreshLen != 75 || len(tok) != refreshLen {
		t.Fatalf("length %d", len(tok))
	}
	rt, ok := parseRefreshToken(tok)
	if !ok || rt.sid != sid || rt.gen != 0 {
		t.Fatalf("parse = %+v, %v", rt, ok)
	}
	if other, _ := newRefreshToken(sid); other == tok {
		t.Fatal("two first tokens are equal")
	}
	next := successor(testKey, rt)
	nrt, ok := parseRefreshToken(next)
	if !ok || nrt.sid != sid || nrt.gen != 1 || next == tok {
		t.Fatalf("successor parses as %+v, %v", nrt, ok)
	}
	if successor(testKey, rt) != next {
		t.Fatal("successor is not deterministic")
	}
	if successor(bytes.Repeat([]byte{8}, 32), rt) == next {
		t.Fatal("successor does not depend on the key")
	}
	for _, bad := range []string{"", tok[:74], tok + "A", strings.Replace(tok, tok[:1], "+", 1), tok[:40] + "\n" + tok[41:], tok[:74] + "_"} {
		if _, ok := parseRefreshToken(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestDescendsTo(t *testing.T) {
	rt, _ := parseRefreshToken(mustToken(t))
	chain := []refreshToken{rt}
	for i := 0; i < 10; i++ {
		n, _ := parseRefreshToken(successor(testKey, chain[len(chain)-1]))
		chain = append(chain, n)
	}
	cur := chain[10]
	for i, c := range chain {
		if !descendsTo(testKey, c, cur.gen, hashToken(cur.text)) {
			t.Errorf("generation %d does not descend to 10", i)
		}
	}
	if descendsTo(testKey, chain[3], cur.gen, hashToken(chain[9].text)) {
		t.Error("descends to the wrong hash")
	}
	if descendsTo(testKey, cur, 5, hashToken(chain[5].text)) {
		t.Error("a later token descends to an earlier one")
	}
	if descendsTo(testKey, chain[0], maxWalk+1, hashToken(cur.text)) {
		t.Error("walked beyond maxWalk")
	}
}

func mustToken(t *testing.T) string {
	tok, err := newRefreshToken(gatehouse.NewID(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func FuzzParseRefreshToken(f *testing.F) {
	f.Add("AZDwAAAAcACAAAAAAACrzQAAAAAAAAAAeHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg")
	f.Add("")
	f.Add(strings.Repeat("_", 75))
	f.Fuzz(func(t *testing.T, s string) {
		rt, ok := parseRefreshToken(s)
		if !ok {
			return
		}
		if rt.text != s || !gatehouse.ValidID(rt.sid) || rt.gen < 0 {
			t.Fatalf("parsed %q as %+v", s, rt)
		}
		// Every parsed token below the bound has a parseable successor in
		// the same session.
		n, ok := parseRefreshToken(successor(testKey, rt))
		if rt.gen == maxGeneration {
			if ok {
				t.Fatal("the successor of the last generation parsed")
			}
			return
		}
		if !ok || n.sid != rt.sid || n.gen != rt.gen+1 {
			t.Fatalf("successor of %q: %+v, %v", s, n, ok)
		}
	})
}

func TestMagicTokenForm(t *testing.T) {
	tok, _ := newSecretToken()
	if !validSecretToken(tok) || validSecretToken(tok+"A") || validSecretToken(tok[:42]+"=") || validSecretToken("") {
		t.Fatal("validSecretToken")
	}
}
