package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/web"
)

// The authorization endpoint of the authorization-code grant (RFC 6749
// section 4.1, RFC 7636, docs/oauth.md). GET checks the request and shows
// the consent page to a person signed in at the portal (the refresh
// cookie); POST carries the decision. Until the client and redirect URI are
// known good, every error is an error page and nothing redirects (section
// 4.1.2.1); after that, errors go back as error redirects with state.

// authorizeParams are the parameters an authorization request carries; each
// may appear once (section 3.1).
var authorizeParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method",
	"nonce", "prompt", "max_age", "login_hint", "id_token_hint", "response_mode", "auth_after"}

// authorizeRequest reads the authorization request from q. dup is the
// first parameter given more than once, if any.
func authorizeRequest(q url.Values) (req auth.AuthorizationRequest, dup string) {
	for _, p := range authorizeParams {
		if len(q[p]) > 1 && dup == "" {
			dup = p
		}
	}
	return auth.AuthorizationRequest{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		ResponseType: q.Get("response_type"), Scope: q.Get("scope"), State: q.Get("state"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"), Nonce: q.Get("nonce")}, dup
}

// authorizeValues returns req's parameters that are not empty.
func authorizeValues(req auth.AuthorizationRequest) map[string]string {
	v := map[string]string{}
	for k, x := range map[string]string{"client_id": req.ClientID, "redirect_uri": req.RedirectURI, "response_type": req.ResponseType,
		"scope": req.Scope, "state": req.State, "code_challenge": req.CodeChallenge, "code_challenge_method": req.CodeChallengeMethod,
		"nonce": req.Nonce} {
		if x != "" {
			v[k] = x
		}
	}
	return v
}

// authorizeQuery returns req as the query of an authorization request.
func authorizeQuery(req auth.AuthorizationRequest) string {
	q := url.Values{}
	for k, x := range authorizeValues(req) {
		q.Set(k, x)
	}
	return q.Encode()
}

// authorizeCheck runs both steps of the request's checks. A nil client
// means an error page (err); a client with an error means an error
// redirect.
func (s *Server) authorizeCheck(r *http.Request, q url.Values) (*gatehouse.Client, auth.AuthorizationRequest, string, error) {
	req, dup := authorizeRequest(q)
	if dup == "client_id" || dup == "redirect_uri" {
		return nil, req, "", gatehouse.Errorf(gatehouse.EInvalidRequest, "%s is given more than once", dup)
	}
	c, err := s.oauth.AuthorizationClient(r.Context(), req.ClientID, req.RedirectURI)
	if err != nil {
		return nil, req, "", err
	}
	if dup != "" {
		return c, req, "", &auth.AuthorizeError{Code: "invalid_request", Description: dup + " is given more than once"}
	}
	scope, err := auth.CheckAuthorization(c, req)
	if err == nil {
		err = oidcParamsCheck(q)
	}
	return c, req, scope, err
}

// oauthAuthorize is GET /v1/oauth/authorize.
func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	if s.oauth == nil || s.oauth.Sessions == nil || s.cookies == nil {
		s.authorizePage(w, r, http.StatusServiceUnavailable, "The authorization endpoint is not available here.")
		return
	}
	c, req, scope, err := s.authorizeCheck(r, r.URL.Query())
	if c == nil {
		s.authorizeFailed(w, r, err)
		return
	}
	if err != nil {
		s.authorizeRedirect(w, r, req, url.Values{}, err)
		return
	}
	tok, err := s.cookies.RefreshCookie(r)
	if err != nil {
		s.authorizeFailed(w, r, err)
		return
	}
	q := r.URL.Query()
	prompt := strings.Fields(q.Get("prompt"))
	userID, sid, err := s.oauth.SignedIn(r.Context(), tok)
	if gatehouse.ErrorCode(err) == gatehouse.EUnauthorized {
		if slices.Contains(prompt, "none") {
			s.authorizeRedirect(w, r, req, url.Values{}, &auth.AuthorizeError{Code: "login_required", Description: "no one is signed in"})
			return
		}
		// Sign in at the portal, which comes back here (web/static/app.js
		// follows only a next of this path).
		s.signInFirst(w, r, req, q, false)
		return
	}
	if err != nil {
		s.authorizeFailed(w, r, err)
		return
	}
	if again, err := s.oauth.ReauthNeeded(r.Context(), sid, q); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInvalidRequest {
			// The client and its redirect URI are good: the error goes
			// back to it (RFC 6749 section 4.1.2.1).
			_, msg := body(err)
			s.authorizeRedirect(w, r, req, url.Values{}, &auth.AuthorizeError{Code: "invalid_request", Description: msg})
			return
		}
		s.authorizeFailed(w, r, err)
		return
	} else if again {
		if slices.Contains(prompt, "none") || q.Get("auth_after") != "" {
			// prompt=none cannot show a sign-in; a request that came back
			// from one and is still not satisfied does not loop.
			s.authorizeRedirect(w, r, req, url.Values{}, &auth.AuthorizeError{Code: "login_required", Description: "the person must sign in again"})
			return
		}
		s.signInFirst(w, r, req, q, true)
		return
	}
	if err := s.oauth.MayApprove(r.Context(), c, userID); err != nil {
		s.authorizeRedirect(w, r, req, url.Values{}, err)
		return
	}
	if slices.Contains(prompt, "none") {
		// Every approval is asked for (docs/oidc.md): none is remembered,
		// so prompt=none never finds consent given.
		s.authorizeRedirect(w, r, req, url.Values{}, &auth.AuthorizeError{Code: "consent_required", Description: "the person must approve the request"})
		return
	}
	email, workspace := s.consentWho(r, c, userID, sid)
	s.consentPageFor(w, r, c, req, scope, s.oauth.ConsentToken(sid, c, req, scope), email, workspace)
}

// signInFirst sends the browser to sign in at the portal, which comes back
// to this request (web/static/app.js follows only a next of this path),
// with login_hint as the hint for the email field. again (prompt=login, or
// a session older than max_age: OpenID Connect Core section 3.1.2.1) asks
// for a new sign-in even with a session: the request comes back with
// auth_after, the time (Unix milliseconds) the new sign-in must follow,
// in place of prompt and
// max_age, so it cannot loop.
func (s *Server) signInFirst(w http.ResponseWriter, r *http.Request, req auth.AuthorizationRequest, q url.Values, again bool) {
	next := url.Values{}
	for k, v := range authorizeValues(req) {
		next.Set(k, v)
	}
	portal := url.Values{}
	if h := q.Get("login_hint"); h != "" && len(h) <= gatehouse.MaxEmailLen {
		next.Set("login_hint", h)
		portal.Set("login_hint", h)
	}
	if again {
		next.Set("auth_after", s.oauth.AuthAfter(next, s.oauth.Now()))
		portal.Set("prompt", "login")
	}
	portal.Set("next", "/v1/oauth/authorize?"+next.Encode())
	http.Redirect(w, r, "/?"+portal.Encode(), http.StatusSeeOther)
}

// oidcParamsCheck checks the OpenID Connect parameters of an authorization
// request (Core section 3.1.2.1) once its client and redirect URI are
// known good; unknown parameters are ignored, as the specification says.
func oidcParamsCheck(q url.Values) error {
	if q.Has("request") {
		return &auth.AuthorizeError{Code: "request_not_supported", Description: "request objects are not supported"}
	}
	if q.Has("request_uri") {
		return &auth.AuthorizeError{Code: "request_uri_not_supported", Description: "request_uri is not supported"}
	}
	if m := q.Get("response_mode"); m != "" && m != "query" {
		return &auth.AuthorizeError{Code: "invalid_request", Description: "the supported response_mode is query"}
	}
	prompt := strings.Fields(q.Get("prompt"))
	for _, p := range prompt {
		switch p {
		case "none", "login", "consent":
		case "select_account":
			return &auth.AuthorizeError{Code: "account_selection_required", Description: "prompt=select_account is not supported"}
		default:
			return &auth.AuthorizeError{Code: "invalid_request", Description: "unknown prompt value"}
		}
	}
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return &auth.AuthorizeError{Code: "invalid_request", Description: "prompt=none cannot be combined with other values"}
	}
	if m := q.Get("max_age"); m != "" {
		if _, err := auth.ParseMaxAge(m); err != nil {
			return &auth.AuthorizeError{Code: "invalid_request", Description: gatehouse.ErrorMessage(err)}
		}
	}
	return nil
}

// oauthDecide is POST /v1/oauth/authorize: the consent form's decision.
// The form carries the request's parameters and the consent token, an
// HMAC bound to the portal session and to those parameters (a GET cannot
// carry X-CSRF-Token); a missing or wrong token is csrf_failed, recorded,
// and changes nothing.
func (s *Server) oauthDecide(w http.ResponseWriter, r *http.Request) {
	if s.oauth == nil || s.oauth.Sessions == nil || s.cookies == nil {
		s.authorizePage(w, r, http.StatusServiceUnavailable, "The authorization endpoint is not available here.")
		return
	}
	form, err := decodeForm(r)
	if err != nil {
		s.authorizeFailed(w, r, err)
		return
	}
	c, req, scope, err := s.authorizeCheck(r, form)
	if c == nil {
		s.authorizeFailed(w, r, err)
		return
	}
	if err != nil {
		s.authorizeRedirect(w, r, req, url.Values{}, err)
		return
	}
	tok, err := s.cookies.RefreshCookie(r)
	if err != nil {
		s.authorizeFailed(w, r, err)
		return
	}
	userID, sid, err := s.oauth.SignedIn(r.Context(), tok)
	if err != nil {
		s.authorizeFailed(w, r, err)
		return
	}
	if len(form["consent_token"]) != 1 || !s.oauth.CheckConsentToken(form.Get("consent_token"), sid, c, req, scope) {
		err := gatehouse.Errorf(gatehouse.ECSRFFailed, "the consent form is stale or forged; start again from the application")
		if s.csrf != nil {
			s.csrf.Reject(r, sid, err)
		}
		s.authorizeFailed(w, r, err)
		return
	}
	switch form.Get("decision") {
	case "approve":
		code, err := s.oauth.IssueCode(r.Context(), c, userID, sid, req, scope)
		if err != nil {
			s.authorizeRedirect(w, r, req, url.Values{}, err)
			return
		}
		s.authorizeRedirect(w, r, req, url.Values{"code": {code}}, nil)
	case "deny":
		s.authorizeRedirect(w, r, req, url.Values{}, &auth.AuthorizeError{Code: "access_denied", Description: "the person declined"})
	default:
		s.authorizeRedirect(w, r, req, url.Values{}, &auth.AuthorizeError{Code: "invalid_request", Description: "decision must be approve or deny"})
	}
}

// authorizeRedirect sends the browser back to the (known good) redirect URI
// with v, state and iss (RFC 9207), or with the error of err (RFC 6749
// section 4.1.2.1): an *auth.AuthorizeError's code, else server_error
// (logged) or temporarily_unavailable. The redirect URI's own query is
// kept. 303, so a POST becomes a GET (RFC 9700 section 4.11).
func (s *Server) authorizeRedirect(w http.ResponseWriter, r *http.Request, req auth.AuthorizationRequest, v url.Values, err error) {
	if err != nil {
		var ae *auth.AuthorizeError
		switch {
		case errors.As(err, &ae):
			v.Set("error", ae.Code)
			v.Set("error_description", ae.Description)
		case gatehouse.ErrorCode(err) == gatehouse.EUnavailable:
			v.Set("error", "temporarily_unavailable")
		default:
			s.logFailure(r, http.StatusInternalServerError, gatehouse.EInternal, err)
			v.Set("error", "server_error")
		}
	}
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", strings.TrimSuffix(s.cfg.PublicURL.String(), "/"))
	target := req.RedirectURI
	if strings.Contains(target, "?") {
		target += "&" + v.Encode()
	} else {
		target += "?" + v.Encode()
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// authorizeFailed shows the error page for an error that must not redirect.
func (s *Server) authorizeFailed(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := body(err)
	status := StatusOf(code)
	if status >= 500 {
		s.logFailure(r, status, code, err)
	}
	s.refused(w, err) // a rate-limit refusal: Retry-After, and counted
	if errors.Is(err, auth.ErrUnknownRedirect) {
		msg = "The application's request names an unknown client or a redirect URI it has not registered, so gatehouse will not send you back to it."
	}
	s.authorizePage(w, r, status, msg)
}

// pageTmpl is the consent and error page, in the portal's design (its
// stylesheet, /app.css; no script, no inline style). The consent page says
// who is signed in, for which workspace, each scope in words and where the
// browser goes next; Allow (primary) and Deny (secondary) look different.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · gatehouse</title><link rel="stylesheet" href="/app.css"></head>
<body><main class="center"><div class="card narrow">
<p class="brand-lg"><img src="/icon.svg" alt="" width="32" height="32"> gatehouse</p>
<h1>{{.Title}}</h1>
{{if .Client}}<form method="post" action="/v1/oauth/authorize" id="consent">
<p><strong>{{.Client}}</strong> asks to act for you{{if .Workspace}} in the workspace <strong>{{.Workspace}}</strong>{{end}}{{if .Scopes}}. It will be able to:{{else}}.{{end}}</p>
{{if .Scopes}}<ul class="scopes">{{range .Scopes}}<li>{{.Words}} <code>{{.Name}}</code></li>{{end}}</ul>{{end}}
<p class="small">Then you will be sent to <code>{{.Redirect}}</code>.</p>
{{if .Email}}<p class="small muted">Signed in as <strong>{{.Email}}</strong>. Not you? <a href="/#/security">Sign out in the portal</a>, then start again from the application.</p>
{{end}}{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<div class="actions"><button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></div>
</form>{{else}}<p role="alert" class="notice error">{{.Message}}</p>
<p class="small muted">Go back to the application and try again. If it keeps happening, tell its developers what this page says.</p>
<p><a class="button primary" href="/">Go to gatehouse</a></p>{{end}}
</div></main></body></html>
`))

// scopeWords says what each scope lets an application do, for the consent
// page (docs/scopes.md).
var scopeWords = map[string]string{
	"profile:read":     "See your email address and account id",
	"workspaces:read":  "See the workspace and its members",
	"workspaces:write": "Manage the workspace's members",
	"audit:read":       "Read the workspace's audit trail",
	"openid":           "Know who you are (your gatehouse user id) and when you signed in",
	"email":            "See your email address",
	"profile":          "See your profile: your email address",
	"offline_access":   "Stay connected when you are not using it",
}

type scopeLine struct{ Name, Words string }

type pageData struct {
	Title, Message, Client, Redirect string
	Email, Workspace                 string
	Scopes                           []scopeLine
	Hidden                           map[string]string
}

func scopeLines(scope string) []scopeLine {
	var out []scopeLine
	for _, s := range strings.Fields(scope) {
		w := scopeWords[s]
		if w == "" {
			w = "Use the permission"
		}
		out = append(out, scopeLine{Name: s, Words: w})
	}
	return out
}

// consentWho returns the signed-in person's address and the client's
// workspace name for the consent page, or empty strings when either cannot
// be read (the page then says less, never something wrong).
func (s *Server) consentWho(r *http.Request, c *gatehouse.Client, userID, sid string) (email, workspace string) {
	p := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: userID, SessionID: sid}
	if s.profile != nil {
		if u, err := s.profile.Me(r.Context(), p); err == nil {
			email = u.Email
		}
	}
	if s.workspaces != nil {
		if w, err := s.workspaces.Get(r.Context(), p, c.WorkspaceID); err == nil {
			workspace = w.Name
		}
	}
	return email, workspace
}

// authorizePage writes an error page with the portal's security headers.
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	web.SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	setUnavailableRetryAfter(w, status, nil)
	w.WriteHeader(status)
	pageTmpl.Execute(w, pageData{Title: "Authorization failed", Message: msg})
}

// consentPage writes the consent form. Its headers are the portal's, with
// two changes: the CSP's form-action also allows the redirect URI's origin,
// since browsers check the redirect that follows the form's submission
// against it, and the Referrer-Policy is same-origin.
func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, c *gatehouse.Client, req auth.AuthorizationRequest, scope, token string) {
	s.consentPageFor(w, r, c, req, scope, token, "", "")
}

// consentPageFor is consentPage naming the signed-in person and the workspace.
func (s *Server) consentPageFor(w http.ResponseWriter, r *http.Request, c *gatehouse.Client, req auth.AuthorizationRequest, scope, token, email, workspace string) {
	// Only the origin of a valid redirect URI (a DNS name or IP literal
	// and a port: auth.RedirectOrigin) reaches the policy, so a redirect
	// URI cannot add a directive of its own.
	origin, err := auth.RedirectOrigin(req.RedirectURI)
	if err != nil {
		s.authorizeFailed(w, r, auth.ErrUnknownRedirect)
		return
	}
	web.SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Security-Policy", strings.Replace(web.CSP, "form-action 'self'", "form-action 'self' "+origin, 1))
	// With no-referrer, browsers send "Origin: null" with the form's POST,
	// which the Origin check refuses; same-origin sends the real origin on
	// the POST and still nothing to the application it redirects to.
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	hidden := authorizeValues(req)
	hidden["consent_token"] = token
	w.WriteHeader(http.StatusOK)
	pageTmpl.Execute(w, pageData{Title: "Allow " + c.Name + "?", Client: c.Name, Redirect: req.RedirectURI,
		Email: email, Workspace: workspace, Scopes: scopeLines(scope), Hidden: hidden})
}
