package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// BenchmarkOIDC measures, in one run on SQLite, what OpenID Connect adds:
//
//   - ExchangeRatio: the authorization-code exchange (POST
//     /v1/oauth/token) with scope openid (an id_token signed with the
//     client's RS256 key, at_hash) ÷ the same exchange without openid,
//     alternating, each timed alone (the authorization before it is not);
//   - UserinfoRatio: GET /v1/oauth/userinfo ÷ a bare handler behind the
//     same rate limit and Bearer check that answers {"sub"} from the token
//     alone (userinfo adds one read of the person).
func BenchmarkOIDC(b *testing.B) {
	rp := newOIDCRP(b, testdb.SQLite(b))

	b.Run("ExchangeRatio", func(b *testing.B) {
		var with, without time.Duration
		n := 0
		for b.Loop() {
			for _, scope := range []string{"openid", "profile:read"} {
				code := rp.code(b, scope)
				body := "grant_type=authorization_code&client_id=" + rp.clientID + "&redirect_uri=" + url.QueryEscape(rpCallback) +
					"&code=" + code + "&code_verifier=" + rp.verifier
				start := time.Now()
				w := form(rp.e.s, "/v1/oauth/token", body)
				d := time.Since(start)
				if w.Code != 200 {
					b.Fatalf("exchange: %d %s", w.Code, w.Body)
				}
				if scope == "openid" {
					with += d
				} else {
					without += d
				}
			}
			n++
		}
		b.ReportMetric(float64(with.Microseconds())/float64(n), "µs-openid/op")
		b.ReportMetric(float64(without.Microseconds())/float64(n), "µs-plain/op")
		b.ReportMetric(with.Seconds()/without.Seconds(), "openid/plain")
	})

	b.Run("UserinfoRatio", func(b *testing.B) {
		at := rp.tokens(b, "openid email")["access_token"].(string)
		s := rp.e.s
		userinfo := s.limit(s.requireAuth(s.handle(s.userinfo)), ratelimit.UserInfoIP)
		bare := s.limit(s.requireAuth(s.handle(func(w http.ResponseWriter, r *http.Request) error {
			return writeJSON(w, http.StatusOK, map[string]string{"sub": gatehouse.PrincipalFromContext(r.Context()).UserID})
		})), ratelimit.UserInfoIP)
		call := func(h http.Handler) time.Duration {
			r := httptest.NewRequest("GET", "/v1/oauth/userinfo", nil)
			r.Header.Set("Authorization", "Bearer "+at)
			w := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(w, r)
			d := time.Since(start)
			if w.Code != 200 {
				b.Fatalf("userinfo: %d %s", w.Code, w.Body)
			}
			return d
		}
		var ui, bh time.Duration
		n := 0
		for b.Loop() {
			ui += call(userinfo)
			bh += call(bare)
			n++
		}
		b.ReportMetric(float64(ui.Nanoseconds())/float64(n), "ns-userinfo/op")
		b.ReportMetric(float64(bh.Nanoseconds())/float64(n), "ns-bare/op")
		b.ReportMetric(ui.Seconds()/bh.Seconds(), "userinfo/bare")
	})
}
