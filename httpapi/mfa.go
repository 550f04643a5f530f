package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// Second factors and passkeys (docs/mfa.md).

// withMFA is h when Deps.MFA is wired; else the route answers 503.
func (s *Server) withMFA(h handlerFunc) handlerFunc {
	if s.mfa != nil && s.sessions != nil {
		return h
	}
	return func(http.ResponseWriter, *http.Request) error {
		return gatehouse.Errorf(gatehouse.EUnavailable, "second factors are not available")
	}
}

type factorRefJSON struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// writeMFARequired is writeError's body for auth.MFARequiredError: 403
// {"error":"mfa_required","error_description","mfa_token","factors"}.
func writeMFARequired(w http.ResponseWriter, e *auth.MFARequiredError) {
	out := struct {
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
		MFAToken    string          `json:"mfa_token"`
		Factors     []factorRefJSON `json:"factors"`
	}{Error: string(gatehouse.EMFARequired), Description: gatehouse.ErrorMessage(e), MFAToken: e.Token, Factors: []factorRefJSON{}}
	for _, f := range e.Factors {
		out.Factors = append(out.Factors, factorRefJSON{ID: f.ID, Type: string(f.Type)})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(out)
}

type webauthnOptionsJSON struct {
	FlowID    string          `json:"flow_id"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func writeOptions(w http.ResponseWriter, o *auth.WebAuthnOptions) error {
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, webauthnOptionsJSON{FlowID: o.FlowID, PublicKey: o.PublicKey})
}

type factorJSON struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func factorOut(f auth.FactorInfo) factorJSON {
	out := factorJSON{ID: f.ID, Type: string(f.Type), Name: f.Name, Status: f.Status, CreatedAt: f.CreatedAt.UTC()}
	if !f.LastUsedAt.IsZero() {
		t := f.LastUsedAt.UTC()
		out.LastUsedAt = &t
	}
	return out
}

// enrolTOTP: POST /v1/mfa/totp → 201 {id, secret, otpauth_uri} (pending).
func (s *Server) enrolTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := s.mfa.EnrolTOTP(r.Context(), principal(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, map[string]string{"id": e.ID, "secret": e.Secret, "otpauth_uri": e.OTPAuthURI, "status": gatehouse.FactorPending})
}

// confirmTOTP: POST /v1/mfa/totp/{id}/confirm {code} → 200 (active).
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.mfa.ConfirmTOTP(r.Context(), principal(r), r.PathValue("id"), in.Code); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "type": string(gatehouse.FactorTOTP), "status": gatehouse.FactorActive})
}

// passkeyRegistrationOptions: POST /v1/webauthn/registration/options.
func (s *Server) passkeyRegistrationOptions(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		var in struct{}
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	o, err := s.mfa.PasskeyRegistrationOptions(r.Context(), principal(r))
	if err != nil {
		return err
	}
	return writeOptions(w, o)
}

// registerPasskey: POST /v1/webauthn/registration {flow_id, name, credential} → 201.
func (s *Server) registerPasskey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		FlowID     string          `json:"flow_id"`
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.FlowID == "" || len(in.Credential) == 0 {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "flow_id and credential are required")
	}
	f, err := s.mfa.RegisterPasskey(r.Context(), principal(r), in.FlowID, in.Name, in.Credential)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, factorOut(*f))
}

// listFactors: GET /v1/mfa/factors → {"factors": […]}.
func (s *Server) listFactors(w http.ResponseWriter, r *http.Request) error {
	list, err := s.mfa.Factors(r.Context(), principal(r))
	if err != nil {
		return err
	}
	out := make([]factorJSON, 0, len(list))
	for _, f := range list {
		out = append(out, factorOut(f))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"factors": out})
}

// removeFactor: DELETE /v1/mfa/factors/{id} → 204.
func (s *Server) removeFactor(w http.ResponseWriter, r *http.Request) error {
	if err := s.mfa.RemoveFactor(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// recoveryCodes: POST /v1/mfa/recovery-codes → 201 {"codes": [10]}.
func (s *Server) recoveryCodes(w http.ResponseWriter, r *http.Request) error {
	codes, err := s.mfa.RecoveryCodes(r.Context(), principal(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, map[string]any{"codes": codes})
}

// secondFactorJSON is the second-factor part of a request body.
type secondFactorJSON struct {
	Code       string          `json:"code"`
	FlowID     string          `json:"flow_id"`
	Credential json.RawMessage `json:"credential"`
}

func (in secondFactorJSON) factor() auth.SecondFactor {
	return auth.SecondFactor{Code: in.Code, FlowID: in.FlowID, Credential: in.Credential}
}

// verifyMFA: POST /v1/auth/mfa/verify {mfa_token, code} or {mfa_token,
// flow_id, credential} → token response.
func (s *Server) verifyMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MFAToken string `json:"mfa_token"`
		secondFactorJSON
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	tr, err := s.mfa.VerifyMFA(r.Context(), in.MFAToken, in.factor())
	if err != nil {
		return err
	}
	return s.writeTokens(w, r, tr)
}

// mfaWebAuthnOptions: POST /v1/auth/mfa/webauthn/options {mfa_token}.
func (s *Server) mfaWebAuthnOptions(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MFAToken string `json:"mfa_token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := s.mfa.MFAWebAuthnOptions(r.Context(), in.MFAToken)
	if err != nil {
		return err
	}
	return writeOptions(w, o)
}

// passkeyOptions: POST /v1/auth/passkey/options.
func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		var in struct{}
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	o, err := s.mfa.PasskeyOptions(r.Context())
	if err != nil {
		return err
	}
	return writeOptions(w, o)
}

// passkeyLogin: POST /v1/auth/passkey {flow_id, credential} → token response.
func (s *Server) passkeyLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		FlowID     string          `json:"flow_id"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	tr, err := s.mfa.PasskeyLogin(r.Context(), in.FlowID, in.Credential)
	if err != nil {
		return err
	}
	return s.writeTokens(w, r, tr)
}

// reauthenticate: POST /v1/auth/reauthenticate {password} or the
// second-factor fields → 200 token response for the same session (a new
// access token with a fresh auth_time; the refresh token is unchanged, so
// none is returned).
func (s *Server) reauthenticate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
		secondFactorJSON
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Password == "" && in.Code == "" && len(in.Credential) == 0 {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "password, code, or flow_id and credential, are required")
	}
	tr, err := s.mfa.Reauthenticate(r.Context(), principal(r), in.Password, in.factor())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	out := tokenJSON{TokenType: "Bearer", AccessToken: tr.AccessToken, ExpiresIn: int64(tr.ExpiresIn / time.Second), SessionID: tr.SessionID}
	if s.cookieMode(r) {
		out.CSRFToken = tr.CSRFToken
	}
	return writeJSON(w, http.StatusOK, out)
}

// reauthOptions: POST /v1/auth/reauthenticate/webauthn/options → passkey
// options for re-authenticating with a passkey.
func (s *Server) reauthOptions(w http.ResponseWriter, r *http.Request) error {
	o, err := s.mfa.ReauthOptions(r.Context(), principal(r))
	if err != nil {
		return err
	}
	return writeOptions(w, o)
}

// updateWorkspacePolicy: PATCH /v1/workspaces/{id} {"require_mfa": bool}
// (owners) → 200 the workspace with its policy.
func (s *Server) updateWorkspacePolicy(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RequireMFA *bool `json:"require_mfa"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.RequireMFA == nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "require_mfa is required")
	}
	ws, err := s.workspaces.SetRequireMFA(r.Context(), principal(r), r.PathValue("id"), *in.RequireMFA)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		workspaceJSON
		RequireMFA bool `json:"require_mfa"`
	}{workspaceOut(ws), *in.RequireMFA})
}
