package httpapi

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/web"
)

// OpenID Connect endpoints (docs/oidc.md, OpenID Connect Core 1.0).

// userinfo is GET and POST /v1/oauth/userinfo (Core section 5.3): the
// claims of the person an access token was granted by, Bearer only (RFC
// 6750 section 2.1). A token without openid is 403 insufficient_scope with
// the WWW-Authenticate challenge of RFC 6750 section 3.1.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	o, err := s.oauthOrUnavailable()
	if err != nil {
		return err
	}
	claims, err := o.UserInfo(r.Context(), gatehouse.PrincipalFromContext(r.Context()))
	if gatehouse.ErrorCode(err) == gatehouse.EInsufficientScope {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="openid"`)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, claims)
}

// idTokenAlgs lists the id_token algorithms of the key families; RS256
// always (Discovery 1.0 section 3 requires it, and the wiring keeps an
// RS256 family).
func (s *Server) idTokenAlgs() []string {
	if s.oauth == nil || s.oauth.Keys == nil {
		return []string{string(token.RS256)}
	}
	return s.oauth.Keys.IDTokenAlgs()
}

// logoutRequest reads an end_session request (RP-Initiated Logout 1.0
// section 2) from q.
func logoutRequest(q url.Values) auth.LogoutRequest {
	return auth.LogoutRequest{IDTokenHint: q.Get("id_token_hint"), ClientID: q.Get("client_id"),
		PostLogoutRedirectURI: q.Get("post_logout_redirect_uri"), State: q.Get("state")}
}

// oidcLogout is GET /v1/oauth/logout (RP-Initiated Logout 1.0). A valid
// id_token_hint ends the session it names and the client's grants, then
// redirects to the registered post_logout_redirect_uri with state; without
// one, a person signed in here is asked to confirm (a form that POSTs
// back); no one signed in: nothing to end.
func (s *Server) oidcLogout(w http.ResponseWriter, r *http.Request) {
	if !s.logoutAvailable(w, r) {
		return
	}
	req := logoutRequest(r.URL.Query())
	plan, userID, sid, ok := s.logoutPlan(w, r, req)
	if !ok {
		return
	}
	if plan.Hint != nil {
		if err := s.oauth.LogoutByHint(r.Context(), plan); err != nil {
			s.authorizeFailed(w, r, err)
			return
		}
		if sid != "" && sid == plan.Hint.SessionID {
			s.cookies.ClearSessionCookies(w)
		}
		s.loggedOut(w, r, plan, req)
		return
	}
	if userID == "" {
		s.loggedOut(w, r, plan, req) // no one is signed in here
		return
	}
	s.logoutPage(w, plan, req, s.oauth.LogoutFormToken(sid, req))
}

// oidcLogoutConfirm is POST /v1/oauth/logout: the confirmation form. Its
// token is bound to the browser's session and the request; a missing or
// wrong one is csrf_failed and ends nothing.
func (s *Server) oidcLogoutConfirm(w http.ResponseWriter, r *http.Request) {
	if !s.logoutAvailable(w, r) {
		return
	}
	form, err := decodeForm(r)
	if err != nil {
		s.authorizeFailed(w, r, err)
		return
	}
	req := logoutRequest(form)
	req.IDTokenHint = "" // the form never carries one
	plan, userID, sid, ok := s.logoutPlan(w, r, req)
	if !ok {
		return
	}
	if userID == "" {
		s.loggedOut(w, r, plan, req)
		return
	}
	if len(form["logout_token"]) != 1 || !s.oauth.CheckLogoutFormToken(form.Get("logout_token"), sid, req) {
		err := gatehouse.Errorf(gatehouse.ECSRFFailed, "the logout form is stale or forged; start again from the application")
		if s.csrf != nil {
			s.csrf.Reject(r, sid, err)
		}
		s.authorizeFailed(w, r, err)
		return
	}
	if err := s.oauth.LogoutConfirmed(r.Context(), plan, userID, sid); err != nil {
		s.authorizeFailed(w, r, err)
		return
	}
	s.cookies.ClearSessionCookies(w)
	s.loggedOut(w, r, plan, req)
}

// logoutAvailable answers 503 when this server cannot end sessions for a
// relying party (no OAuth or session service, no cookies).
func (s *Server) logoutAvailable(w http.ResponseWriter, r *http.Request) bool {
	if s.oauth == nil || s.oauth.Sessions == nil || s.cookies == nil {
		s.authorizePage(w, r, http.StatusServiceUnavailable, "Logout is not available here.")
		return false
	}
	return true
}

// logoutPlan checks a logout request and finds who is signed in in this
// browser (empty: no one); on a refusal it has answered, and ok is false.
func (s *Server) logoutPlan(w http.ResponseWriter, r *http.Request, req auth.LogoutRequest) (plan *auth.LogoutPlan, userID, sid string, ok bool) {
	plan, err := s.oauth.CheckLogout(r.Context(), req)
	if err == nil {
		userID, sid, err = s.browserSession(r)
	}
	if err != nil {
		s.authorizeFailed(w, r, err)
		return nil, "", "", false
	}
	return plan, userID, sid, true
}

// browserSession returns the person and session of the portal refresh
// cookie, or empty strings when no one is signed in. err is a refusal of
// the cookie's check (its guard's rate limit) or a failure.
func (s *Server) browserSession(r *http.Request) (userID, sid string, err error) {
	tok, err := s.cookies.RefreshCookie(r)
	if err != nil || tok == "" {
		return "", "", err
	}
	userID, sid, err = s.oauth.SignedIn(r.Context(), tok)
	if gatehouse.ErrorCode(err) == gatehouse.EUnauthorized {
		return "", "", nil
	}
	return userID, sid, err
}

// loggedOut redirects to the plan's registered post-logout URI with state
// (303), or shows gatehouse's own page.
func (s *Server) loggedOut(w http.ResponseWriter, r *http.Request, plan *auth.LogoutPlan, req auth.LogoutRequest) {
	if plan.RedirectURI == "" {
		web.SetSecurityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		logoutTmpl.Execute(w, logoutData{Done: true})
		return
	}
	target := plan.RedirectURI
	if req.State != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + url.Values{"state": {req.State}}.Encode()
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// logoutTmpl is the RP-initiated logout confirmation and its result, in
// the portal's design (as pageTmpl: /app.css, no script, no inline style).
// Ending a session is a form with a button: no GET does it alone.
var logoutTmpl = template.Must(template.New("logout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Done}}Signed out{{else}}Sign out?{{end}} · gatehouse</title><link rel="stylesheet" href="/app.css"></head>
<body><main class="center"><div class="card narrow">
<p class="brand-lg"><img src="/icon.svg" alt="" width="32" height="32"> gatehouse</p>
{{if .Done}}<h1>Signed out</h1>
<p role="status" class="notice">You are signed out of gatehouse.</p>
<p><a class="button primary" href="/">Sign in again</a></p>{{else}}<h1>Sign out?</h1>
<form method="post" action="/v1/oauth/logout" id="logout">
<p>{{if .Client}}<strong>{{.Client}}</strong> asks to sign you out of gatehouse.{{else}}An application asks to sign you out of gatehouse.{{end}}</p>
<p class="small muted">You will need to sign in again here{{if .Client}}, and {{.Client}} loses access until you allow it again{{end}}.</p>
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<div class="actions"><button type="submit" name="decision" value="logout" class="primary">Sign out</button>
<a class="button" href="/">Stay signed in</a></div>
</form>{{end}}
</div></main></body></html>
`))

type logoutData struct {
	Done   bool
	Client string
	Hidden map[string]string
}

// logoutPage writes the confirmation form, with the portal's headers; the
// CSP's form-action also allows the post-logout URI's origin, where the
// form's answer redirects.
func (s *Server) logoutPage(w http.ResponseWriter, plan *auth.LogoutPlan, req auth.LogoutRequest, tok string) {
	web.SetSecurityHeaders(w.Header())
	if plan.RedirectURI != "" {
		if origin, err := auth.RedirectOrigin(plan.RedirectURI); err == nil {
			w.Header().Set("Content-Security-Policy", strings.Replace(web.CSP, "form-action 'self'", "form-action 'self' "+origin, 1))
		}
	}
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	hidden := map[string]string{"logout_token": tok}
	for k, v := range map[string]string{"client_id": req.ClientID, "post_logout_redirect_uri": req.PostLogoutRedirectURI, "state": req.State} {
		if v != "" {
			hidden[k] = v
		}
	}
	d := logoutData{Hidden: hidden}
	if plan.Client != nil {
		d.Client = plan.Client.Name
		hidden["client_id"] = plan.Client.ClientID
	}
	w.WriteHeader(http.StatusOK)
	logoutTmpl.Execute(w, d)
}
