package httpapi

import (
	"context"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/pquerna/otp/totp"
)

// fedAccessToken turns a callback's session cookies into an access token
// (a refresh in cookie mode).
func (e *fedEnv) fedAccessToken(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	jar := map[string]string{}
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge > 0 {
			jar[ck.Name] = ck.Value
		}
	}
	b := &browserClient{t: t, h: e.s, origin: "https://auth.example.com", jar: jar}
	a := b.do("POST", "/v1/auth/refresh", "application/json", "{}", map[string]string{"X-CSRF-Token": jar[HostCSRFCookie]})
	if a.code != 200 {
		t.Fatalf("refresh after federated sign-in: %d %v", a.code, a.body)
	}
	return a.body["access_token"].(string)
}

// TestFederatedSignInAsksForSecondFactor: an account with an active second
// factor that signs in with a provider gets no session from the callback
// but a 302 to return_to whose fragment (never a query) holds
// error=mfa_required, the mfa_token and the factor types; the token and a
// TOTP code then finish the sign-in with amr fed, otp, mfa (both stores).
func TestFederatedSignInAsksForSecondFactor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		fl := e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-mia", "mia@example.org", true)
		at := e.fedAccessToken(t, e.finish(fl, fl.cookie))

		st, enr := bearerCall(t, e.s, "POST", "/v1/mfa/totp", at, "")
		if st != 201 {
			t.Fatalf("enrol: %d %v", st, enr)
		}
		now := time.Now()
		code, _ := totp.GenerateCode(str(enr, "secret"), now)
		if st, b := bearerCall(t, e.s, "POST", "/v1/mfa/totp/"+str(enr, "id")+"/confirm", at, `{"code":"`+code+`"}`); st != 200 {
			t.Fatalf("confirm: %d %v", st, b)
		}

		const back = "https://auth.example.com/after?x=1#old"
		fl = e.start(t, pid, back)
		fl.callback = e.op.authorize(fl.authURL, "sub-mia", "mia@example.org", true)
		w := e.finish(fl, fl.cookie)
		loc := w.Header().Get("Location")
		if w.Code != 302 || !strings.HasPrefix(loc, "https://auth.example.com/after?x=1#") || strings.Contains(loc, "old") {
			t.Fatalf("callback of an account with a second factor: %d %q %s", w.Code, loc, w.Body.String())
		}
		for _, ck := range w.Result().Cookies() {
			if (ck.Name == HostRefreshCookie || ck.Name == HostCSRFCookie) && ck.MaxAge > 0 {
				t.Fatalf("the callback set %s before the second factor", ck.Name)
			}
		}
		u, _ := url.Parse(loc)
		if u.Query().Get("mfa_token") != "" {
			t.Fatal("the mfa_token is in the query")
		}
		frag, err := url.ParseQuery(u.Fragment)
		if err != nil || frag.Get("error") != "mfa_required" || frag.Get("factors") != "totp" || frag.Get("mfa_token") == "" {
			t.Fatalf("fragment %q: %v", u.Fragment, err)
		}
		next, _ := totp.GenerateCode(str(enr, "secret"), now.Add(30*time.Second))
		st, tr := bearerCall(t, e.s, "POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+frag.Get("mfa_token")+`","code":"`+next+`"}`)
		if st != 200 || !slices.Equal(jwtAMR(t, str(tr, "access_token")), []string{"fed", "otp", "mfa"}) {
			t.Fatalf("verify: %d %v (amr %v)", st, tr, jwtAMR(t, str(tr, "access_token")))
		}
	})
}

// TestUnlinkLastIdentityWithPasskey: an account with no password and one
// identity may unlink it once it has an active passkey (a way in of its
// own); a TOTP factor alone is not one (both stores).
func TestUnlinkLastIdentityWithPasskey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newFedEnv(t, db, 0)
		pid := e.provider(t, "Acme ID", "")
		fl := e.start(t, pid, "")
		fl.callback = e.op.authorize(fl.authURL, "sub-pk", "pk@example.org", true)
		at := e.fedAccessToken(t, e.finish(fl, fl.cookie))
		_, body := bearerCall(t, e.s, "GET", "/v1/me/identities", at, "")
		iid := body["identities"].([]any)[0].(map[string]any)["id"].(string)
		uid := jwtClaims(t, at)["sub"].(string)
		add := func(typ gatehouse.FactorType, status string) {
			now := time.Now()
			f := &gatehouse.MFAFactor{ID: gatehouse.NewID(now), UserID: uid, Type: typ, Name: string(typ), Status: status, CreatedAt: now}
			if typ == gatehouse.FactorPasskey {
				f.CredentialID, f.Credential, f.AAGUID = []byte("cred-"+f.ID), []byte("{}"), make([]byte, 16)
			} else {
				f.Secret = []byte("sealed")
			}
			if err := db.Tx(context.Background(), gatehouse.Scope{UserID: uid}, func(tx gatehouse.Tx) error {
				return tx.CreateFactor(context.Background(), f)
			}); err != nil {
				t.Fatal(err)
			}
		}
		add(gatehouse.FactorTOTP, gatehouse.FactorActive)
		add(gatehouse.FactorPasskey, gatehouse.FactorPending)
		if code, body := bearerCall(t, e.s, "DELETE", "/v1/me/identities/"+iid, at, ""); code != 409 {
			t.Fatalf("unlinking the last way in (TOTP only): %d %v", code, body)
		}
		add(gatehouse.FactorPasskey, gatehouse.FactorActive)
		if code, body := bearerCall(t, e.s, "DELETE", "/v1/me/identities/"+iid, at, ""); code != 204 {
			t.Fatalf("unlinking with a passkey: %d %v", code, body)
		}
	})
}
