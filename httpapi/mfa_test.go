package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit/memory"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/pquerna/otp/totp"
)

// jwtAMR reads the amr claim of an access token (its signature is checked
// by every authenticated call the test makes with it).
func jwtAMR(t *testing.T, at string) []string {
	t.Helper()
	parts := strings.Split(at, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AMR []string `json:"amr"`
	}
	json.Unmarshal(raw, &c)
	return c.AMR
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// TestMFAEndToEnd runs every second-factor flow through the HTTP API on both
// stores, with TOTP codes computed by an independent implementation
// (pquerna/otp) and passkeys from a software authenticator
// (descope/virtualwebauthn): enrolment, mfa_required, verify with a TOTP
// code, a recovery code and a passkey, passwordless passkey sign-in, and
// the refusals (replayed code, replayed assertion, wrong origin, wrong rp
// id, counter backwards, spent mfa_token, PAT), then factor removal ending
// its sessions, and a canary: no secret, code or challenge in the logs, the
// audit trail or the mail.
func TestMFAEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mailDir := t.TempDir()
		e := newEnv(t, withSessions(t, db, mailDir))
		h := e.s
		const email = "mfa@example.com"
		tokens := signIn(t, h, email)
		at := str(tokens, "access_token")
		var secrets []string // every secret the canary looks for

		// TOTP: enrol, a wrong code, confirm.
		st, enr := bearerCall(t, h, "POST", "/v1/mfa/totp", at, "")
		if st != 201 || str(enr, "secret") == "" || !strings.HasPrefix(str(enr, "otpauth_uri"), "otpauth://totp/") {
			t.Fatalf("enrol: %d %v", st, enr)
		}
		secret, fid := str(enr, "secret"), str(enr, "id")
		secrets = append(secrets, secret)
		if st, b := bearerCall(t, h, "POST", "/v1/mfa/totp/"+fid+"/confirm", at, `{"code":"000000"}`); st != 401 {
			t.Fatalf("wrong confirm code: %d %v", st, b)
		}
		now := time.Now()
		code, _ := totp.GenerateCode(secret, now)
		if code == "000000" {
			t.Skip("the wrong code was right")
		}
		secrets = append(secrets, code)
		if st, b := bearerCall(t, h, "POST", "/v1/mfa/totp/"+fid+"/confirm", at, `{"code":"`+code+`"}`); st != 200 {
			t.Fatalf("confirm: %d %v", st, b)
		}

		// Password now answers mfa_required, with no session.
		login := func() string {
			t.Helper()
			st, b := bearerCall(t, h, "POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
			if st != 403 || str(b, "error") != "mfa_required" || str(b, "mfa_token") == "" || b["access_token"] != nil {
				t.Fatalf("password sign-in: %d %v", st, b)
			}
			if fs, _ := b["factors"].([]any); len(fs) == 0 {
				t.Fatalf("factors: %v", b)
			}
			secrets = append(secrets, str(b, "mfa_token"))
			return str(b, "mfa_token")
		}
		mt := login()
		// The code used to confirm is spent; a wrong one fails.
		for _, c := range []string{code, "123456"} {
			if st, b := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","code":"`+c+`"}`); st != 401 || str(b, "error") != "invalid_grant" {
				t.Fatalf("spent or wrong code %s: %d %v", c, st, b)
			}
		}
		next, _ := totp.GenerateCode(secret, now.Add(30*time.Second)) // one step of drift
		secrets = append(secrets, next)
		st, tr := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","code":"`+next+`"}`)
		if st != 200 || !slices.Equal(jwtAMR(t, str(tr, "access_token")), []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("verify: %d %v", st, tr)
		}
		at = str(tr, "access_token")
		if st, _ := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","code":"`+next+`"}`); st != 401 {
			t.Fatalf("spent mfa_token: %d", st)
		}

		// Recovery codes: 10, single use.
		st, rc := bearerCall(t, h, "POST", "/v1/mfa/recovery-codes", at, "")
		codes, _ := rc["codes"].([]any)
		if st != 201 || len(codes) != 10 {
			t.Fatalf("recovery codes: %d %v", st, rc)
		}
		for _, c := range codes {
			secrets = append(secrets, c.(string))
		}
		rcode := codes[0].(string)
		mt = login()
		if st, b := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","code":"`+rcode+`"}`); st != 200 || !slices.Contains(jwtAMR(t, str(b, "access_token")), "mfa") {
			t.Fatalf("recovery code: %d %v", st, b)
		}
		mt = login()
		if st, _ := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","code":"`+rcode+`"}`); st != 401 {
			t.Fatalf("recovery code used twice: %d", st)
		}

		// A passkey: registration.
		rp := virtualwebauthn.RelyingParty{ID: "auth.example.com", Name: "gatehouse", Origin: "https://auth.example.com"}
		st, ro := bearerCall(t, h, "POST", "/v1/webauthn/registration/options", at, "")
		if st != 200 || str(ro, "flow_id") == "" {
			t.Fatalf("registration options: %d %v", st, ro)
		}
		pk, _ := json.Marshal(ro["publicKey"])
		if !strings.Contains(string(pk), `"residentKey":"required"`) {
			t.Fatalf("options: %s", pk)
		}
		secrets = append(secrets, ro["publicKey"].(map[string]any)["challenge"].(string))
		aopts, err := virtualwebauthn.ParseAttestationOptions(string(pk))
		if err != nil {
			t.Fatal(err)
		}
		authn := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(aopts.UserID)})
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		att := virtualwebauthn.CreateAttestationResponse(rp, authn, cred, *aopts)
		authn.AddCredential(cred)
		st, pf := bearerCall(t, h, "POST", "/v1/webauthn/registration", at, `{"flow_id":"`+str(ro, "flow_id")+`","name":"laptop","credential":`+att+`}`)
		if st != 201 || str(pf, "type") != "passkey" || str(pf, "name") != "laptop" {
			t.Fatalf("register: %d %v", st, pf)
		}
		passkeyID := str(pf, "id")

		// Passwordless sign-in, and its refusals.
		assert := func(rp virtualwebauthn.RelyingParty, counter uint32) (string, string) {
			t.Helper()
			st, o := bearerCall(t, h, "POST", "/v1/auth/passkey/options", "", "")
			if st != 200 {
				t.Fatalf("passkey options: %d %v", st, o)
			}
			raw, _ := json.Marshal(o["publicKey"])
			if !strings.Contains(string(raw), `"userVerification":"required"`) {
				t.Fatalf("passkey options: %s", raw)
			}
			secrets = append(secrets, o["publicKey"].(map[string]any)["challenge"].(string))
			opts, err := virtualwebauthn.ParseAssertionOptions(string(raw))
			if err != nil {
				t.Fatal(err)
			}
			c := cred
			c.Counter = counter
			return str(o, "flow_id"), virtualwebauthn.CreateAssertionResponse(rp, authn, c, *opts)
		}
		flow, as := assert(rp, 5)
		st, ps := bearerCall(t, h, "POST", "/v1/auth/passkey", "", `{"flow_id":"`+flow+`","credential":`+as+`}`)
		if st != 200 || !slices.Equal(jwtAMR(t, str(ps, "access_token")), []string{"hwk", "mfa"}) {
			t.Fatalf("passkey sign-in: %d %v", st, ps)
		}
		passkeyRefresh := str(ps, "refresh_token")
		if st, _ := bearerCall(t, h, "POST", "/v1/auth/passkey", "", `{"flow_id":"`+flow+`","credential":`+as+`}`); st != 401 {
			t.Fatalf("replayed assertion: %d", st)
		}
		for name, c := range map[string]struct {
			rp      virtualwebauthn.RelyingParty
			counter uint32
		}{
			"wrong origin":      {virtualwebauthn.RelyingParty{ID: rp.ID, Origin: "https://evil.example.net"}, 9},
			"wrong rp id":       {virtualwebauthn.RelyingParty{ID: "evil.example.net", Origin: rp.Origin}, 9},
			"counter backwards": {rp, 3},
		} {
			flow, as := assert(c.rp, c.counter)
			if st, b := bearerCall(t, h, "POST", "/v1/auth/passkey", "", `{"flow_id":"`+flow+`","credential":`+as+`}`); st != 401 || str(b, "error") != "invalid_grant" {
				t.Fatalf("%s: %d %v", name, st, b)
			}
		}

		// A passkey as the second factor.
		mt = login()
		st, mo := bearerCall(t, h, "POST", "/v1/auth/mfa/webauthn/options", "", `{"mfa_token":"`+mt+`"}`)
		if st != 200 {
			t.Fatalf("mfa webauthn options: %d %v", st, mo)
		}
		raw, _ := json.Marshal(mo["publicKey"])
		opts, err := virtualwebauthn.ParseAssertionOptions(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		c2 := cred
		c2.Counter = 10
		as2 := virtualwebauthn.CreateAssertionResponse(rp, authn, c2, *opts)
		st, sv := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","flow_id":"`+str(mo, "flow_id")+`","credential":`+as2+`}`)
		if st != 200 || !slices.Equal(jwtAMR(t, str(sv, "access_token")), []string{"pwd", "hwk", "mfa"}) {
			t.Fatalf("passkey second factor: %d %v", st, sv)
		}

		// The factor list; removing the passkey ends its sessions.
		st, fl := bearerCall(t, h, "GET", "/v1/mfa/factors", at, "")
		if fs, _ := fl["factors"].([]any); st != 200 || len(fs) != 2 {
			t.Fatalf("factors: %d %v", st, fl)
		}
		if st, b := bearerCall(t, h, "DELETE", "/v1/mfa/factors/"+passkeyID, at, ""); st != 204 {
			t.Fatalf("remove: %d %v", st, b)
		}
		if st, _ := bearerCall(t, h, "POST", "/v1/auth/refresh", "", `{"refresh_token":"`+passkeyRefresh+`"}`); st != 401 {
			t.Fatalf("a session signed in with a removed passkey still refreshes: %d", st)
		}
		if st, _ := bearerCall(t, h, "POST", "/v1/auth/refresh", "", `{"refresh_token":"`+str(sv, "refresh_token")+`"}`); st != 401 {
			t.Fatalf("a session whose second factor was the removed passkey still refreshes: %d", st)
		}

		// Re-authentication with the password gives the same session.
		if st, b := bearerCall(t, h, "POST", "/v1/auth/reauthenticate", at, `{"password":"`+httpPassword+`"}`); st != 200 || str(b, "session_id") != str(tr, "session_id") {
			t.Fatalf("reauthenticate: %d %v", st, b)
		}

		// Canary: no secret anywhere it could leak.
		var trail strings.Builder
		err = db.Tx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
			rows, err := tx.(*sqlstore.Tx).SQL().QueryContext(context.Background(), `select type, coalesce(target, ''), details from audit_events`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var a, b, c string
				if err := rows.Scan(&a, &b, &c); err != nil {
					return err
				}
				trail.WriteString(a + " " + b + " " + c + "\n")
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range []string{"factor.added", "factor.removed", "mfa.succeeded", "mfa.failed", "recovery_codes.generated", "recovery_code.used", "reauthenticated"} {
			if !strings.Contains(trail.String(), ev+" ") {
				t.Errorf("no %s in the audit trail", ev)
			}
		}
		var mails strings.Builder
		files, _ := filepath.Glob(filepath.Join(mailDir, "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			mails.Write(b)
		}
		if !strings.Contains(mails.String(), "recovery code was just used") {
			t.Error("no mail about the recovery code")
		}
		for _, s := range secrets {
			for where, text := range map[string]string{"log": e.log.String(), "audit trail": trail.String(), "mail": mails.String()} {
				if strings.Contains(text, s) {
					t.Errorf("a secret (%d characters) is in the %s", len(s), where)
				}
			}
		}
	})
}

// TestWorkspaceRequireMFA: an owner turns require_mfa on; a person's token
// without mfa in its amr then gets 403 mfa_required on the workspace's
// paths, a PAT keeps working, and a session signed in with two factors
// passes (both stores).
func TestWorkspaceRequireMFA(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, withSessions(t, db, t.TempDir()))
		h := e.s
		const email = "owner@example.com"
		at := str(signIn(t, h, email), "access_token")
		st, ws := bearerCall(t, h, "POST", "/v1/workspaces", at, `{"name":"strict"}`)
		if st != 201 {
			t.Fatalf("workspace: %d %v", st, ws)
		}
		wid := str(ws, "id")
		st, pat := bearerCall(t, h, "POST", "/v1/tokens", at, `{"name":"ci","workspace_id":"`+wid+`"}`)
		if st != 201 {
			t.Fatalf("pat: %d %v", st, pat)
		}
		if st, b := bearerCall(t, h, "GET", "/v1/workspaces/"+wid, at, ""); st != 200 || b["require_mfa"] != false {
			t.Fatalf("GET before the policy: %d %v", st, b)
		}
		if st, b := bearerCall(t, h, "PATCH", "/v1/workspaces/"+wid, at, `{"require_mfa":true}`); st != 200 || b["require_mfa"] != true {
			t.Fatalf("patch: %d %v", st, b)
		}
		for _, path := range []string{"/v1/workspaces/" + wid, "/v1/workspaces/" + wid + "/members", "/v1/workspaces/" + wid + "/audit-events"} {
			if st, b := bearerCall(t, h, "GET", path, at, ""); st != 403 || str(b, "error") != "mfa_required" {
				t.Fatalf("GET %s with a password-only session: %d %v", path, st, b)
			}
		}
		if st, b := bearerCall(t, h, "GET", "/v1/workspaces/"+wid, str(pat, "token"), ""); st != 200 {
			t.Fatalf("the PAT: %d %v", st, b)
		}
		// With a second factor the same person passes.
		st, enr := bearerCall(t, h, "POST", "/v1/mfa/totp", at, "")
		if st != 201 {
			t.Fatalf("enrol: %d %v", st, enr)
		}
		code, _ := totp.GenerateCode(str(enr, "secret"), time.Now())
		if st, b := bearerCall(t, h, "POST", "/v1/mfa/totp/"+str(enr, "id")+"/confirm", at, `{"code":"`+code+`"}`); st != 200 {
			t.Fatalf("confirm: %d %v", st, b)
		}
		st, b := bearerCall(t, h, "POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
		if st != 403 {
			t.Fatalf("sign-in: %d %v", st, b)
		}
		next, _ := totp.GenerateCode(str(enr, "secret"), time.Now().Add(30*time.Second))
		st, tr := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+str(b, "mfa_token")+`","code":"`+next+`"}`)
		if st != 200 {
			t.Fatalf("verify: %d %v", st, tr)
		}
		if st, b := bearerCall(t, h, "GET", "/v1/workspaces/"+wid, str(tr, "access_token"), ""); st != 200 || b["require_mfa"] != true {
			t.Fatalf("GET with two factors: %d %v", st, b)
		}
		if st, b := bearerCall(t, h, "GET", "/v1/workspaces/"+wid+"/audit-events", str(tr, "access_token"), ""); st != 200 || !strings.Contains(func() string { r, _ := json.Marshal(b); return string(r) }(), "workspace.require_mfa_changed") {
			t.Fatalf("audit: %d %v", st, b)
		}
	})
}

// TestWrongSecondFactorsCountAsFailedAuth: each wrong code is a failed
// authentication for the account (the same key as its password) and the
// IP; past the account's ceiling even the right code is not looked at (429),
// and the mfa_token is not spent by it (both stores).
func TestWrongSecondFactorsCountAsFailedAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := limitEnv(t, memory.New(memory.Options{}), "failed_auth.account=3/15m", withSessions(t, db, t.TempDir()))
		h := e.s
		const email = "guess@example.com"
		at := str(signIn(t, h, email), "access_token")
		st, enr := bearerCall(t, h, "POST", "/v1/mfa/totp", at, "")
		if st != 201 {
			t.Fatalf("enrol: %d %v", st, enr)
		}
		secret := str(enr, "secret")
		code, _ := totp.GenerateCode(secret, time.Now())
		if st, b := bearerCall(t, h, "POST", "/v1/mfa/totp/"+str(enr, "id")+"/confirm", at, `{"code":"`+code+`"}`); st != 200 {
			t.Fatalf("confirm: %d %v", st, b)
		}
		st, b := bearerCall(t, h, "POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
		if st != 403 {
			t.Fatalf("sign-in: %d %v", st, b)
		}
		mt := str(b, "mfa_token")
		next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		wrong := "000000"
		if next == wrong || code == wrong {
			wrong = "999999"
		}
		for i := range 3 {
			if st, b := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","code":"`+wrong+`"}`); st != 401 {
				t.Fatalf("wrong code %d: %d %v", i, st, b)
			}
		}
		if st, b := bearerCall(t, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mt+`","code":"`+next+`"}`); st != 429 {
			t.Fatalf("the right code past the ceiling: %d %v", st, b)
		}
		if st, b := bearerCall(t, h, "POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`); st != 429 {
			t.Fatalf("the password past the ceiling: %d %v", st, b)
		}
	})
}
