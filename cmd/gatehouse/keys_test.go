package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func jwksKids(t *testing.T, base string) ([]string, http.Header) {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("JWKS %d %s: %v", resp.StatusCode, b, err)
	}
	var kids []string
	for _, k := range doc.Keys {
		if _, ok := k["d"]; ok {
			t.Fatal("private member in the JWKS")
		}
		if k["alg"] == "EdDSA" { // the access-token family; RS256 rotates beside it
			kids = append(kids, k["kid"].(string))
		} else if k["alg"] != "RS256" {
			t.Fatalf("a key of a family the server does not have: %v", k)
		}
	}
	return kids, resp.Header
}

// keysCLI runs `gatehouse keys …` against the same --dev data directory.
func keysCLI(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"keys"}, args...), envOf(map[string]string{}), &out, &errb); err != nil {
		t.Fatalf("keys %v: %v\n%s", args, err, errb.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("keys %v printed %q: %v", args, out.String(), err)
	}
	return v
}

// waitJWKS polls the running server's JWKS until ok holds, for at most the
// 5 seconds docs/reference.md §7 allows.
func waitJWKS(t *testing.T, base string, what string, ok func(kids []string) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		kids, _ := jwksKids(t, base)
		if ok(kids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the running server's JWKS is %v after 5 s", what, kids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func has(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestKeysCLIReachesRunningServer: `keys rotate`, `keys rotate --now` and
// `keys revoke` change what a running server publishes within 5 seconds
// (followed here for the EdDSA family; jwksKids lists only it).
func TestKeysCLIReachesRunningServer(t *testing.T) {
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{}, "--dev")
	kids, hdr := jwksKids(t, r.base)
	if len(kids) != 1 || hdr.Get("Cache-Control") != "public, max-age=3600" || hdr.Get("ETag") == "" {
		t.Fatalf("fresh server JWKS %v, headers %v", kids, hdr)
	}
	first := kids[0]

	next := keysCLI(t, "rotate", "--dev")
	nextKID, _ := next["kid"].(string)
	if next["status"] != "next" || nextKID == "" {
		t.Fatalf("keys rotate: %v", next)
	}
	waitJWKS(t, r.base, "published ahead", func(k []string) bool { return has(k, first) && has(k, nextKID) })

	if now := keysCLI(t, "rotate", "--now", "--dev"); now["kid"] != nextKID || now["status"] != "active" {
		t.Fatalf("keys rotate --now: %v", now)
	}
	list := keysCLI(t, "list", "--dev")
	raw, _ := json.Marshal(list)
	if !strings.Contains(string(raw), `"status":"retired"`) || !strings.Contains(string(raw), `"status":"active"`) {
		t.Fatalf("keys list: %s", raw)
	}

	keysCLI(t, "revoke", "--dev", first)
	waitJWKS(t, r.base, "revocation", func(k []string) bool { return !has(k, first) && has(k, nextKID) })

	var errb bytes.Buffer
	if err := run(context.Background(), []string{"keys", "revoke", "--dev", "no-such-kid"}, envOf(map[string]string{}), io.Discard, &errb); err == nil {
		t.Fatal("revoking an unknown kid succeeded")
	}
	if err := run(context.Background(), []string{"keys", "spin"}, envOf(map[string]string{}), io.Discard, &errb); err == nil {
		t.Fatal("unknown keys subcommand accepted")
	}
}

// TestKIDLast: a KID may begin with '-' (base64url), in any position
// relative to --dev, and is never taken for a flag.
func TestKIDLast(t *testing.T) {
	for _, args := range [][]string{
		{"--dev", "-40NV8DWL-EtbFRefUYXG447h0-8nUd_Mk1VDlyVN-A"},
		{"-40NV8DWL-EtbFRefUYXG447h0-8nUd_Mk1VDlyVN-A", "--dev"},
		{"--dev", "--", "-40NV8DWL-EtbFRefUYXG447h0-8nUd_Mk1VDlyVN-A"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		dev := fs.Bool("dev", false, "")
		if err := fs.Parse(kidLast("revoke", args)); err != nil || !*dev || fs.NArg() != 1 || fs.Arg(0) != "-40NV8DWL-EtbFRefUYXG447h0-8nUd_Mk1VDlyVN-A" {
			t.Errorf("%q: err %v, dev %v, args %q", args, err, *dev, fs.Args())
		}
	}
	if got := kidLast("rotate", []string{"--now"}); len(got) != 1 {
		t.Errorf("rotate's arguments changed: %q", got)
	}
}
