package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// SessionCookies is what cookie mode needs from the refresh and CSRF cookies
// (docs/reference.md §4); CookieConfig implements it.
type SessionCookies interface {
	// SetSessionCookies sets the refresh cookie and the CSRF cookie.
	SetSessionCookies(w http.ResponseWriter, refreshToken, csrfToken string)
	// ClearSessionCookies deletes both with the attributes they were set with.
	ClearSessionCookies(w http.ResponseWriter)
	// RefreshCookie returns the refresh cookie's value ("" if none), or
	// invalid_request when it appears more than once.
	RefreshCookie(r *http.Request) (string, error)
}

// CSRFVerifier checks X-CSRF-Token against a session's CSRF token and
// records a refusal; *CSRF implements it.
type CSRFVerifier interface {
	Verify(r *http.Request, sessionID string) error
	Reject(r *http.Request, sessionID string, err error)
}

// tokenJSON is the token response of docs/reference.md §3: refresh_token in
// body mode only, csrf_token in cookie mode only.
type tokenJSON struct {
	TokenType    string `json:"token_type"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	SessionID    string `json:"session_id"`
	RefreshToken string `json:"refresh_token,omitempty"`
	CSRFToken    string `json:"csrf_token,omitempty"`
}

// cookieMode reports whether r gets cookie mode: it carries an Origin header,
// so a browser sent it (docs/reference.md §3, "Delivery mode").
func (s *Server) cookieMode(r *http.Request) bool {
	return s.cookies != nil && r.Header.Get("Origin") != ""
}

// writeTokens answers a sign-in or refresh. In cookie mode the refresh token
// goes only into the HttpOnly cookie and the CSRF token into the body and
// its cookie; in body mode the refresh token is in the body.
func (s *Server) writeTokens(w http.ResponseWriter, r *http.Request, tr *auth.TokenResponse) error {
	out := tokenJSON{
		TokenType:   "Bearer",
		AccessToken: tr.AccessToken,
		ExpiresIn:   int64(tr.ExpiresIn / time.Second),
		SessionID:   tr.SessionID,
	}
	if s.cookieMode(r) {
		s.cookies.SetSessionCookies(w, tr.RefreshToken, tr.CSRFToken)
		out.CSRFToken = tr.CSRFToken
	} else {
		out.RefreshToken = tr.RefreshToken
	}
	w.Header().Set("Pragma", "no-cache")
	return writeJSON(w, http.StatusOK, out)
}

// accountJSON is a person's account as the API shows it.
type accountJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Status    string    `json:"status"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func accountOut(u *gatehouse.User) accountJSON {
	return accountJSON{ID: u.ID, Email: u.Email, Status: string(u.Status), Admin: u.Admin, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// withSessions is h when Deps.Sessions is wired (always, in a running
// gatehouse); without it the route answers 503 instead of panicking. Decided
// once, when the route table is built.
func (s *Server) withSessions(h handlerFunc) handlerFunc {
	if s.sessions != nil {
		return h
	}
	return func(http.ResponseWriter, *http.Request) error {
		return gatehouse.Errorf(gatehouse.EUnavailable, "sign-in is not available")
	}
}

// signup: POST /v1/auth/signup {email, password} → 201 {"user": {…}}, the
// account's fields also at the top level.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.sessions.VerificationRequired() {
		return s.signupRequested(w, r, in.Email, in.Password) // 202 (account.go)
	}
	u, err := s.sessions.Signup(r.Context(), in.Email, in.Password)
	if err != nil {
		return err
	}
	a := accountOut(u)
	return writeJSON(w, http.StatusCreated, struct {
		accountJSON
		User accountJSON `json:"user"`
	}{a, a})
}

// passwordToken: POST /v1/auth/token {email, password} → token response.
func (s *Server) passwordToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	// A browser's device cookie goes in; a successful sign-in in cookie mode
	// gets a new one (auth.DeviceCookie, docs/rate-limits.md).
	dev := &auth.DeviceCookie{}
	dc, _ := s.cookies.(deviceCookies)
	if dc != nil {
		dev.In, _ = dc.DeviceCookie(r) // twice is refused as cookie tossing before this
	}
	tr, err := s.sessions.PasswordLogin(auth.WithDeviceCookie(r.Context(), dev), in.Email, in.Password)
	if err != nil {
		return err
	}
	if dc != nil && dev.Out != "" && s.cookieMode(r) {
		dc.SetDeviceCookie(w, dev.Out)
	}
	return s.writeTokens(w, r, tr)
}

// magicLink: POST /v1/auth/magic-link {email} → 202, whatever the email.
func (s *Server) magicLink(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.sessions.RequestMagicLink(r.Context(), in.Email); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{
		"message": "if this address has an account, a sign-in link is on its way",
	})
}

// magicLinkVerify: POST /v1/auth/magic-link/verify {token} → token response.
func (s *Server) magicLinkVerify(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	tr, err := s.sessions.VerifyMagicLink(r.Context(), in.Token)
	if err != nil {
		return err
	}
	return s.writeTokens(w, r, tr)
}

// refreshInput reads the refresh token of a refresh or logout: from the JSON
// body ({"refresh_token": …}, body mode), else from the refresh cookie. A
// token from the cookie must come with the session's X-CSRF-Token; a refusal
// is recorded (csrf.rejected) and changes nothing. An empty body without a
// Content-Type is allowed (a browser's bare POST).
func (s *Server) refreshInput(r *http.Request) (token string, fromCookie bool, err error) {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		if err := decodeJSON(r, &in); err != nil {
			return "", false, err
		}
	}
	if in.RefreshToken != "" || s.cookies == nil {
		return in.RefreshToken, false, nil
	}
	tok, err := s.cookies.RefreshCookie(r)
	if err != nil || tok == "" {
		return "", false, err
	}
	sid, ok := auth.RefreshTokenSessionID(tok)
	if !ok {
		return tok, true, nil // malformed: invalid_grant, like any unknown token
	}
	if err := s.csrf.Verify(r, sid); err != nil {
		s.csrf.Reject(r, sid, err)
		return "", true, err
	}
	return tok, true, nil
}

var errNoRefresh = gatehouse.Errorf(gatehouse.EInvalidGrant, "a refresh token is required")

// refresh: POST /v1/auth/refresh → token response with a new refresh token.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	tok, fromCookie, err := s.refreshInput(r)
	if err != nil {
		return err
	}
	if tok == "" {
		return errNoRefresh
	}
	tr, err := s.sessions.Refresh(r.Context(), tok)
	if err != nil {
		if fromCookie && gatehouse.ErrorCode(err) == gatehouse.EInvalidGrant {
			s.cookies.ClearSessionCookies(w) // a dead cookie is no use to keep
		}
		return err
	}
	return s.writeTokens(w, r, tr)
}

// logout: POST /v1/auth/logout → 204; the session is revoked and, for a
// browser, its cookies cleared. Logging out without a live session is not an
// error.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	tok, fromCookie, err := s.refreshInput(r)
	if err != nil {
		return err
	}
	if tok != "" {
		if err := s.sessions.Logout(r.Context(), tok); err != nil {
			return err
		}
	}
	if fromCookie || s.cookieMode(r) {
		s.cookies.ClearSessionCookies(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Method     string    `json:"method"`
	AMR        []string  `json:"amr"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// listSessions: GET /v1/auth/sessions → {"sessions": […]}.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.sessions.List(r.Context(), principal(r))
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, x := range list {
		out = append(out, sessionJSON{ID: x.ID, CreatedAt: x.CreatedAt.UTC(), LastUsedAt: x.LastUsedAt.UTC(), ExpiresAt: x.ExpiresAt.UTC(),
			Method: string(x.Method), AMR: amrList(x.AMR), IP: x.IP, UserAgent: x.UserAgent, Current: x.Current})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// amrList is a session's amr for JSON: [] rather than null when empty.
func amrList(amr []string) []string {
	if amr == nil {
		return []string{}
	}
	return amr
}

// revokeSession: DELETE /v1/auth/sessions/{id} → 204.
func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.Revoke(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setUserStatus: PATCH /v1/admin/users/{id} {status, reason} → 200 account.
func (s *Server) setUserStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.sessions.SetStatus(r.Context(), principal(r), r.PathValue("id"), gatehouse.UserStatus(in.Status), in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accountOut(u))
}
