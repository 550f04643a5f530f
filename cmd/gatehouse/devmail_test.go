package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevMailOnlyUnderDev: serve --dev lists the mail it wrote at /dev/mail,
// with the portal's CSP and links to each message; serve without --dev
// answers 404 there.
func TestDevMailOnlyUnderDev(t *testing.T) {
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{}, "--dev")
	if !strings.Contains(r.stderr.String(), `"portal":"http://`) {
		t.Errorf("the start log names no portal URL:\n%s", r.stderr)
	}
	resp, err := http.Post(r.base+"/v1/auth/signup", "application/json", strings.NewReader(`{"email":"dev@example.com","password":"a long passphrase nobody else has"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitForPageLink(t, "gatehouse-data/mail", "verify-email")
	resp, body := r.get(t, "/dev/mail")
	if resp.StatusCode != 200 || !strings.Contains(body, "Confirm your email address") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("/dev/mail: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), body)
	}
	i := strings.Index(body, `href="/dev/mail/`)
	if i < 0 {
		t.Fatalf("no link to the message: %s", body)
	}
	href := body[i+6 : i+6+strings.IndexByte(body[i+6:], '"')]
	resp, body = r.get(t, href)
	if resp.StatusCode != 200 || !strings.Contains(body, "/verify-email?token=") {
		t.Fatalf("%s: %d %s", href, resp.StatusCode, body)
	}
	if resp, _ := r.get(t, "/dev/mail/..%2fsecret"); resp.StatusCode != 404 {
		t.Errorf("a path outside the mail directory: %d", resp.StatusCode)
	}

	env := prodEnv()
	env["GATEHOUSE_PUBLIC_URL"] = "http://127.0.0.1:8080"
	env["GATEHOUSE_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "g.db")
	env["GATEHOUSE_MAIL_DIR"] = t.TempDir()
	if err := run(context.Background(), []string{"migrate"}, envOf(env), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	prod := start(t, env)
	if resp, _ := prod.get(t, "/dev/mail"); resp.StatusCode != 404 {
		t.Fatalf("/dev/mail without --dev: %d", resp.StatusCode)
	}
}
