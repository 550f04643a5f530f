package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// Signing in with another provider (docs/federation.md).

// FederationCookie binds a sign-in in flight to the browser that started it
// (RFC 6749 section 10.12: the state must be tied to the user agent). It is
// always host-only (__Host-: Secure, Path=/, no Domain), HttpOnly and
// short-lived, and SameSite=Lax, not Strict: the callback is a top-level
// navigation that the provider's site starts (a redirect from another
// site), and a browser sends a Strict cookie on no request that another
// site started; Lax cookies are sent on top-level GET navigations, which is
// exactly the callback, and on no cross-site subresource or POST.
const FederationCookie = "__Host-gatehouse_fed"

// LinkCookie binds a link ticket (POST /v1/me/identities from a browser)
// to that browser: the start endpoint accepts the ticket only with it. The
// same attributes as FederationCookie; 5 minutes.
const LinkCookie = "__Host-gatehouse_link"

const (
	federationCookieMaxAge = int(auth.DefaultFederationStateTTL / time.Second)
	linkCookieMaxAge       = 5 * 60
)

func (s *Server) setFederationCookie(w http.ResponseWriter, value string, maxAge int) {
	setLaxCookie(w, FederationCookie, value, maxAge)
}

func setLaxCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

// withFederation is h when Deps.Federation is wired; else 503.
func (s *Server) withFederation(h handlerFunc) handlerFunc {
	if s.federation != nil {
		return h
	}
	return func(http.ResponseWriter, *http.Request) error {
		return gatehouse.Errorf(gatehouse.EUnavailable, "signing in with another provider is not available")
	}
}

var errReturnTo = gatehouse.Errorf(gatehouse.EInvalidRequest, "return_to must be an absolute URL on gatehouse's own origin or an allowed origin")

// checkReturnTo accepts where a sign-in may send the browser back to: an
// absolute http(s) URL whose origin is exactly gatehouse's own or one of
// GATEHOUSE_CORS_ORIGINS (OWASP Unvalidated Redirects and Forwards Cheat
// Sheet: an allow-list, never a pattern). Empty means gatehouse's portal.
// Refused: anything relative ("/x", "//evil"), opaque ("https:evil"), with
// userinfo, backslashes, control characters or spaces, percent-encoding in
// the host, or encoded slashes or backslashes in the path (which some
// servers decode and then read "//evil" as a host).
func (s *Server) checkReturnTo(raw string) (string, error) {
	if raw == "" {
		return s.ownOrigin + "/", nil
	}
	if len(raw) > 2048 || strings.ContainsRune(raw, '\\') {
		return "", errReturnTo
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f {
			return "", errReturnTo
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.User != nil || u.Host == "" || strings.Contains(u.Host, "%") ||
		strings.HasPrefix(u.Path, "//") {
		return "", errReturnTo
	}
	if lp := strings.ToLower(u.RawPath + u.EscapedPath()); strings.Contains(lp, "%2f") || strings.Contains(lp, "%5c") {
		return "", errReturnTo
	}
	o, err := NormalizeOrigin(u.Scheme + "://" + u.Host)
	if err != nil || (o != s.ownOrigin && !s.corsAllowed[o]) {
		return "", errReturnTo
	}
	return u.String(), nil
}

// listProviders: GET /v1/auth/providers → {"providers":[{"id","name"}]}.
func (s *Server) listProviders(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.federation.Providers(r.Context())
	if err != nil {
		return err
	}
	type item struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	out := make([]item, 0, len(ps))
	for _, p := range ps {
		out = append(out, item{p.ID, p.Name})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"providers": out})
}

// startProvider: GET /v1/auth/providers/{id}/start?return_to=URL (or
// ?link=TICKET from POST /v1/me/identities) → 302 to the provider, with the
// binding cookie set. A failure shows a browser's navigation a page in words.
func (s *Server) startProvider(w http.ResponseWriter, r *http.Request) error {
	if err := s.beginProvider(w, r); err != nil {
		s.federationPage(w, r, err)
	}
	return nil
}

func (s *Server) beginProvider(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if len(q["return_to"]) > 1 || len(q["link"]) > 1 {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "a parameter appears twice")
	}
	returnTo, err := s.checkReturnTo(q.Get("return_to"))
	if err != nil {
		return err
	}
	var linkBinding string
	if q.Get("link") != "" {
		if linkBinding, err = readOne(r, LinkCookie); err != nil {
			return err
		}
		setLaxCookie(w, LinkCookie, "", -1)
	}
	to, binding, err := s.federation.Start(r.Context(), r.PathValue("id"), returnTo, q.Get("link"), linkBinding)
	if err != nil {
		return err
	}
	s.setFederationCookie(w, binding, federationCookieMaxAge)
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// providerCallback: GET /v1/auth/providers/{id}/callback → the person
// signed in (cookie mode) or the identity linked, then 302 to return_to.
// The binding cookie is cleared whatever happens: a state is single use.
// A failure shows a browser's navigation a page in words (federation_page.go).
func (s *Server) providerCallback(w http.ResponseWriter, r *http.Request) error {
	if err := s.finishProvider(w, r); err != nil {
		s.federationPage(w, r, err)
	}
	return nil
}

func (s *Server) finishProvider(w http.ResponseWriter, r *http.Request) error {
	binding, err := readOne(r, FederationCookie)
	s.setFederationCookie(w, "", -1)
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err != nil {
		return err
	}
	if s.cookies == nil {
		return gatehouse.Errorf(gatehouse.EUnavailable, "browser sign-in is not available")
	}
	q := r.URL.Query()
	if len(q["state"]) > 1 || len(q["code"]) > 1 {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "a parameter appears twice")
	}
	res, err := s.federation.Finish(r.Context(), r.PathValue("id"),
		auth.Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), Binding: binding})
	if err != nil {
		return err
	}
	if res.Tokens != nil {
		s.cookies.SetSessionCookies(w, res.Tokens.RefreshToken, res.Tokens.CSRFToken)
	}
	w.Header().Set("Cache-Control", "no-store")
	if res.MFA != nil {
		http.Redirect(w, r, mfaReturnTo(res.ReturnTo, res.MFA), http.StatusFound)
		return nil
	}
	http.Redirect(w, r, res.ReturnTo, http.StatusFound)
	return nil
}

// mfaReturnTo is returnTo with a sign-in's second-factor step in its
// fragment (docs/federation.md): error=mfa_required, the mfa_token and the
// factor types, form-encoded as RFC 6749 section 4.2.2 puts a response in a
// fragment. A fragment is never sent to a server (so no access log or proxy
// sees the token) nor in a Referer (the Fetch standard strips it); the page
// reads it and removes it from its address and history at once. The
// mfa_token alone signs nobody in: it still needs the second factor, within
// 5 minutes. Any fragment of returnTo is replaced.
func mfaReturnTo(returnTo string, e *auth.MFARequiredError) string {
	if i := strings.IndexByte(returnTo, '#'); i >= 0 {
		returnTo = returnTo[:i]
	}
	var types []string
	for _, f := range e.Factors {
		if t := string(f.Type); !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	v := url.Values{"error": {string(gatehouse.EMFARequired)}, "mfa_token": {e.Token}, "factors": {strings.Join(types, ",")}}
	return returnTo + "#" + v.Encode()
}

type identityJSON struct {
	ID           string    `json:"id"`
	ProviderID   string    `json:"provider_id"`
	ProviderName string    `json:"provider_name"`
	Subject      string    `json:"subject"`
	Email        string    `json:"email,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// listIdentities: GET /v1/me/identities → {"identities":[…]}.
func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.federation.Identities(r.Context(), principal(r))
	if err != nil {
		return err
	}
	out := make([]identityJSON, 0, len(ids))
	for _, i := range ids {
		out = append(out, identityJSON{ID: i.ID, ProviderID: i.ProviderID, ProviderName: i.ProviderName, Subject: i.Subject, Email: i.Email, CreatedAt: i.CreatedAt.UTC()})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"identities": out})
}

// linkIdentity: POST /v1/me/identities {provider_id} → 200 {"url"}: the
// browser opens url to link the provider to the account; it comes back to
// the portal.
func (s *Server) linkIdentity(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ProviderID string `json:"provider_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	// A browser (cookie mode) gets the ticket bound to a cookie of its own.
	u, binding, err := s.federation.LinkURL(r.Context(), principal(r), in.ProviderID, s.ownOrigin+"/", s.cookieMode(r))
	if err != nil {
		return err
	}
	if binding != "" {
		setLaxCookie(w, LinkCookie, binding, linkCookieMaxAge)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"url": u})
}

// unlinkIdentity: DELETE /v1/me/identities/{id} → 204.
func (s *Server) unlinkIdentity(w http.ResponseWriter, r *http.Request) error {
	if err := s.federation.Unlink(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type domainJSON struct {
	ID          string     `json:"id"`
	Domain      string     `json:"domain"`
	Token       string     `json:"token"`
	RecordName  string     `json:"record_name"`
	RecordValue string     `json:"record_value"`
	Verified    bool       `json:"verified"`
	CreatedAt   time.Time  `json:"created_at"`
	VerifiedAt  *time.Time `json:"verified_at,omitempty"`
}

func domainOut(d *gatehouse.WorkspaceDomain) domainJSON {
	out := domainJSON{ID: d.ID, Domain: d.Domain, Token: d.Token, RecordName: "_gatehouse." + d.Domain,
		RecordValue: "gatehouse-verify=" + d.Token, Verified: !d.VerifiedAt.IsZero(), CreatedAt: d.CreatedAt.UTC()}
	if out.Verified {
		v := d.VerifiedAt.UTC()
		out.VerifiedAt = &v
	}
	return out
}

// addDomain: POST /v1/workspaces/{id}/domains {domain} → 201 {id, token, …}.
func (s *Server) addDomain(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Domain string `json:"domain"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.federation.AddDomain(r.Context(), principal(r), r.PathValue("id"), in.Domain)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, domainOut(d))
}

// listDomains: GET /v1/workspaces/{id}/domains → {"domains":[…]}.
func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.federation.Domains(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]domainJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, domainOut(d))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"domains": out})
}

// verifyDomain: POST /v1/workspaces/{id}/domains/{domain_id}/verify → 200.
func (s *Server) verifyDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := s.federation.VerifyDomain(r.Context(), principal(r), r.PathValue("id"), r.PathValue("domain_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, domainOut(d))
}
