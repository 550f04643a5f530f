package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// setCookieAttrs splits one Set-Cookie line into its name, value and the set
// of its attributes (lower-cased names, values as written).
func setCookieAttrs(t *testing.T, line string) (name, value string, attrs map[string]string) {
	t.Helper()
	parts := strings.Split(line, ";")
	name, value, ok := strings.Cut(strings.TrimSpace(parts[0]), "=")
	if !ok {
		t.Fatalf("Set-Cookie %q has no name=value", line)
	}
	attrs = map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		k = strings.ToLower(k)
		if _, dup := attrs[k]; dup {
			t.Fatalf("Set-Cookie %q repeats %s", line, k)
		}
		attrs[k] = v
	}
	return name, value, attrs
}

func TestCookieAttributes(t *testing.T) {
	ttl := 720 * time.Hour
	tests := []struct {
		name                    string
		cfg                     CookieConfig
		refreshName, csrfName   string
		refreshPath, domain, ss string
	}{
		{"host-only strict", CookieConfig{SameSite: http.SameSiteStrictMode, RefreshTTL: ttl},
			"__Host-gatehouse_refresh", "__Host-gatehouse_csrf", "/", "", "Strict"},
		{"host-only default samesite is strict", CookieConfig{RefreshTTL: ttl},
			"__Host-gatehouse_refresh", "__Host-gatehouse_csrf", "/", "", "Strict"},
		{"host-only lax", CookieConfig{SameSite: http.SameSiteLaxMode, RefreshTTL: ttl},
			"__Host-gatehouse_refresh", "__Host-gatehouse_csrf", "/", "", "Lax"},
		{"domain none", CookieConfig{Domain: "example.com", SameSite: http.SameSiteNoneMode, RefreshTTL: ttl},
			"__Secure-gatehouse_refresh", "__Secure-gatehouse_csrf", "/v1/auth", "example.com", "None"},
		{"domain strict", CookieConfig{Domain: "auth.example.com", SameSite: http.SameSiteStrictMode, RefreshTTL: ttl},
			"__Secure-gatehouse_refresh", "__Secure-gatehouse_csrf", "/v1/auth", "auth.example.com", "Strict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := httptest.NewRecorder()
			tt.cfg.SetSessionCookies(set, "refresh-secret", "csrf-value")
			clr := httptest.NewRecorder()
			tt.cfg.ClearSessionCookies(clr)

			setLines := set.Result().Header.Values("Set-Cookie")
			clrLines := clr.Result().Header.Values("Set-Cookie")
			if len(setLines) != 2 || len(clrLines) != 2 {
				t.Fatalf("want 2 Set-Cookie each, got set %q clear %q", setLines, clrLines)
			}
			for i, want := range []struct {
				name, value, path string
				httpOnly          bool
			}{
				{tt.refreshName, "refresh-secret", tt.refreshPath, true},
				{tt.csrfName, "csrf-value", "/", false},
			} {
				sn, sv, sa := setCookieAttrs(t, setLines[i])
				cn, cv, ca := setCookieAttrs(t, clrLines[i])
				if sn != want.name || cn != want.name {
					t.Errorf("names: set %q clear %q, want %q", sn, cn, want.name)
				}
				if sv != want.value || cv != "" {
					t.Errorf("values: set %q clear %q", sv, cv)
				}
				if sa["max-age"] != "2592000" {
					t.Errorf("%s set Max-Age = %q, want 2592000", sn, sa["max-age"])
				}
				if ca["max-age"] != "0" {
					t.Errorf("%s clear Max-Age = %q, want 0", cn, ca["max-age"])
				}
				if sa["path"] != want.path {
					t.Errorf("%s Path = %q, want %q", sn, sa["path"], want.path)
				}
				if d, ok := sa["domain"]; tt.domain == "" && ok || tt.domain != "" && d != tt.domain {
					t.Errorf("%s Domain = %q (present %v), want %q", sn, d, ok, tt.domain)
				}
				if _, ok := sa["secure"]; !ok {
					t.Errorf("%s is not Secure", sn)
				}
				if _, ok := sa["httponly"]; ok != want.httpOnly {
					t.Errorf("%s HttpOnly = %v, want %v", sn, ok, want.httpOnly)
				}
				if sa["samesite"] != tt.ss {
					t.Errorf("%s SameSite = %q, want %q", sn, sa["samesite"], tt.ss)
				}
				// The clear mirrors the set exactly, but for the value and Max-Age.
				delete(sa, "max-age")
				delete(ca, "max-age")
				if len(sa) != len(ca) {
					t.Errorf("%s attributes differ: set %v clear %v", sn, sa, ca)
				}
				for k, v := range sa {
					if ca[k] != v {
						t.Errorf("%s attribute %s: set %q clear %q", sn, k, v, ca[k])
					}
				}
				if _, ok := ca["expires"]; ok {
					t.Errorf("%s clear carries Expires, which the set did not", cn)
				}
			}
		})
	}
}

func TestCookiesRoundTripThroughClient(t *testing.T) {
	// What one response sets, net/http's own parser reads back with the
	// attributes the contract names.
	for _, cfg := range []CookieConfig{
		{RefreshTTL: time.Hour},
		{Domain: "example.com", SameSite: http.SameSiteLaxMode, RefreshTTL: time.Hour},
	} {
		rec := httptest.NewRecorder()
		cfg.SetSessionCookies(rec, "r", "c")
		cks := rec.Result().Cookies()
		if len(cks) != 2 || cks[0].Name != cfg.RefreshCookieName() || cks[1].Name != cfg.CSRFCookieName() {
			t.Fatalf("cookies %v", cks)
		}
		if !cks[0].HttpOnly || cks[1].HttpOnly || !cks[0].Secure || !cks[1].Secure || cks[0].MaxAge != 3600 {
			t.Errorf("attributes %+v %+v", cks[0], cks[1])
		}
	}
}

func TestMaxAgeNeverZeroOnSet(t *testing.T) {
	rec := httptest.NewRecorder()
	CookieConfig{RefreshTTL: 10 * time.Millisecond}.SetSessionCookies(rec, "r", "c")
	for _, line := range rec.Result().Header.Values("Set-Cookie") {
		if !strings.Contains(line, "Max-Age=1") {
			t.Errorf("Set-Cookie %q: a sub-second lifetime must not delete the cookie", line)
		}
	}
}

func TestParseSameSite(t *testing.T) {
	tests := []struct {
		in   string
		want http.SameSite
		ok   bool
	}{
		{"", http.SameSiteStrictMode, true},
		{"strict", http.SameSiteStrictMode, true},
		{"Lax", http.SameSiteLaxMode, true},
		{" none ", http.SameSiteNoneMode, true},
		{"default", 0, false},
		{"off", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSameSite(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSameSite(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "GATEHOUSE_COOKIE_SAMESITE") {
			t.Errorf("error %q does not name the variable", err)
		}
	}
}

func TestReadCookies(t *testing.T) {
	host := CookieConfig{RefreshTTL: time.Hour}
	dom := CookieConfig{Domain: "example.com", RefreshTTL: time.Hour}
	tests := []struct {
		name        string
		cfg         CookieConfig
		cookie      []string // Cookie header lines
		wantRefresh string
		wantCSRF    string
		tossing     bool
	}{
		{"none", host, nil, "", "", false},
		{"both", host, []string{"__Host-gatehouse_refresh=r1; __Host-gatehouse_csrf=c1"}, "r1", "c1", false},
		{"unprefixed names are not read", host, []string{"gatehouse_refresh=r1; gatehouse_csrf=c1"}, "", "", false},
		{"other prefix is not read", host, []string{"__Secure-gatehouse_refresh=r1"}, "", "", false},
		{"domain mode reads __Secure-", dom, []string{"__Secure-gatehouse_refresh=r2; __Secure-gatehouse_csrf=c2"}, "r2", "c2", false},
		{"domain mode ignores __Host-", dom, []string{"__Host-gatehouse_refresh=r2"}, "", "", false},
		{"tossed refresh", host, []string{"__Host-gatehouse_refresh=r1; __Host-gatehouse_refresh=evil"}, "", "", true},
		{"tossed csrf", host, []string{"__Host-gatehouse_csrf=c1; __Host-gatehouse_csrf=evil"}, "", "", true},
		{"tossed across header lines", dom, []string{"__Secure-gatehouse_refresh=r1", "__Secure-gatehouse_refresh=r2"}, "", "", true},
		{"tossed with a value net/http drops", host, []string{`__Host-gatehouse_refresh=r1; __Host-gatehouse_refresh="bad value"`}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/auth/refresh", nil)
			for _, c := range tt.cookie {
				r.Header.Add("Cookie", c)
			}
			err := tt.cfg.CheckCookies(r)
			if tt.tossing {
				if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
					t.Fatalf("CheckCookies = %v, want invalid_request", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckCookies = %v", err)
			}
			rv, err1 := tt.cfg.RefreshCookie(r)
			cv, err2 := tt.cfg.CSRFCookie(r)
			if err1 != nil || err2 != nil || rv != tt.wantRefresh || cv != tt.wantCSRF {
				t.Errorf("got %q %v, %q %v; want %q, %q", rv, err1, cv, err2, tt.wantRefresh, tt.wantCSRF)
			}
		})
	}
}

// FuzzReadCookies: any Cookie header yields no panic, and a value returned is
// one that appears exactly once under the read name.
func FuzzReadCookies(f *testing.F) {
	for _, s := range []string{
		"__Host-gatehouse_refresh=abc",
		"__Host-gatehouse_refresh=a; __Host-gatehouse_refresh=b",
		"__Host-gatehouse_refresh",
		"=; ;;__Host-gatehouse_csrf=\"x\"",
		"__Host-gatehouse_refresh=\x00\xff",
	} {
		f.Add(s)
	}
	cfg := CookieConfig{RefreshTTL: time.Hour}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Cookie", header)
		v, err := cfg.RefreshCookie(r)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("error %v is not invalid_request", err)
			}
			return
		}
		if v != "" {
			n := 0
			for _, ck := range r.CookiesNamed(HostRefreshCookie) {
				n++
				if ck.Value != v {
					t.Fatalf("returned %q, header holds %q", v, ck.Value)
				}
			}
			if n != 1 {
				t.Fatalf("returned a value for a cookie that appears %d times", n)
			}
		}
	})
}
