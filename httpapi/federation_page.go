package httpapi

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/web"
)

// wantsHTML reports whether r is a browser's navigation, which shows a
// response to a person: its Accept names text/html. The portal's fetches
// and API clients ask for JSON and keep getting the error body.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// fedPageTmpl is the page a failed sign-in with another provider shows, in
// the portal's design (its stylesheet; no script). html/template escapes
// the message.
var fedPageTmpl = template.Must(template.New("fed").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed · gatehouse</title><link rel="stylesheet" href="/app.css"></head>
<body><main class="center"><div class="card narrow">
<p class="brand-lg"><img src="/icon.svg" alt="" width="32" height="32"> gatehouse</p>
<h1>Sign-in failed</h1>
<p role="alert" class="notice error" id="fed-error">{{.Message}}</p>
<p class="small muted">Nothing was signed in. Go back to gatehouse and try again; if it keeps happening, tell your administrator what this page says.</p>
<p><a class="button primary" href="/">Go to gatehouse</a></p>
</div></main></body></html>
`))

// federationPage answers a failed start or callback: a page in words for a
// browser's navigation, else the usual error body. Logging, the failure
// counting (refused) and Retry-After are writeError's, either way.
func (s *Server) federationPage(w http.ResponseWriter, r *http.Request, err error) {
	if !wantsHTML(r) {
		s.writeError(w, r, err)
		return
	}
	code, msg := body(err)
	status := StatusOf(code)
	s.logFailure(r, status, code, err)
	s.refused(w, err)
	setUnavailableRetryAfter(w, status, err)
	switch code {
	case gatehouse.EInvalidGrant:
		msg = "The sign-in could not be completed: it expired, was already used, or was started in another browser. (" + msg + ")"
	case gatehouse.EConflict:
		msg = msg + " If you already have an account, sign in to it the usual way and link this provider on the Security page."
	}
	web.SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fedPageTmpl.Execute(w, struct{ Message string }{msg})
}
