package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProvidersCommand drives `gatehouse providers create|list|delete`
// against the --dev data directory: the secret comes from standard input,
// is stored only sealed and never printed; issuers must be https except on
// loopback; the running server lists the providers publicly.
func TestProvidersCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	const secret = "upstream-client-secret-0123456789"
	if _, err := admin1(t, secret+"\n", "providers", "create", "--dev", "--name", "Acme", "--issuer", "http://acme.example.com",
		"--client-id", "cid", "--client-secret-stdin"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("a plain-http issuer off loopback: %v", err)
	}
	if _, err := admin1(t, "", "providers", "create", "--dev", "--name", "Acme", "--issuer", "https://id.example.com",
		"--client-id", "cid", "--client-secret-stdin"); err == nil {
		t.Fatal("no secret on standard input was accepted")
	}
	if _, err := admin1(t, secret+"\n", "providers", "create", "--dev", "--name", "Acme", "--issuer", "https://id.example.com",
		"--client-id", "cid"); err == nil {
		t.Fatal("create without --client-secret-stdin was accepted")
	}
	p, err := admin1(t, secret+"\n", "providers", "create", "--dev", "--name", "Acme", "--issuer", "http://127.0.0.1:9/",
		"--client-id", "cid", "--client-secret-stdin", "--scope", "email")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := p["id"].(string)
	if id == "" || p["name"] != "Acme" || !strings.HasSuffix(p["redirect_uri"].(string), "/v1/auth/providers/"+id+"/callback") {
		t.Fatalf("created: %v", p)
	}
	gh, err := admin1(t, "gh-secret\n", "providers", "create", "--dev", "--name", "GitHub", "--kind", "github", "--client-id", "ghid", "--client-secret-stdin")
	if err != nil || gh["kind"] != "github" || gh["issuer"] != "https://github.com" {
		t.Fatalf("github: %v %v", gh, err)
	}
	var out, errb bytes.Buffer
	if err := runIO(t.Context(), []string{"providers", "list", "--dev"}, envOf(map[string]string{}), strings.NewReader(""), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), id) || strings.Contains(out.String(), secret) {
		t.Fatalf("list: %s", out.String())
	}
	db, err := os.ReadFile(filepath.Join("gatehouse-data", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join("gatehouse-data", "gatehouse.db-wal"))
	if bytes.Contains(append(db, wal...), []byte(secret)) {
		t.Fatal("the client secret is stored in clear")
	}

	r := start(t, map[string]string{}, "--dev")
	_, list := call(t, "GET", r.base+"/v1/auth/providers", "")
	if ps, _ := list["providers"].([]any); len(ps) != 2 {
		t.Fatalf("GET /v1/auth/providers: %v", list)
	}

	if d, err := admin1(t, "", "providers", "delete", "--dev", id); err != nil || d["deleted"] != true {
		t.Fatalf("delete: %v %v", d, err)
	}
	if _, err := admin1(t, "", "providers", "delete", "--dev", id); err == nil {
		t.Fatal("deleting twice succeeded")
	}
}
