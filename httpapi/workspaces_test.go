package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// storeAuthenticator is testAuthenticator over a real store: "user.<id>"
// is a real, live session of that user (made at first use), so that writes,
// which check the session (auth.Core.WriteTx), see a live one.
type storeAuthenticator struct {
	s        gatehouse.Store
	mu       sync.Mutex
	sessions map[string]string
}

func (a *storeAuthenticator) Authenticate(r *http.Request) (*gatehouse.Principal, error) {
	p, err := testAuthenticator{}.Authenticate(r)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	sid, ok := a.sessions[p.UserID]
	if !ok && gatehouse.ValidID(p.UserID) {
		now := time.Now().UTC().Truncate(time.Microsecond)
		sess := &gatehouse.Session{ID: gatehouse.NewID(now), UserID: p.UserID, Method: gatehouse.MethodPassword,
			CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), RefreshHash: make([]byte, 32), AMR: []string{"pwd"}, AuthTime: now}
		ctx := context.Background()
		if a.s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateSession(ctx, sess) }) == nil {
			sid = sess.ID // else no such account: the principal keeps a session that does not exist
			a.sessions[p.UserID] = sid
		}
	}
	if sid != "" {
		p.SessionID = sid
	}
	return p, nil
}

func withStore(s gatehouse.Store) option {
	return func(_ *Config, d *Deps) {
		d.Auth = &storeAuthenticator{s: s, sessions: map[string]string{}}
		core := auth.NewCore(s, d.Logger)
		d.Workspaces = &auth.Workspaces{Core: core}
		d.AuditLog = &auth.AuditLog{Core: core}
		d.Profile = &auth.Profile{Core: core}
	}
}

func createUser(t *testing.T, s gatehouse.Store, email string, admin bool) string {
	t.Helper()
	now := time.Now()
	u := &gatehouse.User{ID: gatehouse.NewID(now), Email: email, Status: gatehouse.StatusActive, Admin: admin, CreatedAt: now, UpdatedAt: now}
	if err := s.Tx(context.Background(), gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateUser(context.Background(), u) }); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// call sends a JSON request as user (empty: no credentials) and decodes the
// answer into a map.
func call(t *testing.T, h http.Handler, method, path, user, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		r.Header.Set("Authorization", "Bearer user."+user)
	}
	w := do(h, r)
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s %s: Cache-Control %q", method, path, got)
	}
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body.String(), err)
		}
	}
	return w.Code, out
}

func TestWorkspaceRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		e := newEnv(t, withStore(s))
		alice, bob := createUser(t, s, "alice@example.com", false), createUser(t, s, "bob@example.com", false)
		root := createUser(t, s, "root@example.com", true)

		if code, me := call(t, e.s, "GET", "/v1/me", alice, ""); code != 200 || me["id"] != alice || me["email"] != "alice@example.com" || me["status"] != "active" {
			t.Fatalf("me: %d %v", code, me)
		}
		if code, out := call(t, e.s, "GET", "/v1/me", gatehouse.NewID(time.Now()), ""); code != 401 || out["error"] != "unauthorized" {
			t.Fatalf("me of a deleted account: %d %v", code, out)
		}
		if code, out := call(t, e.s, "POST", "/v1/workspaces", "", `{"name":"x"}`); code != 401 || out["error"] != "unauthorized" {
			t.Fatalf("unauthenticated: %d %v", code, out)
		}
		if code, out := call(t, e.s, "POST", "/v1/workspaces", alice, `{"name":"Acme","extra":1}`); code != 400 || out["error"] != "invalid_request" {
			t.Fatalf("unknown field: %d %v", code, out)
		}
		code, ws := call(t, e.s, "POST", "/v1/workspaces", alice, `{"name":"Acme"}`)
		if code != 201 || ws["name"] != "Acme" {
			t.Fatalf("create: %d %v", code, ws)
		}
		id := ws["id"].(string)
		if code, out := call(t, e.s, "GET", "/v1/workspaces", alice, ""); code != 200 || len(out["workspaces"].([]any)) != 1 {
			t.Fatalf("list: %d %v", code, out)
		}
		if code, out := call(t, e.s, "GET", "/v1/workspaces", bob, ""); code != 200 || len(out["workspaces"].([]any)) != 0 {
			t.Fatalf("bob's list: %d %v", code, out)
		}
		// Every path under a workspace answers 404 to a non-member.
		for _, p := range []string{"", "/members", "/audit-events"} {
			if code, out := call(t, e.s, "GET", "/v1/workspaces/"+id+p, bob, ""); code != 404 || out["error"] != "not_found" {
				t.Fatalf("non-member GET %s: %d %v", p, code, out)
			}
		}
		if code, _ := call(t, e.s, "DELETE", "/v1/workspaces/"+id+"/members/"+alice, bob, ""); code != 404 {
			t.Fatalf("non-member DELETE: %d", code)
		}
		// Whatever the body: a non-member learns nothing from validation.
		for _, b := range []string{`{}`, `{"email":"nobody","role":"king"}`} {
			if code, out := call(t, e.s, "POST", "/v1/workspaces/"+id+"/members", bob, b); code != 404 || out["error"] != "not_found" {
				t.Fatalf("non-member POST members %s: %d %v", b, code, out)
			}
		}
		for _, q := range []string{"bogus=1", "limit=0", "actor=%00"} {
			if code, out := call(t, e.s, "GET", "/v1/workspaces/"+id+"/audit-events?"+q, bob, ""); code != 404 || out["error"] != "not_found" {
				t.Fatalf("non-member audit-events?%s: %d %v", q, code, out)
			}
		}
		for _, b := range []string{`{}`, `{"role":"king"}`} {
			if code, out := call(t, e.s, "PATCH", "/v1/workspaces/"+id+"/members/"+alice, bob, b); code != 404 || out["error"] != "not_found" {
				t.Fatalf("non-member PATCH member %s: %d %v", b, code, out)
			}
		}
		if code, m := call(t, e.s, "POST", "/v1/workspaces/"+id+"/members", alice, `{"email":"bob@example.com","role":"member"}`); code != 201 || m["user_id"] != bob || m["role"] != "member" {
			t.Fatalf("add: %d %v", code, m)
		}
		if code, out := call(t, e.s, "POST", "/v1/workspaces/"+id+"/members", alice, `{"email":"bob@example.com","role":"member"}`); code != 409 || out["error"] != "conflict" {
			t.Fatalf("add twice: %d %v", code, out)
		}
		if code, out := call(t, e.s, "POST", "/v1/workspaces/"+id+"/members", alice, `{"email":"x@example.com","role":"king"}`); code != 400 {
			t.Fatalf("bad role: %d %v", code, out)
		}
		if code, out := call(t, e.s, "GET", "/v1/workspaces/"+id+"/audit-events", bob, ""); code != 403 || out["error"] != "forbidden" {
			t.Fatalf("member reads trail: %d %v", code, out)
		}
		if code, m := call(t, e.s, "PATCH", "/v1/workspaces/"+id+"/members/"+bob, alice, `{"role":"admin"}`); code != 200 || m["role"] != "admin" {
			t.Fatalf("patch: %d %v", code, m)
		}
		if code, out := call(t, e.s, "GET", "/v1/workspaces/"+id+"/members", bob, ""); code != 200 || len(out["members"].([]any)) != 2 {
			t.Fatalf("members: %d %v", code, out)
		}
		code, page := call(t, e.s, "GET", "/v1/workspaces/"+id+"/audit-events?limit=2", bob, "")
		if code != 200 || len(page["events"].([]any)) != 2 || page["next_cursor"] == nil {
			t.Fatalf("trail page: %d %v", code, page)
		}
		code, page = call(t, e.s, "GET", "/v1/workspaces/"+id+"/audit-events?limit=2&cursor="+page["next_cursor"].(string), bob, "")
		if code != 200 || len(page["events"].([]any)) != 1 || page["next_cursor"] != nil {
			t.Fatalf("last page: %d %v", code, page)
		}
		code, page = call(t, e.s, "GET", "/v1/workspaces/"+id+"/audit-events?type=member.added&actor="+alice, alice, "")
		if code != 200 || len(page["events"].([]any)) != 1 {
			t.Fatalf("filtered: %d %v", code, page)
		}
		ev := page["events"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "time", "type", "outcome", "actor", "target", "workspace_id", "ip", "user_agent", "request_id", "details"} {
			if _, ok := ev[k]; !ok {
				t.Fatalf("event lacks %q: %v", k, ev)
			}
		}
		if ev["ip"] != "192.0.2.0" { // httptest's RemoteAddr 192.0.2.1, cut to /24
			t.Fatalf("event ip %v", ev["ip"])
		}
		for _, q := range []string{"since=yesterday", "limit=0", "limit=500", "cursor=abc", "type=a&type=b", "bogus=1",
			"actor=%00", "actor=%ff", "type=%ff%fe", "type=a%00b"} {
			if code, out := call(t, e.s, "GET", "/v1/workspaces/"+id+"/audit-events?"+q, alice, ""); code != 400 || out["error"] != "invalid_request" {
				t.Fatalf("query %s: %d %v", q, code, out)
			}
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if code, page := call(t, e.s, "GET", "/v1/workspaces/"+id+"/audit-events?since="+future, alice, ""); code != 200 || len(page["events"].([]any)) != 0 {
			t.Fatalf("since future: %d %v", code, page)
		}
		if code, _ := call(t, e.s, "DELETE", "/v1/workspaces/"+id+"/members/"+bob, alice, ""); code != 204 {
			t.Fatalf("remove: %d", code)
		}
		// The instance trail is for instance admins only.
		if code, _ := call(t, e.s, "GET", "/v1/admin/audit-events", alice, ""); code != 403 {
			t.Fatalf("non-admin instance trail: %d", code)
		}
		if code, page := call(t, e.s, "GET", "/v1/admin/audit-events", root, ""); code != 200 || len(page["events"].([]any)) != 4 {
			t.Fatalf("admin trail: %d %v", code, page)
		}
	})
}
