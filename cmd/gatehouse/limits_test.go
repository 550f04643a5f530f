package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/ratelimit/redis/redistest"
	"github.com/gatehouse-auth/gatehouse/sqlite"
)

func signIn(t *testing.T, base, email string) int {
	t.Helper()
	resp, err := http.Post(base+"/v1/auth/token", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"not the password, not at all"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func limitsReset(t *testing.T, env map[string]string, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"limits", "reset", "--dev"}, args...), envOf(env), &out, &errb); err != nil {
		t.Fatalf("limits reset %v: %v\n%s", args, err, errb.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("limits reset printed %q: %v", out.String(), err)
	}
	return v
}

// TestLimitsReset: against the shared Redis, an email blocked by failed
// sign-ins is unblocked by `limits reset --email` (in any letter case), and
// an address blocked by failures over many accounts by `limits reset --ip`;
// each reset is in the audit trail.
func TestLimitsReset(t *testing.T) {
	redistest.Open(t) // skips without Redis
	t.Chdir(t.TempDir())
	var b [6]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	env := map[string]string{
		"GATEHOUSE_REDIS_URL": redistest.URL(),
		envRateLimits:         "token.ip=1000/1m, token.account=1000/1m, failed_auth.account=3/10m, failed_auth.ip=6/10m",
	}
	srvEnv := map[string]string{}
	for k, v := range env {
		srvEnv[k] = v
	}
	r := start(t, srvEnv, "--dev")
	// This address's counter is shared by every test that signs in from it
	// through the production key prefix: start from zero.
	limitsReset(t, env, "--ip", "127.0.0.1")

	email := "locked-" + id + "@example.com"
	for i := 0; i < 3; i++ {
		if c := signIn(t, r.base, email); c != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, c)
		}
	}
	if c := signIn(t, r.base, email); c != http.StatusTooManyRequests {
		t.Fatalf("after 3 failures: %d, want 429", c)
	}
	out := limitsReset(t, env, "--email", "  LOCKED-"+id+"@Example.com ")
	if e, _ := out["email"].(map[string]any); out["reset"] != true || e["was_blocked"] != true || e["address"] != email {
		t.Fatalf("limits reset --email printed %v", out)
	}
	if c := signIn(t, r.base, email); c != http.StatusUnauthorized {
		t.Fatalf("after limits reset --email: %d, want 401 (no longer blocked)", c)
	}

	// The address: failures over several accounts reach failed_auth.ip.
	blocked := false
	for i := 0; i < 10 && !blocked; i++ {
		blocked = signIn(t, r.base, "other-"+id+"-"+string(rune('a'+i))+"@example.com") == http.StatusTooManyRequests
	}
	if !blocked {
		t.Fatal("failed_auth.ip never reached")
	}
	out = limitsReset(t, env, "--ip", "::ffff:127.0.0.1") // the same address, IPv4-mapped
	if ip, _ := out["ip"].(map[string]any); ip["key"] != "127.0.0.1" || ip["was_blocked"] != true {
		t.Fatalf("limits reset --ip printed %v", out)
	}
	if c := signIn(t, r.base, "fresh-"+id+"@example.com"); c != http.StatusUnauthorized {
		t.Fatalf("after limits reset --ip: %d, want 401", c)
	}

	// Each reset is recorded, actor system, no address in it.
	db, err := sqlite.Open(context.Background(), "gatehouse-data/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	err = db.Tx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{Limit: gatehouse.MaxAuditPage})
		for _, e := range evs {
			if e.Type != gatehouse.EventFailedAuthReset {
				continue
			}
			n++
			if e.Actor != "system" || strings.Contains(e.Target, "@") || strings.Contains(strings.Join(mapValues(e.Details), " "), "@") {
				t.Errorf("event %+v", e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d failed_auth.reset events, want 3", n)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestLimitsResetInMemory: without Redis there is nothing shared to reset;
// the command says so and fails.
func TestLimitsResetInMemory(t *testing.T) {
	t.Chdir(t.TempDir())
	err := run(context.Background(), []string{"limits", "reset", "--dev", "--email", "a@example.com"}, envOf(map[string]string{}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_REDIS_URL is not set") || !strings.Contains(err.Error(), "nothing shared to reset") {
		t.Fatalf("err = %v", err)
	}
	for _, args := range [][]string{{"limits"}, {"limits", "reset"}, {"limits", "reset", "--ip", "nonsense"}, {"limits", "clear"}} {
		if err := run(context.Background(), args, envOf(nil), io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Fatalf("%v: %v, want a usage error", args, err)
		}
	}
}
