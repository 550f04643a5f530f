package httpapi

import (
	"errors"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/auth"
)

// FuzzOIDCParamsCheck: the OpenID Connect parameters of an authorization
// request (Core section 3.1.2.1; docs/oidc.md, "The authorization
// request"). Accepted exactly when there is no request or request_uri,
// response_mode is absent or query, every white-space separated prompt
// value is none, login or consent (none alone), and max_age is absent or
// decimal digits within an int64. Refused with the documented error:
// request_not_supported, request_uri_not_supported,
// account_selection_required for select_account (the first value not
// supported), invalid_request otherwise; always an *auth.AuthorizeError
// (an error redirect to the client).
func FuzzOIDCParamsCheck(f *testing.F) {
	for _, s := range []struct {
		prompt, maxAge, mode string
		request, requestURI  bool
	}{
		{"", "", "", false, false}, {"login consent", "0", "query", false, false}, {"none", "3600", "", false, false},
		{"none login", "", "", false, false}, {"select_account", "", "", false, false}, {"login select_account x", "", "", false, false},
		{"x select_account", "", "", false, false}, {"LOGIN", "", "", false, false}, {"login\tconsent", "", "", false, false},
		{"", "+5", "", false, false}, {"", "-0", "", false, false}, {"", " 5", "", false, false}, {"", "9223372036854775808", "", false, false},
		{"", "", "form_post", false, false}, {"", "", "", true, true}, {"", "", "", false, true},
	} {
		f.Add(s.prompt, s.maxAge, s.mode, s.request, s.requestURI)
	}
	digits := regexp.MustCompile(`^[0-9]+$`)
	maxInt64 := new(big.Int).SetUint64(1<<63 - 1)
	f.Fuzz(func(t *testing.T, prompt, maxAge, mode string, request, requestURI bool) {
		q := url.Values{}
		for k, v := range map[string]string{"prompt": prompt, "max_age": maxAge, "response_mode": mode} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if request {
			q.Set("request", "x")
		}
		if requestURI {
			q.Set("request_uri", "")
		}
		err := oidcParamsCheck(q)

		want := ""
		values := strings.Fields(prompt)
		i := slices.IndexFunc(values, func(v string) bool { return v != "none" && v != "login" && v != "consent" })
		n, _ := new(big.Int).SetString(maxAge, 10)
		switch {
		case request:
			want = "request_not_supported"
		case requestURI:
			want = "request_uri_not_supported"
		case mode != "" && mode != "query":
			want = "invalid_request"
		case i >= 0 && values[i] == "select_account":
			want = "account_selection_required"
		case i >= 0, slices.Contains(values, "none") && len(values) > 1:
			want = "invalid_request"
		case maxAge != "" && (!digits.MatchString(maxAge) || n.Cmp(maxInt64) > 0):
			want = "invalid_request"
		}
		if err == nil {
			if want != "" {
				t.Fatalf("accepted prompt %q, max_age %q, response_mode %q (want %s)", prompt, maxAge, mode, want)
			}
			return
		}
		var ae *auth.AuthorizeError
		if !errors.As(err, &ae) || ae.Code != want {
			t.Fatalf("prompt %q, max_age %q, response_mode %q, request %v, request_uri %v: %v, want %q", prompt, maxAge, mode, request, requestURI, err, want)
		}
	})
}
