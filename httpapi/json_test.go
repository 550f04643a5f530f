package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

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
	w = do(h, req("POST", "/v1/auth/signup", `{"email":"a@b.c","email":"admin@b.c"}`, "Content-Type", "application/json"))
	if w.Code != 400 || errBody(t, w).Error != "invalid_request" {
		t.Fatalf("duplicate member: %d %s", w.Code, w.Body.String())
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

// TestDecodeJSONRefusesDuplicateMembers: a member name given twice, at any
// depth and however it is escaped, is refused rather than read as the last
// one (as the JWS parser refuses it).
func TestDecodeJSONRefusesDuplicateMembers(t *testing.T) {
	type nested struct {
		Name  string            `json:"name"`
		Inner map[string]any    `json:"inner"`
		List  []json.RawMessage `json:"list"`
	}
	for name, body := range map[string]string{
		"top":             `{"name":"a","name":"b"}`,
		"escaped":         `{"name":"a","\u006eame":"b"}`,
		"nested object":   `{"name":"a","inner":{"x":1,"x":2}}`,
		"inside an array": `{"list":[{"k":1},{"k":1,"k":2}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var v nested
			err := decodeJSON(req("POST", "/v1/x", body, "Content-Type", "application/json"), &v)
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("decodeJSON(%s) = %v, want invalid_request", body, err)
			}
			if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, "more than once") {
				t.Fatalf("message %q does not say a field is repeated", msg)
			}
		})
	}
	var v nested
	if err := decodeJSON(req("POST", "/v1/x", `{"name":"a","inner":{"name":"a"},"list":[{"k":1},{"k":2}]}`, "Content-Type", "application/json"), &v); err != nil {
		t.Fatalf("same name in different objects: %v", err)
	}
}

// TestDecodeJSONMessages: a value of the wrong form gets a message that names
// the field and the form it wants.
func TestDecodeJSONMessages(t *testing.T) {
	type in struct {
		Name      string     `json:"name"`
		Scopes    []string   `json:"scopes"`
		Admin     bool       `json:"admin"`
		Count     int        `json:"count"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	for body, want := range map[string]string{
		`{"expires_at":"next tuesday"}`: `field "expires_at" must be a date and time in RFC 3339 form, such as "2027-01-31T00:00:00Z"`,
		`{"expires_at":"2027-01-31"}`:   `field "expires_at" must be a date and time in RFC 3339 form`,
		`{"name":"x","expires_at":17}`:  `field "expires_at" must be a date and time`,
		`{"name":42}`:                   `field "name" must be a string`,
		`{"scopes":"read"}`:             `field "scopes" must be an array`,
		`{"scopes":[1]}`:                `field "scopes" must be a string`,
		`{"admin":"yes"}`:               `field "admin" must be true or false`,
		`{"count":1.5}`:                 `field "count" must be a whole number`,
		"{\"name\":\"\xff\"}":           `UTF-8`,
		`{"name":"a","name":"b"}`:       `field "name" is given more than once`,
		`[1]`:                           `must be a JSON object`,
		`{"name":"a"`:                   `not valid JSON`,
	} {
		var v in
		err := decodeJSON(req("POST", "/v1/x", body, "Content-Type", "application/json"), &v)
		if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
			t.Fatalf("%s: %v, want invalid_request", body, err)
		}
		if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want it to contain %q", body, msg, want)
		}
	}
	var v in
	if err := decodeJSON(req("POST", "/v1/x", `{"expires_at":"2027-01-31T00:00:00Z"}`, "Content-Type", "application/json"), &v); err != nil || v.ExpiresAt == nil {
		t.Fatalf("good expires_at: %v", err)
	}
}
