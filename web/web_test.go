package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkSecurityHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = val
	}
	if s, ok := directives["script-src"]; !ok || strings.Contains(s, "unsafe-inline") || strings.Contains(s, "unsafe-eval") || strings.Contains(s, "*") {
		t.Errorf("%s: script-src %q (CSP %q)", path, s, csp)
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP allows unsafe-inline: %q", path, csp)
	}
	if directives["frame-ancestors"] != "'none'" {
		t.Errorf("%s: frame-ancestors %q", path, directives["frame-ancestors"])
	}
	if directives["object-src"] != "'none'" || directives["base-uri"] != "'none'" {
		t.Errorf("%s: object-src/base-uri in %q", path, csp)
	}
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
		}
	}
}

func TestEveryPathServedWithHeaders(t *testing.T) {
	h := Handler()
	wantType := map[string]string{
		"/":                     "text/html; charset=utf-8",
		"/magic-link":           "text/html; charset=utf-8",
		"/verify-email":         "text/html; charset=utf-8",
		"/reset-password":       "text/html; charset=utf-8",
		"/confirm-email":        "text/html; charset=utf-8",
		"/invitation":           "text/html; charset=utf-8",
		"/app.js":               "text/javascript; charset=utf-8",
		"/page-links.js":        "text/javascript; charset=utf-8",
		"/page-account.js":      "text/javascript; charset=utf-8",
		"/page-security.js":     "text/javascript; charset=utf-8",
		"/page-workspaces.js":   "text/javascript; charset=utf-8",
		"/page-admin.js":        "text/javascript; charset=utf-8",
		"/signin-providers.js":  "text/javascript; charset=utf-8",
		"/page-identities.js":   "text/javascript; charset=utf-8",
		"/page-signon.js":       "text/javascript; charset=utf-8",
		"/page-apps.js":         "text/javascript; charset=utf-8",
		"/sw.js":                "text/javascript; charset=utf-8",
		"/app.css":              "text/css; charset=utf-8",
		"/manifest.webmanifest": "application/manifest+json",
		"/icon.svg":             "image/svg+xml",
		"/icon-192.png":         "image/png",
		"/icon-512.png":         "image/png",

		"/qrcode.js":       "text/javascript; charset=utf-8",
		"/signin-mfa.js":   "text/javascript; charset=utf-8",
		"/page-factors.js": "text/javascript; charset=utf-8",
	}
	if !slices.Equal(Paths(), slices.Sorted(func(yield func(string) bool) {
		for p := range wantType {
			if !yield(p) {
				return
			}
		}
	})) {
		t.Fatalf("Paths() = %v", Paths())
	}
	for _, p := range Paths() {
		res := get(t, h, "GET", p, nil)
		b := body(t, res)
		if res.StatusCode != 200 || len(b) == 0 {
			t.Errorf("%s: status %d, %d bytes", p, res.StatusCode, len(b))
		}
		if ct := res.Header.Get("Content-Type"); ct != wantType[p] {
			t.Errorf("%s: Content-Type %q, want %q", p, ct, wantType[p])
		}
		checkSecurityHeaders(t, p, res.Header)
		// Revalidation: the ETag answers 304.
		res2 := get(t, h, "GET", p, map[string]string{"If-None-Match": res.Header.Get("ETag")})
		if res.Header.Get("ETag") == "" || res2.StatusCode != http.StatusNotModified {
			t.Errorf("%s: ETag %q, revalidation status %d", p, res.Header.Get("ETag"), res2.StatusCode)
		}
	}
	// The magic-link page with its token in the query is the same page, and
	// it tells the browser to send no Referer anywhere.
	res := get(t, h, "GET", "/magic-link?token=abc", nil)
	if res.StatusCode != 200 || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("/magic-link?token=: status %d, Referrer-Policy %q", res.StatusCode, res.Header.Get("Referrer-Policy"))
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := Handler()
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/static/app.js", 404},
		{"GET", "/index.html", 404},
		{"GET", "/../go.mod", 404},
		{"GET", "/v1/me", 404},
		{"GET", "/app.js/", 404},
		{"POST", "/", 405},
		{"PUT", "/app.js", 405},
		{"DELETE", "/magic-link", 405},
		{"HEAD", "/", 200},
	} {
		res := get(t, h, tt.method, tt.path, nil)
		if res.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
		}
		checkSecurityHeaders(t, tt.path, res.Header)
	}
}

func TestSignedOutPageHasTheForm(t *testing.T) {
	page := body(t, get(t, Handler(), "GET", "/", nil))
	for _, want := range []string{
		`<form id="signin-form" method="post"`,
		`type="email"`,
		`type="password"`,
		`<script src="/app.js" defer></script>`,
		`<link rel="manifest" href="/manifest.webmanifest">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	// Nothing the CSP would block, and no frame or shadow root to hide the form in.
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`), // inline script
		regexp.MustCompile(`<script(?:\s(?:[^s>]|s[^r>])*)?>`),   // a script without src
		regexp.MustCompile(`\son[a-z]+\s*=`),                     // inline handler
		regexp.MustCompile(`\sstyle\s*=`),                        // inline style
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`<iframe|<template|shadowroot`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`https?://`), // nothing from another origin
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("index.html contains %q", m)
		}
	}
}

var shellList = regexp.MustCompile(`(?s)const SHELL = \[(.*?)\];`)
var quoted = regexp.MustCompile(`'([^']*)'`)

func TestServiceWorkerCachesOnlyTheShell(t *testing.T) {
	src := body(t, get(t, Handler(), "GET", "/sw.js", nil))
	m := shellList.FindStringSubmatch(src)
	if m == nil {
		t.Fatal("sw.js has no SHELL list")
	}
	var shell []string
	for _, q := range quoted.FindAllStringSubmatch(m[1], -1) {
		shell = append(shell, q[1])
	}
	var want []string
	for _, p := range Paths() {
		if p != "/sw.js" {
			want = append(want, p)
		}
	}
	slices.Sort(shell)
	if !slices.Equal(shell, want) {
		t.Errorf("SHELL = %v, want the served files but sw.js: %v", shell, want)
	}
	for _, p := range shell {
		if strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/.well-known/") || strings.Contains(p, "?") {
			t.Errorf("SHELL lists %q", p)
		}
	}
	if !strings.Contains(src, `const NETWORK_ONLY = ['/v1/', '/.well-known/'];`) {
		t.Error("sw.js does not name /v1/ and /.well-known/ as network-only")
	}
	// The only cache write is the install-time addAll of SHELL: no put, no
	// add of anything else, no cache named from request data.
	for _, bad := range []string{".put(", ".add(", "importScripts", "eval(", "new Function"} {
		if strings.Contains(src, bad) {
			t.Errorf("sw.js contains %q", bad)
		}
	}
	if n := strings.Count(src, "addAll("); n != 1 || !strings.Contains(src, "cache.addAll(SHELL.map(") {
		t.Errorf("sw.js has %d addAll calls; want exactly the one over SHELL", n)
	}
	// The fetch handler returns before respondWith for anything not in the shell.
	if !regexp.MustCompile(`if \(!isShell\(event\.request\)\) return;`).MatchString(src) {
		t.Error("sw.js fetch handler does not leave non-shell requests alone")
	}
	// The version placeholder became a hash of the shell.
	if strings.Contains(src, shellVersionPlaceholder) || !regexp.MustCompile(`'gatehouse-shell-[0-9a-f]{16}'`).MatchString(src) {
		t.Error("sw.js cache name has no shell version")
	}
}

// scripts returns every script the portal serves, concatenated.
func scripts(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range Paths() {
		if strings.HasSuffix(p, ".js") && p != "/sw.js" {
			b.WriteString(body(t, get(t, Handler(), "GET", p, nil)))
		}
	}
	return b.String()
}

func TestPortalScriptStoresNothing(t *testing.T) {
	src := scripts(t)
	for _, bad := range []string{
		"localStorage.setItem", "sessionStorage.setItem", "localStorage[", "sessionStorage[",
		"indexedDB", ".innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
		"eval(", "new Function", "cache.put", "document.cookie =", "document.cookie=",
	} {
		if strings.Contains(src, bad) {
			t.Errorf("app.js contains %q", bad)
		}
	}
	for _, want := range []string{
		"credentials: 'include'",
		"'X-CSRF-Token'",
		"history.replaceState(null, '', location.pathname)",
		"sessionStorage.clear()",
		"localStorage.clear()",
		"caches.delete(k)",
		"/v1/auth/magic-link/verify",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("app.js lacks %q", want)
		}
	}
}

// TestNotFoundPage: an unknown name gets the portal's own 404 page, in its
// design and with its headers.
func TestNotFoundPage(t *testing.T) {
	res := get(t, Handler(), "GET", "/no-such-page", nil)
	b := body(t, res)
	if res.StatusCode != 404 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(b, `<link rel="stylesheet" href="/app.css">`) || !strings.Contains(b, "Page not found") {
		t.Errorf("404: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	checkSecurityHeaders(t, "/no-such-page", res.Header)
	if strings.Contains(b, "<script") || strings.Contains(b, "style=") {
		t.Error("the 404 page has a script or an inline style")
	}
}

// TestEveryPageFileIsLoaded: every page-*.js the portal serves is loaded by
// index.html, after app.js, with defer (so all have registered before the
// core starts).
func TestEveryPageFileIsLoaded(t *testing.T) {
	page := body(t, get(t, Handler(), "GET", "/", nil))
	core := strings.Index(page, `<script src="/app.js" defer></script>`)
	if core < 0 {
		t.Fatal("index.html does not load /app.js with defer")
	}
	for _, p := range Paths() {
		if strings.HasPrefix(p, "/page-") {
			i := strings.Index(page, `<script src="`+p+`" defer></script>`)
			if i < core {
				t.Errorf("index.html does not load %s with defer after app.js", p)
			}
		}
	}
}

func TestManifestAndIcons(t *testing.T) {
	h := Handler()
	var man struct {
		Name     string `json:"name"`
		StartURL string `json:"start_url"`
		Display  string `json:"display"`
		Icons    []struct {
			Src   string `json:"src"`
			Sizes string `json:"sizes"`
			Type  string `json:"type"`
		} `json:"icons"`
	}
	raw := body(t, get(t, h, "GET", "/manifest.webmanifest", nil))
	if err := json.Unmarshal([]byte(raw), &man); err != nil {
		t.Fatal(err)
	}
	if man.Name == "" || man.StartURL != "/" || man.Display != "standalone" || len(man.Icons) < 2 {
		t.Fatalf("manifest %+v", man)
	}
	for _, ic := range man.Icons {
		res := get(t, h, "GET", ic.Src, nil)
		b := []byte(body(t, res))
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != ic.Type {
			t.Errorf("icon %s: %d %s", ic.Src, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if ic.Type == "image/png" {
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("icon %s: %v", ic.Src, err)
			}
			sz := img.Bounds().Size()
			if got := fmt.Sprintf("%dx%d", sz.X, sz.Y); got != ic.Sizes {
				t.Errorf("icon %s is %s, manifest says %s", ic.Src, got, ic.Sizes)
			}
		}
	}
}

func BenchmarkIndex(b *testing.B) {
	h := Handler()
	r := httptest.NewRequest("GET", "/", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
}
