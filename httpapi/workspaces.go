package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

type workspaceJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func workspaceOut(w *gatehouse.Workspace) workspaceJSON {
	return workspaceJSON{ID: w.ID, Name: w.Name, CreatedAt: w.CreatedAt.UTC()}
}

type memberJSON struct {
	WorkspaceID string    `json:"workspace_id"`
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
}

func memberOut(m *gatehouse.Member) memberJSON {
	return memberJSON{WorkspaceID: m.WorkspaceID, UserID: m.UserID, Email: m.Email, Role: string(m.Role), CreatedAt: m.CreatedAt.UTC()}
}

func principal(r *http.Request) *gatehouse.Principal {
	return gatehouse.PrincipalFromContext(r.Context())
}

func (s *Server) createWorkspace(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ws, err := s.workspaces.Create(r.Context(), principal(r), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, workspaceOut(ws))
}

func (s *Server) listWorkspaces(w http.ResponseWriter, r *http.Request) error {
	list, err := s.workspaces.List(r.Context(), principal(r))
	if err != nil {
		return err
	}
	out := make([]workspaceJSON, 0, len(list))
	for _, ws := range list {
		out = append(out, workspaceOut(ws))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"workspaces": out})
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.workspaces.Get(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	// The workspace's policy (docs/mfa.md), for the portal's Settings tab.
	req, err := s.workspaces.RequiresMFA(r.Context(), principal(r), ws.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		workspaceJSON
		RequireMFA bool `json:"require_mfa"`
	}{workspaceOut(ws), req})
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.workspaces.AddMember(r.Context(), principal(r), r.PathValue("id"), in.Email, gatehouse.Role(in.Role))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, memberOut(m))
}

// listMembers answers one page of members, oldest first: limit (1 to
// gatehouse.MaxMembersPage, default gatehouse.DefaultMembersPage) and
// cursor (a previous page's next_cursor).
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, badQuery := 0, error(nil)
	for k, v := range q {
		switch {
		case k != "limit" && k != "cursor":
			badQuery = gatehouse.Errorf(gatehouse.EInvalidRequest, "unknown query parameter %q", clip(k, 32))
		case len(v) > 1:
			badQuery = gatehouse.Errorf(gatehouse.EInvalidRequest, "query parameter %q is given more than once", k)
		}
	}
	if v := q.Get("limit"); v != "" && badQuery == nil {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gatehouse.MaxMembersPage {
			badQuery = gatehouse.Errorf(gatehouse.EInvalidRequest, "limit must be 1 to %d", gatehouse.MaxMembersPage)
		}
		limit = n
	}
	if badQuery != nil {
		// A non-member gets 404 whatever the query (docs/openapi.yaml).
		if _, werr := s.workspaces.Get(r.Context(), principal(r), r.PathValue("id")); gatehouse.ErrorCode(werr) == gatehouse.ENotFound {
			return werr
		}
		return badQuery
	}
	p, err := s.workspaces.MembersPage(r.Context(), principal(r), r.PathValue("id"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(p.Members))
	for _, m := range p.Members {
		out = append(out, memberOut(m))
	}
	var next *string
	if p.NextCursor != "" {
		next = &p.NextCursor
	}
	return writeJSON(w, http.StatusOK, map[string]any{"members": out, "next_cursor": next})
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.workspaces.UpdateMember(r.Context(), principal(r), r.PathValue("id"), r.PathValue("user_id"), gatehouse.Role(in.Role))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, memberOut(m))
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.workspaces.RemoveMember(r.Context(), principal(r), r.PathValue("id"), r.PathValue("user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type eventJSON struct {
	ID          string            `json:"id"`
	Time        time.Time         `json:"time"`
	Type        string            `json:"type"`
	Outcome     string            `json:"outcome"`
	Actor       string            `json:"actor"`
	Target      string            `json:"target"`
	WorkspaceID *string           `json:"workspace_id"`
	IP          string            `json:"ip"`
	UserAgent   string            `json:"user_agent"`
	RequestID   string            `json:"request_id"`
	Details     map[string]string `json:"details"`
}

func eventsOut(p *auth.AuditPage) map[string]any {
	out := make([]eventJSON, 0, len(p.Events))
	for _, ev := range p.Events {
		e := eventJSON{ID: ev.ID, Time: ev.Time.UTC(), Type: string(ev.Type), Outcome: string(ev.Outcome), Actor: ev.Actor,
			Target: ev.Target, IP: ev.IP, UserAgent: ev.UserAgent, RequestID: ev.RequestID, Details: ev.Details}
		if ev.WorkspaceID != "" {
			id := ev.WorkspaceID
			e.WorkspaceID = &id
		}
		if e.Details == nil {
			e.Details = map[string]string{}
		}
		out = append(out, e)
	}
	var next *string
	if p.NextCursor != "" {
		next = &p.NextCursor
	}
	return map[string]any{"events": out, "next_cursor": next}
}

// auditFilter reads the audit listing's query: type, actor, since, until
// (RFC 3339), cursor and limit. A parameter given twice is refused.
func auditFilter(q url.Values) (gatehouse.AuditFilter, error) {
	var f gatehouse.AuditFilter
	for k, v := range q {
		if len(v) > 1 {
			return f, gatehouse.Errorf(gatehouse.EInvalidRequest, "query parameter %q is given more than once", clip(k, 32))
		}
		switch k {
		case "type", "actor", "since", "until", "cursor", "limit":
		default:
			return f, gatehouse.Errorf(gatehouse.EInvalidRequest, "unknown query parameter %q", clip(k, 32))
		}
	}
	for _, k := range []string{"type", "actor"} {
		// PostgreSQL refuses a text parameter with a NUL byte or invalid
		// UTF-8 (a 500); no event has such a type or actor.
		if v := q.Get(k); !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return f, gatehouse.Errorf(gatehouse.EInvalidRequest, "%s must be UTF-8 text", k)
		}
	}
	f.Type = gatehouse.EventType(strings.ToValidUTF8(clip(q.Get("type"), 64), ""))
	f.Actor = strings.ToValidUTF8(clip(q.Get("actor"), 200), "")
	f.Before = q.Get("cursor")
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, gatehouse.Errorf(gatehouse.EInvalidRequest, "%s must be an RFC 3339 time", t.name)
			}
			*t.dst = tm
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gatehouse.MaxAuditPage {
			return f, gatehouse.Errorf(gatehouse.EInvalidRequest, "limit must be 1 to %d", gatehouse.MaxAuditPage)
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) workspaceAuditEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		// A non-member gets 404 whatever the query (docs/reference.md §8).
		if _, werr := s.workspaces.Get(r.Context(), principal(r), r.PathValue("id")); gatehouse.ErrorCode(werr) == gatehouse.ENotFound {
			return werr
		}
		return err
	}
	p, err := s.auditLog.Workspace(r.Context(), principal(r), r.PathValue("id"), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventsOut(p))
}

func (s *Server) adminAuditEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	p, err := s.auditLog.Instance(r.Context(), principal(r), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventsOut(p))
}
