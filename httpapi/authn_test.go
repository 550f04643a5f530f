package httpapi

import (
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

func TestRequireAuth(t *testing.T) {
	var got *gatehouse.Principal
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = gatehouse.PrincipalFromContext(r.Context())
		w.WriteHeader(204)
	})
	tests := []struct {
		name    string
		auth    Authenticator
		headers []string
		target  string
		user    string // "" = refused with 401
	}{
		{"valid", testAuthenticator{}, []string{"Authorization", "Bearer user.u1"}, "/v1/me", "u1"},
		{"scheme case-insensitive", testAuthenticator{}, []string{"Authorization", "bearer user.u2"}, "/v1/me", "u2"},
		{"no header", testAuthenticator{}, nil, "/v1/me", ""},
		{"query token ignored", testAuthenticator{}, nil, "/v1/me?access_token=user.u1", ""},
		{"form token ignored", testAuthenticator{}, []string{"Content-Type", "application/x-www-form-urlencoded"}, "/v1/me", ""},
		{"cookie ignored", testAuthenticator{}, []string{"Cookie", "access_token=user.u1"}, "/v1/me", ""},
		{"basic", testAuthenticator{}, []string{"Authorization", "Basic dXNlcjp1MQ=="}, "/v1/me", ""},
		{"empty bearer", testAuthenticator{}, []string{"Authorization", "Bearer "}, "/v1/me", ""},
		{"two headers", testAuthenticator{}, []string{"Authorization", "Bearer user.u1", "Authorization", "Bearer user.u2"}, "/v1/me", ""},
		{"bad token chars", testAuthenticator{}, []string{"Authorization", "Bearer user.u1 extra"}, "/v1/me", ""},
		{"rejected token", testAuthenticator{}, []string{"Authorization", "Bearer nobody"}, "/v1/me", ""},
		{"no authenticator", nil, []string{"Authorization", "Bearer user.u1"}, "/v1/me", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withAuth(tt.auth))
			got = nil
			body := ""
			if tt.name == "form token ignored" {
				body = "access_token=user.u1"
			}
			w := do(e.s.requireAuth(inner), req("POST", tt.target, body, tt.headers...))
			if tt.user == "" {
				if w.Code != 401 || errBody(t, w).Error != "unauthorized" || got != nil {
					t.Fatalf("status %d, principal %v; want 401", w.Code, got)
				}
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
				return
			}
			if w.Code != 204 || got == nil || got.UserID != tt.user {
				t.Fatalf("status %d principal %+v", w.Code, got)
			}
		})
	}
}

// TestBearerToken pins the header syntax (RFC 6750 section 2.1).
func TestBearerToken(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":       "abc",
		"Bearer a.b-c_d~e": "a.b-c_d~e",
		"Bearer abc==":     "abc==",
		"BEARER x/y+z":     "x/y+z",
		"Bearer  abc":      "abc",
		"Bearer a=b":       "",
		"Bearer =":         "",
		"Bearerabc":        "",
		"Token abc":        "",
		"Bearer abc\tdef":  "",
	} {
		r := req("GET", "/", "", "Authorization", in)
		got, err := BearerToken(r)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("BearerToken(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "Basic x", "Bearer ", "bearer a==", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := req("GET", "/", "")
		r.Header["Authorization"] = []string{h}
		tok, err := BearerToken(r)
		if err == nil && (tok == "" || len(tok) > maxBearerLen || !token68(tok)) {
			t.Fatalf("accepted %q", tok)
		}
	})
}
