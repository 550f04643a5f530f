package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// FuzzReadClientCredentials: whatever the Authorization header and the form
// body, reading the client's credentials never panics, answers only
// invalid_client or invalid_request when it fails, and when it succeeds names
// a client by exactly one method.
func FuzzReadClientCredentials(f *testing.F) {
	f.Add("Basic YTpi", "grant_type=client_credentials")
	f.Add("", "client_id=a&client_secret=b")
	f.Add("Basic YTpi", "client_secret=b")
	f.Add("Bearer x", "")
	f.Add("Basic %%%", "client_id=a")
	f.Add("Basic JXp6OiUyRg==", "")
	f.Fuzz(func(t *testing.T, hdr, body string) {
		r := httptest.NewRequest("POST", "/v1/oauth/token", strings.NewReader(body))
		if hdr != "" {
			r.Header.Set("Authorization", hdr)
		}
		form, err := parseForm(body)
		if err != nil {
			return
		}
		cc, err := readClientCredentials(r, form)
		if err != nil {
			if c := gatehouse.ErrorCode(err); c != gatehouse.EInvalidClient && c != gatehouse.EInvalidRequest {
				t.Fatalf("code %s", c)
			}
			return
		}
		if cc.id == "" {
			t.Fatal("credentials without a client id")
		}
		if cc.basic && form.Has("client_secret") {
			t.Fatal("two authentication methods accepted")
		}
		if !cc.basic && hdr != "" {
			t.Fatal("post credentials accepted alongside an Authorization header")
		}
	})
}
