// Package web is gatehouse's portal: static files embedded in the binary (one
// HTML page, one script, one stylesheet, a web app manifest, icons and a
// service worker) and the handler that serves them with the security headers
// every page carries (docs/reference.md §12). The portal talks to the API from
// the same origin, in cookie mode; docs/browser.md describes what it stores
// and sends.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every portal response: scripts,
// styles and connections only from the portal's own origin (no inline script
// or style, no eval), no framing (clickjacking), no plugins, no <base>
// rewriting, and forms that post only to the origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// routes maps each URL path the portal serves to its embedded file. The
// service worker's SHELL list is every one of these but /sw.js itself
// (web_test.go checks that they agree).
var routes = map[string]string{
	"/": "index.html",
	// The pages emailed links open (page-links.js): each posts its token
	// only when the person presses its button.
	"/magic-link":           "index.html",
	"/verify-email":         "index.html",
	"/reset-password":       "index.html",
	"/confirm-email":        "index.html",
	"/invitation":           "index.html",
	"/app.js":               "app.js",
	"/page-links.js":        "page-links.js",
	"/page-account.js":      "page-account.js",
	"/page-security.js":     "page-security.js",
	"/page-workspaces.js":   "page-workspaces.js",
	"/page-admin.js":        "page-admin.js",
	"/signin-providers.js":  "signin-providers.js",
	"/page-identities.js":   "page-identities.js",
	"/page-signon.js":       "page-signon.js",
	"/page-apps.js":         "page-apps.js",
	"/app.css":              "app.css",
	"/sw.js":                "sw.js",
	"/manifest.webmanifest": "manifest.webmanifest",
	"/icon.svg":             "icon.svg",
	"/icon-192.png":         "icon-192.png",
	"/icon-512.png":         "icon-512.png",

	// Second factors and passkeys (docs/mfa.md); qrcode.js is vendored
	// (npm qrcode-generator 2.0.4, MIT: static/qrcode.LICENSE).
	"/qrcode.js":       "qrcode.js",
	"/signin-mfa.js":   "signin-mfa.js",
	"/page-factors.js": "page-factors.js",
}

var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Paths returns the URL paths the portal serves, sorted, for mounting on a
// mux: each is a GET route.
func Paths() []string {
	ps := make([]string, 0, len(routes))
	for p := range routes {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// notFoundPage is the body of every 404 the portal answers.
var notFoundPage = func() []byte {
	b, err := fs.ReadFile(static, "static/404.html")
	if err != nil {
		panic("web: embedded file missing: 404.html")
	}
	return b
}()

// shellVersionPlaceholder in sw.js becomes a hash of the shell's files, so any
// change to them makes a new service worker and a new cache.
const shellVersionPlaceholder = "__SHELL_VERSION__"

func load() map[string]*asset {
	files := map[string][]byte{}
	var names []string
	for _, name := range routes {
		if _, ok := files[name]; ok {
			continue
		}
		b, err := fs.ReadFile(static, "static/"+name)
		if err != nil {
			panic("web: embedded file missing: " + name) // a build error, caught by the tests
		}
		files[name] = b
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		if n == "sw.js" {
			continue
		}
		h.Write([]byte(n))
		h.Write(files[n])
	}
	version := hex.EncodeToString(h.Sum(nil))[:16]
	files["sw.js"] = bytes.ReplaceAll(files["sw.js"], []byte(shellVersionPlaceholder), []byte(version))

	out := map[string]*asset{}
	for p, name := range routes {
		b := files[name]
		sum := sha256.Sum256(b)
		out[p] = &asset{body: b, ctype: contentTypes[path.Ext(name)], etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return out
}

// SetSecurityHeaders sets the headers every portal page carries. The
// Referrer-Policy keeps the magic-link token (in /magic-link's URL) from
// leaking to anything the page loads or links to.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY") // for browsers that predate frame-ancestors
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// Handler returns the portal's handler. It answers GET and HEAD for the
// paths in Paths, 404 for any other path and 405 for any other method, every
// answer with the security headers.
func Handler() http.Handler {
	assets := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		a, ok := assets[r.URL.Path]
		if !ok {
			// The portal's own 404 page, in its design (404.html is served
			// only as this answer, never at a path of its own).
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusNotFound)
			if r.Method != http.MethodHead {
				w.Write(notFoundPage)
			}
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", a.ctype)
		w.Header().Set("ETag", a.etag)
		// Revalidate every time (an ETag makes it cheap); the service worker,
		// not the HTTP cache, is what serves the shell offline.
		w.Header().Set("Cache-Control", "no-cache")
		if strings.HasSuffix(r.URL.Path, "sw.js") {
			w.Header().Set("Service-Worker-Allowed", "/")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
