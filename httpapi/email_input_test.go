package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// storedAudit returns every stored audit event of type typ, as JSON.
func storedAudit(t *testing.T, db *sqlstore.DB, typ gatehouse.EventType) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := db.Read(ctx, gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
		evs, err := tx.AuditEvents(ctx, gatehouse.AuditFilter{Type: typ, Limit: gatehouse.MaxAuditPage})
		for _, ev := range evs {
			b, _ := json.Marshal(ev)
			out = append(out, string(b))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPasswordTypedAsEmailLeavesNoTrace: a sign-in with a password typed
// into the email field fails, and neither the stored login.failed event nor
// any log line holds any part of what was typed, with an @ in it or not
// (only the domain of a well-formed address may be kept, and these have
// none).
func TestPasswordTypedAsEmailLeavesNoTrace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()))
		signIn(t, e.s, "jane@example.com")
		typed := []string{"Zq7Hunter2@xyzzyPlugh9!", "Wibble Wobble Quux42", "Frobnitz88@@Grault77", "Garply5@Waldo3.Fred8"}
		for _, v := range typed {
			body, _ := json.Marshal(map[string]string{"email": v, "password": httpPassword})
			code, resp := call(t, e.s, "POST", "/v1/auth/token", "", string(body))
			if code != 401 || resp["error"] != "invalid_grant" {
				t.Fatalf("sign-in with %q as email: %d %v", v, code, resp)
			}
		}
		rows := storedAudit(t, db, gatehouse.EventLoginFailed)
		if len(rows) < len(typed) {
			t.Fatalf("%d login.failed events stored, want %d", len(rows), len(typed))
		}
		logs := e.log.String()
		if !strings.Contains(logs, `"audit_event":"login.failed"`) {
			t.Fatalf("no login.failed log line: %.400s", logs)
		}
		lowLogs := strings.ToLower(logs)
		for _, v := range typed {
			// Every five letters or digits in a row of the value, in any case.
			for _, part := range strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				for i := 0; i+5 <= len(part); i++ {
					piece := strings.ToLower(part[i : i+5])
					for _, row := range rows {
						if strings.Contains(strings.ToLower(row), piece) {
							t.Errorf("stored event holds %q of %q: %s", piece, v, row)
						}
					}
					if strings.Contains(lowLogs, piece) {
						t.Errorf("log holds %q of %q", piece, v)
					}
				}
			}
		}
		for _, row := range rows {
			var ev gatehouse.AuditEvent
			json.Unmarshal([]byte(row), &ev)
			if ev.Details["email"] != gatehouse.MaskedEmail {
				t.Errorf("email detail %q, want %q", ev.Details["email"], gatehouse.MaskedEmail)
			}
		}
	})
}

// TestLookAlikeAddressIsNoSecondAccount: an address that reads as a taken
// one but holds an invisible, bidirectional-control or replacement
// character is refused with 400 at signup, and no second account exists.
func TestLookAlikeAddressIsNoSecondAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()))
		signIn(t, e.s, "ada@example.com")
		for _, addr := range []string{
			"ada\u200b@example.com", "ada\u200d@example.com", "\u200eada@example.com", "ada@example.com\u200f",
			"\u202eada@example.com", "ada\u202a@example.com", "ada\u2066@example.com", "ada@exam\u2069ple.com",
			"\ufeffada@example.com", "ada\ufffd@example.com", "ada\u2060@example.com", "ada\u00ad@example.com",
			"ada\U000e0041@example.com",
		} {
			body, _ := json.Marshal(map[string]string{"email": addr, "password": httpPassword})
			for _, path := range []string{"/v1/auth/signup", "/v1/auth/token", "/v1/auth/magic-link"} {
				in := string(body)
				if path == "/v1/auth/magic-link" {
					b, _ := json.Marshal(map[string]string{"email": addr})
					in = string(b)
				}
				code, resp := call(t, e.s, "POST", path, "", in)
				if code != 400 || resp["error"] != "invalid_request" {
					t.Errorf("%s as %+q: %d %v", path, addr, code, resp)
				}
			}
		}
		// Invalid UTF-8 in the body reaches the handler as U+FFFD.
		code, resp := call(t, e.s, "POST", "/v1/auth/signup", "", "{\"email\":\"ada\xff@example.com\",\"password\":\""+httpPassword+"\"}")
		if code != 400 {
			t.Errorf("signup with invalid UTF-8: %d %v", code, resp)
		}
		if n := len(storedAudit(t, db, gatehouse.EventSignup)); n != 1 {
			t.Fatalf("%d signup events, want 1", n)
		}
	})
}
