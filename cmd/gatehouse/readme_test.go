package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEFirstSteps runs the README's "First steps" shell block as
// written, against a `serve --dev` in a temporary directory, with the real
// binary on PATH: the commands a newcomer copies must work.
func TestREADMEFirstSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"sh", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	pkg, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(pkg, "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- first-steps -->\n```sh\n")
	if !ok {
		t.Fatal("README.md has no first-steps shell block")
	}
	script, _, ok := strings.Cut(rest, "\n```")
	if !ok {
		t.Fatal("the first-steps block does not end")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "gatehouse"), ".")
	build.Dir = pkg
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	dir := t.TempDir()
	t.Chdir(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := start(t, map[string]string{"GATEHOUSE_ADDR": addr}, "--dev")
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", r.base)

	cmd := exec.Command("sh", "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the first steps failed: %v\n%s\nserver log:\n%s", err, out, r.stderr)
	}
	for _, want := range []string{`"email":"me@example.com"`, `"access_token":"`, `"token_type":"Bearer"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}
