package httpapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// BenchmarkSecondFactorSignIn measures, in one run on SQLite and through the
// HTTP handlers, what a TOTP second factor adds to a password sign-in: a
// password sign-in of an account without factors ÷ the two requests of an
// account with a confirmed TOTP factor (POST /v1/auth/token → 403
// mfa_required, POST /v1/auth/mfa/verify → 200), alternating, each timed
// alone. A TOTP code is accepted once per step, so every iteration signs in
// a fresh account enrolled outside the timed part.
func BenchmarkSecondFactorSignIn(b *testing.B) {
	e := newEnv(b, withSessions(b, testdb.SQLite(b), b.TempDir()))
	h := e.s
	signIn(b, h, "plain@example.com")
	var pwd, mfa time.Duration
	n := 0
	for b.Loop() {
		email := fmt.Sprintf("mfa%d@example.com", n)
		at := signIn(b, h, email)["access_token"].(string)
		_, enr := bearerCall(b, h, "POST", "/v1/mfa/totp", at, "")
		secret, id := enr["secret"].(string), enr["id"].(string)
		code, _ := totp.GenerateCode(secret, time.Now())
		if st, body := bearerCall(b, h, "POST", "/v1/mfa/totp/"+id+"/confirm", at, `{"code":"`+code+`"}`); st != 200 {
			b.Fatalf("confirm: %d %v", st, body)
		}
		next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // the confirming code is spent

		start := time.Now()
		if st, body := bearerCall(b, h, "POST", "/v1/auth/token", "", `{"email":"plain@example.com","password":"`+httpPassword+`"}`); st != 200 {
			b.Fatalf("password sign-in: %d %v", st, body)
		}
		pwd += time.Since(start)

		start = time.Now()
		st, body := bearerCall(b, h, "POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+httpPassword+`"}`)
		if st != 403 {
			b.Fatalf("first factor: %d %v", st, body)
		}
		if st, body := bearerCall(b, h, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+body["mfa_token"].(string)+`","code":"`+next+`"}`); st != 200 {
			b.Fatalf("second factor: %d %v", st, body)
		}
		mfa += time.Since(start)
		n++
	}
	b.ReportMetric(float64(pwd.Microseconds())/float64(n), "µs-password/op")
	b.ReportMetric(float64(mfa.Microseconds())/float64(n), "µs-password+totp/op")
	b.ReportMetric(float64((mfa-pwd).Microseconds())/float64(n), "µs-added/op")
	b.ReportMetric(mfa.Seconds()/pwd.Seconds(), "totp/password")
}
