package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Account self-service (docs/reference.md section 16): verification,
// password reset and change, email change, deletion, invitations and the
// admin's user search. Every decision is in auth (selfservice*.go,
// invitations.go); these handlers decode, call and encode.

// signupRequested: POST /v1/auth/signup with GATEHOUSE_EMAIL_VERIFICATION=
// required → 202 {"status":"verification_sent"} for every well-formed
// request.
func (s *Server) signupRequested(w http.ResponseWriter, r *http.Request, email, password string) error {
	if err := s.sessions.RequestSignup(r.Context(), email, password); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "verification_sent"})
}

// tokenInput reads {"token": …}.
func tokenInput(r *http.Request) (string, error) {
	var in struct {
		Token string `json:"token"`
	}
	err := decodeJSON(r, &in)
	return in.Token, err
}

// verifyEmail: POST /v1/auth/verify-email {token} → token response.
func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	tok, err := tokenInput(r)
	if err != nil {
		return err
	}
	tr, err := s.sessions.VerifyEmail(r.Context(), tok)
	if err != nil {
		return err
	}
	return s.writeTokens(w, r, tr)
}

// passwordReset: POST /v1/auth/password-reset {email} → 202 whatever the email.
func (s *Server) passwordReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.sessions.RequestPasswordReset(r.Context(), in.Email); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{
		"message": "if this address has an account, a reset link is on its way",
	})
}

// passwordResetConfirm: POST /v1/auth/password-reset/confirm {token, password} → 204.
func (s *Server) passwordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.sessions.ConfirmPasswordReset(r.Context(), in.Token, in.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// confirmEmail: POST /v1/auth/confirm-email {token} → 204.
func (s *Server) confirmEmail(w http.ResponseWriter, r *http.Request) error {
	tok, err := tokenInput(r)
	if err != nil {
		return err
	}
	if err := s.sessions.ConfirmEmailChange(r.Context(), tok); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changePassword: POST /v1/me/password {current_password, new_password} → 204.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.sessions.ChangePassword(r.Context(), principal(r), in.Current, in.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changeEmail: POST /v1/me/email {email} → 202.
func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.sessions.RequestEmailChange(r.Context(), principal(r), in.Email); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{
		"message": "a confirmation link is on its way to the new address; the address changes once it is used",
	})
}

// deleteMe: DELETE /v1/me → 204.
func (s *Server) deleteMe(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.DeleteAccount(r.Context(), principal(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type invitationJSON struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	Email       string    `json:"email"`
	Role        string    `json:"role"`
	InvitedBy   string    `json:"invited_by"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func invitationOut(i *gatehouse.Invitation) invitationJSON {
	return invitationJSON{ID: i.ID, WorkspaceID: i.WorkspaceID, Email: i.Email, Role: string(i.Role), InvitedBy: i.InvitedBy,
		CreatedAt: i.CreatedAt.UTC(), ExpiresAt: i.ExpiresAt.UTC()}
}

// createInvitation: POST /v1/workspaces/{id}/invitations {email, role} → 201.
func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	inv, err := s.sessions.Invite(r.Context(), principal(r), r.PathValue("id"), in.Email, gatehouse.Role(in.Role))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, invitationOut(inv))
}

// listInvitations: GET /v1/workspaces/{id}/invitations → {"invitations":[…]}.
func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	invs, err := s.sessions.Invitations(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]invitationJSON, 0, len(invs))
	for _, i := range invs {
		out = append(out, invitationOut(i))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"invitations": out})
}

// revokeInvitation: DELETE /v1/workspaces/{id}/invitations/{invitation_id} → 204.
func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.RevokeInvitation(r.Context(), principal(r), r.PathValue("id"), r.PathValue("invitation_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// acceptInvitation: POST /v1/invitations/accept {token} → 200 the membership.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	tok, err := tokenInput(r)
	if err != nil {
		return err
	}
	m, err := s.sessions.AcceptInvitation(r.Context(), principal(r), tok)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"workspace_id": m.WorkspaceID, "user_id": m.UserID, "email": m.Email,
		"role": string(m.Role), "created_at": m.CreatedAt.UTC()})
}

// adminUsers: GET /v1/admin/users?query=&cursor=&limit= → {"users":[…],"next_cursor"}.
func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page := gatehouse.UserPage{Query: q.Get("query"), Cursor: q.Get("cursor")}
	if len(page.Query) > gatehouse.MaxEmailLen {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "query is too long")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "limit must be 1 to 200")
		}
		page.Limit = n
	}
	users, next, err := s.sessions.SearchUsers(r.Context(), principal(r), page)
	if err != nil {
		return err
	}
	out := make([]adminUserJSON, 0, len(users))
	for _, u := range users {
		out = append(out, adminUserJSON{accountOut(u), !u.EmailVerifiedAt.IsZero()})
	}
	var nc any
	if next != "" {
		nc = next
	}
	return writeJSON(w, http.StatusOK, map[string]any{"users": out, "next_cursor": nc})
}

type adminUserJSON struct {
	accountJSON
	EmailVerified bool `json:"email_verified"`
}
