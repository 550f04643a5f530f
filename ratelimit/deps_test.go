package ratelimit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Package ratelimit is imported by package auth, so it must stay free of
// net/http and of any driver: only the standard library and the root package.
func TestImportsOnlyStdlibAndRoot(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		switch p {
		case "github.com/gatehouse-auth/gatehouse", "github.com/gatehouse-auth/gatehouse/ratelimit":
		default:
			t.Errorf("package ratelimit depends on %s", p)
		}
	}
	out, _ = exec.Command("go", "list", "-deps", ".").Output()
	for _, p := range strings.Fields(string(out)) {
		if p == "net/http" {
			t.Error("package ratelimit depends on net/http")
		}
	}
}
