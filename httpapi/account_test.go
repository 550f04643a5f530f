package httpapi

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

func init() {
	noSecretRoutes["POST /v1/auth/password-reset"] = "no secret is checked; password_reset.email is applied by the guard, and never refuses (TestPasswordResetNeverRefusesPerAddress)"
}

// verificationRequired turns GATEHOUSE_EMAIL_VERIFICATION=required on for
// the sessions withSessions built (it must come after it).
func verificationRequired(_ *Config, d *Deps) { d.Sessions.Core.EmailVerification = true }

// mailedToken returns the token of the last link to page in dir.
func mailedToken(t *testing.T, dir, page string) string {
	t.Helper()
	re := regexp.MustCompile(`/` + page + `\?token=([A-Za-z0-9_-]{43})`)
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for i := len(files) - 1; i >= 0; i-- {
		b, _ := os.ReadFile(files[i])
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	t.Fatalf("no %s link in %s", page, dir)
	return ""
}

func TestAccountRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mailDir := t.TempDir()
		e := newEnv(t, withSessions(t, db, mailDir), verificationRequired)
		h := e.s
		body := `{"email":"kim@example.com","password":"` + httpPassword + `"}`
		// New, unverified and (below) verified addresses: the same 202.
		for i := 0; i < 2; i++ {
			code, out := call(t, h, "POST", "/v1/auth/signup", "", body)
			if code != 202 || out["status"] != "verification_sent" || len(out) != 1 {
				t.Fatalf("signup %d: %d %v", i, code, out)
			}
		}
		code, out := call(t, h, "POST", "/v1/auth/token", "", body)
		if code != 403 || out["error"] != "email_unverified" {
			t.Fatalf("token before verification: %d %v", code, out)
		}
		code, tokens := call(t, h, "POST", "/v1/auth/verify-email", "", `{"token":"`+mailedToken(t, mailDir, "verify-email")+`"}`)
		if code != 200 || tokens["access_token"] == nil {
			t.Fatalf("verify-email: %d %v", code, tokens)
		}
		if code, out := call(t, h, "POST", "/v1/auth/signup", "", body); code != 202 || out["status"] != "verification_sent" || len(out) != 1 {
			t.Fatalf("signup of a verified address: %d %v", code, out)
		}
		at := tokens["access_token"].(string)
		// A wrong current password: 401 invalid_grant; a right one: 204.
		if code, out := bearerCall(t, h, "POST", "/v1/me/password", at, `{"current_password":"not it at all, no","new_password":"another long passphrase here"}`); code != 401 || out["error"] != "invalid_grant" {
			t.Fatalf("wrong current password: %d %v", code, out)
		}
		if code, out := bearerCall(t, h, "POST", "/v1/me/password", at, `{"current_password":"`+httpPassword+`","new_password":"another long passphrase here"}`); code != 204 {
			t.Fatalf("change password: %d %v", code, out)
		}
		if code, _ := bearerCall(t, h, "POST", "/v1/me/email", at, `{"email":"kim.new@example.com"}`); code != 202 {
			t.Fatalf("change email: %d", code)
		}
		if code, out := call(t, h, "POST", "/v1/auth/confirm-email", "", `{"token":"`+mailedToken(t, mailDir, "confirm-email")+`"}`); code != 204 {
			t.Fatalf("confirm-email: %d %v", code, out)
		}
		// Not an admin.
		if code, out := bearerCall(t, h, "GET", "/v1/admin/users?query=kim", at, ""); code != 403 {
			t.Fatalf("admin users as a non-admin: %d %v", code, out)
		}
		if code, out := bearerCall(t, h, "DELETE", "/v1/me", at, ""); code != 204 {
			t.Fatalf("delete me: %d %v", code, out)
		}
		if code, out := call(t, h, "POST", "/v1/auth/token", "", `{"email":"kim.new@example.com","password":"another long passphrase here"}`); code != 401 {
			t.Fatalf("sign-in after deletion: %d %v", code, out)
		}
		// Reset of an address without an account: the same 202.
		a, b := `{"email":"nobody@example.com"}`, `{"email":"kim@example.com"}`
		c1, o1 := call(t, h, "POST", "/v1/auth/password-reset", "", a)
		c2, o2 := call(t, h, "POST", "/v1/auth/password-reset", "", b)
		if c1 != 202 || c2 != 202 || o1["message"] != o2["message"] {
			t.Fatalf("password-reset: %d %v / %d %v", c1, o1, c2, o2)
		}
	})
}

// TestPasswordResetNeverRefusesPerAddress: past password_reset.email the
// answer stays 202 and nothing more is sent.
func TestPasswordResetNeverRefusesPerAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mailDir := t.TempDir()
		e := limitEnv(t, memory.New(memory.Options{}), "password_reset.email=1/1h", withSessions(t, db, mailDir))
		signIn(t, e.s, "lee@example.com")
		before, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
		for i := 0; i < 3; i++ {
			if code, out := call(t, e.s, "POST", "/v1/auth/password-reset", "", `{"email":"lee@example.com"}`); code != 202 {
				t.Fatalf("reset %d: %d %v", i, code, out)
			}
		}
		after, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
		if len(after)-len(before) != 1 {
			t.Fatalf("mails sent: %d, want 1", len(after)-len(before))
		}
	})
}
