package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

type signupReq struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           gatehouse.Code // "" = accepted
	}{
		{"ok", "application/json", `{"email":"a@b.c","password":"x"}`, ""},
		{"ok charset", "application/json; charset=utf-8", `{"email":"a@b.c"}`, ""},
		{"ok trailing space", "application/json", "{\"email\":\"a@b.c\"}\n  ", ""},
		{"no content type", "", `{"email":"a@b.c"}`, gatehouse.EUnsupportedMediaType},
		{"text/plain", "text/plain", `{"email":"a@b.c"}`, gatehouse.EUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", `email=a`, gatehouse.EUnsupportedMediaType},
		{"json with other charset", "application/json; charset=latin1", `{}`, gatehouse.EUnsupportedMediaType},
		{"bad media type", "application/json;;", `{}`, gatehouse.EUnsupportedMediaType},
		{"unknown field", "application/json", `{"email":"a@b.c","admin":true}`, gatehouse.EInvalidRequest},
		{"trailing value", "application/json", `{"email":"a@b.c"}{"email":"d"}`, gatehouse.EInvalidRequest},
		{"trailing garbage", "application/json", `{"email":"a@b.c"} x`, gatehouse.EInvalidRequest},
		{"empty", "application/json", ``, gatehouse.EInvalidRequest},
		{"truncated", "application/json", `{"email":`, gatehouse.EInvalidRequest},
		{"syntax", "application/json", `{email:1}`, gatehouse.EInvalidRequest},
		{"wrong type", "application/json", `{"email":42}`, gatehouse.EInvalidRequest},
		{"array", "application/json", `[1,2]`, gatehouse.EInvalidRequest},
		{"null is ok", "application/json", `null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req("POST", "/v1/auth/signup", tt.body)
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			var v signupReq
			err := decodeJSON(r, &v)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("decodeJSON = %v, want ok", err)
				}
				return
			}
			if got := gatehouse.ErrorCode(err); got != tt.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.want)
			}
			if msg := gatehouse.ErrorMessage(err); msg == "" || msg == "internal error" {
				t.Fatalf("message = %q", msg)
			}
		})
	}
}

func TestDecodeJSONThroughServer(t *testing.T) {
	e := newEnv(t)
	h := e.with(t, map[string]handlerFunc{"POST /v1/auth/signup": func(w http.ResponseWriter, r *http.Request) error {
		var v signupReq
		if err := decodeJSON(r, &v); err != nil {
			return err
		}
		return writeJSON(w, 201, v)
	}})
	w := do(h, req("POST", "/v1/auth/signup", `{"email":"a@b.c","extra":1}`, "Content-Type", "application/json"))
	if w.Code != 400 || errBody(t, w).Error != "invalid_request" {
		t.Fatalf("unknown field: %d %s", w.Code, w.Body.String())
	}
	w = do(h, req("POST", "/v1/auth/signup", `{"email":"a@b.c"}`, "Content-Type", "text/plain"))
	if w.Code != 415 || errBody(t, w).Error != "unsupported_media_type" {
		t.Fatalf("text/plain: %d %s", w.Code, w.Body.String())
	}
}

func TestDecodeForm(t *testing.T) {
	tests := []struct {
		name, ct, body, query string
		want                  gatehouse.Code
	}{
		{"ok", "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=a+b", "", ""},
		{"json", "application/json", `{"grant_type":"x"}`, "", gatehouse.EUnsupportedMediaType},
		{"repeated", "application/x-www-form-urlencoded", "grant_type=a&grant_type=b", "", gatehouse.EInvalidRequest},
		{"bad escape", "application/x-www-form-urlencoded", "a=%zz", "", gatehouse.EInvalidRequest},
		{"semicolon", "application/x-www-form-urlencoded", "a=1;b=2", "", gatehouse.EInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req("POST", "/v1/oauth/token?grant_type=password", tt.body, "Content-Type", tt.ct)
			v, err := decodeForm(r)
			if tt.want != "" {
				if gatehouse.ErrorCode(err) != tt.want {
					t.Fatalf("err = %v, want %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Get("grant_type") != "client_credentials" || v.Get("scope") != "a b" {
				t.Fatalf("values = %v (the query string must not count)", v)
			}
		})
	}
	big := "a=" + strings.Repeat("x", MaxBodyBytes)
	r := req("POST", "/v1/oauth/token", "", "Content-Type", "application/x-www-form-urlencoded")
	r.Body = http.MaxBytesReader(nil, readCloser(big), MaxBodyBytes)
	if _, err := decodeForm(r); gatehouse.ErrorCode(err) != gatehouse.EPayloadTooLarge {
		t.Fatalf("over the limit: %v", err)
	}
}

func readCloser(s string) *nopCloser { return &nopCloser{strings.NewReader(s)} }

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"", "a=b", "a=b&a=c", "a=%zz", "grant_type=client_credentials&scope=a+b", ";", "=&=&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseForm(s)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("code %q", gatehouse.ErrorCode(err))
			}
			return
		}
		for k, vs := range v {
			if len(vs) != 1 {
				t.Fatalf("parameter %q given %d times was accepted", k, len(vs))
			}
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"email":"a"}`, `{"x":1}`, `[]`, `{"email":"a"} 1`, ``, `nul`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := req("POST", "/", s, "Content-Type", "application/json")
		var v signupReq
		err := decodeJSON(r, &v)
		if err != nil {
			c := gatehouse.ErrorCode(err)
			if c != gatehouse.EInvalidRequest && c != gatehouse.EPayloadTooLarge {
				t.Fatalf("bad input gave code %q: %v", c, err)
			}
		}
	})
}
