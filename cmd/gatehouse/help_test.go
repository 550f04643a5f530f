package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestHelpListsEveryFlag: each command's --help, and the top-level usage,
// name every flag the command takes; --help is not an error for main (exit
// 0).
func TestHelpListsEveryFlag(t *testing.T) {
	commands := map[string][]string{
		"serve":               {"dev", "addr"},
		"migrate":             {"app-role"},
		"users create":        {"dev", "email", "password-stdin"},
		"users set-status":    {"dev", "email", "status", "reason"},
		"users set-admin":     {"dev", "email", "off"},
		"clients create":      {"dev", "workspace", "name", "grant", "scope", "redirect-uri", "public"},
		"keys list":           {"dev"},
		"keys rotate":         {"dev", "now"},
		"keys revoke":         {"dev"},
		"sessions revoke-all": {"dev"},
		"limits reset":        {"dev", "email", "ip"},
	}
	var top bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, envOf(nil), &top, &top); err != nil {
		t.Fatal(err)
	}
	for cmd, flags := range commands {
		var out bytes.Buffer
		err := run(context.Background(), append(strings.Fields(cmd), "--help"), envOf(nil), &out, &out)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s --help: %v, want flag.ErrHelp", cmd, err)
		}
		for _, f := range flags {
			if !strings.Contains(out.String(), "-"+f+" ") && !strings.Contains(out.String(), "-"+f+"\n") {
				t.Errorf("%s --help does not list -%s:\n%s", cmd, f, out.String())
			}
			if f != "dev" && !strings.Contains(top.String(), "--"+f) {
				t.Errorf("gatehouse --help does not show %s --%s", cmd, f)
			}
		}
		if !strings.Contains(out.String(), "usage: gatehouse "+strings.Fields(cmd)[0]) {
			t.Errorf("%s --help has no usage line:\n%s", cmd, out.String())
		}
	}
	code, _, stderr := runMain(t, "serve --help", nil)
	if code != 0 || !strings.Contains(stderr, "-addr") {
		t.Fatalf("serve --help in main: exit %d, %q", code, stderr)
	}
}

// TestFlagErrorsNameTheFlag: a bad --addr is reported against the flag,
// not only the variable it stands for.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	t.Chdir(t.TempDir())
	err := run(context.Background(), []string{"serve", "--dev", "--addr", "8081"}, envOf(map[string]string{}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "--addr (GATEHOUSE_ADDR): ") {
		t.Fatalf("serve --addr 8081: %v", err)
	}
	err = run(context.Background(), []string{"serve", "--dev"}, envOf(map[string]string{"GATEHOUSE_ADDR": "8081"}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_ADDR: ") {
		t.Fatalf("GATEHOUSE_ADDR=8081: %v", err)
	}
}

// TestNoPublicURLSuggestsDev: serve without --dev and without a public URL
// says what to set, and that --dev is the way for local work.
func TestNoPublicURLSuggestsDev(t *testing.T) {
	env := prodEnv()
	delete(env, "GATEHOUSE_PUBLIC_URL")
	code, _, stderr := runMain(t, "serve", env)
	if code == 0 || !strings.Contains(stderr, "GATEHOUSE_PUBLIC_URL") || !strings.Contains(stderr, "serve --dev") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}
