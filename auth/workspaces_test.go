package auth_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

type fixture struct {
	core *auth.Core
	ws   *auth.Workspaces
	log  *bytes.Buffer
}

func newFixture(s *sqlstore.DB) *fixture {
	var buf bytes.Buffer
	core := auth.NewCore(s, slog.New(slog.NewJSONHandler(&buf, nil)))
	return &fixture{core: core, ws: &auth.Workspaces{Core: core}, log: &buf}
}

// user creates an account directly in the store and returns its session
// principal.
func (f *fixture) user(t *testing.T, email string) *gatehouse.Principal {
	t.Helper()
	now := time.Now().UTC()
	u := &gatehouse.User{ID: gatehouse.NewID(now), Email: email, Status: gatehouse.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := f.core.Store.Tx(context.Background(), gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateUser(context.Background(), u) }); err != nil {
		t.Fatal(err)
	}
	return &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: u.ID, SessionID: testdb.NewSession(t, f.core.Store, u.ID)}
}

func code(err error) gatehouse.Code {
	if err == nil {
		return ""
	}
	return gatehouse.ErrorCode(err)
}

func TestWorkspacesAndMembers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(s)
		alice, bob, carol := f.user(t, "alice@example.com"), f.user(t, "bob@example.com"), f.user(t, "carol@example.com")

		w, err := f.ws.Create(ctx, alice, "  Acme  ")
		if err != nil || w.Name != "Acme" {
			t.Fatalf("create: %v %+v", err, w)
		}
		if _, err := f.ws.Create(ctx, alice, "bad\nname"); code(err) != gatehouse.EInvalidRequest {
			t.Fatalf("control characters in name: %v", err)
		}
		// A non-member sees nothing: not_found for the workspace and below it.
		if _, err := f.ws.Get(ctx, bob, w.ID); code(err) != gatehouse.ENotFound {
			t.Fatalf("non-member get: %v", err)
		}
		if _, err := f.ws.Members(ctx, bob, w.ID); code(err) != gatehouse.ENotFound {
			t.Fatalf("non-member members: %v", err)
		}
		if _, err := f.ws.Get(ctx, bob, "../../etc"); code(err) != gatehouse.ENotFound {
			t.Fatalf("bad id: %v", err)
		}
		if list, err := f.ws.List(ctx, bob); err != nil || len(list) != 0 {
			t.Fatalf("bob's list: %v %v", err, list)
		}

		if _, err := f.ws.AddMember(ctx, alice, w.ID, "BOB@example.com", gatehouse.RoleMember); err != nil {
			t.Fatalf("add bob: %v", err)
		}
		if _, err := f.ws.AddMember(ctx, alice, w.ID, "bob@example.com", gatehouse.RoleAdmin); code(err) != gatehouse.EConflict {
			t.Fatalf("add bob twice: %v", err)
		}
		if _, err := f.ws.AddMember(ctx, alice, w.ID, "nobody@example.com", gatehouse.RoleMember); code(err) != gatehouse.ENotFound {
			t.Fatalf("add unknown: %v", err)
		}
		// A plain member can read but not manage.
		if got, err := f.ws.Get(ctx, bob, w.ID); err != nil || got.ID != w.ID {
			t.Fatalf("member get: %v", err)
		}
		if _, err := f.ws.AddMember(ctx, bob, w.ID, "carol@example.com", gatehouse.RoleMember); code(err) != gatehouse.EForbidden {
			t.Fatalf("member adds: %v", err)
		}
		// An admin manages members but cannot grant or touch owners.
		if _, err := f.ws.UpdateMember(ctx, alice, w.ID, bob.UserID, gatehouse.RoleAdmin); err != nil {
			t.Fatalf("promote bob: %v", err)
		}
		if _, err := f.ws.AddMember(ctx, bob, w.ID, "carol@example.com", gatehouse.RoleOwner); code(err) != gatehouse.EForbidden {
			t.Fatalf("admin grants owner: %v", err)
		}
		if _, err := f.ws.AddMember(ctx, bob, w.ID, "carol@example.com", gatehouse.RoleMember); err != nil {
			t.Fatalf("admin adds carol: %v", err)
		}
		if err := f.ws.RemoveMember(ctx, bob, w.ID, alice.UserID); code(err) != gatehouse.EForbidden {
			t.Fatalf("admin removes owner: %v", err)
		}
		// The last owner stays.
		if _, err := f.ws.UpdateMember(ctx, alice, w.ID, alice.UserID, gatehouse.RoleMember); code(err) != gatehouse.EConflict {
			t.Fatalf("demote last owner: %v", err)
		}
		if err := f.ws.RemoveMember(ctx, alice, w.ID, alice.UserID); code(err) != gatehouse.EConflict {
			t.Fatalf("remove last owner: %v", err)
		}
		if err := f.ws.RemoveMember(ctx, bob, w.ID, carol.UserID); err != nil {
			t.Fatalf("remove carol: %v", err)
		}
		ms, err := f.ws.Members(ctx, alice, w.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("members: %v %d", err, len(ms))
		}
		for _, m := range ms {
			if m.Email == "" {
				t.Fatalf("member without email: %+v", m)
			}
		}

		// A PAT bound to another workspace reaches nothing here, and one
		// without the scope is refused.
		other := &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: alice.UserID, WorkspaceID: gatehouse.NewID(time.Now()), Scopes: []string{gatehouse.ScopeWorkspacesRead}}
		if _, err := f.ws.Get(ctx, other, w.ID); code(err) != gatehouse.ENotFound {
			t.Fatalf("foreign PAT: %v", err)
		}
		noScope := &gatehouse.Principal{Kind: gatehouse.KindPAT, UserID: alice.UserID, WorkspaceID: w.ID}
		if _, err := f.ws.Get(ctx, noScope, w.ID); code(err) != gatehouse.EForbidden {
			t.Fatalf("PAT without scope: %v", err)
		}
		if _, err := f.ws.Create(ctx, noScope, "x"); code(err) != gatehouse.EForbidden {
			t.Fatalf("PAT creates workspace: %v", err)
		}

		// The trail: owners and admins read it, members do not; every change
		// above is in it, and it was mirrored to the log.
		al := &auth.AuditLog{Core: f.core}
		pg, err := al.Workspace(ctx, alice, w.ID, gatehouse.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		types := map[gatehouse.EventType]int{}
		for _, ev := range pg.Events {
			types[ev.Type]++
		}
		if types[gatehouse.EventWorkspaceCreated] != 1 || types[gatehouse.EventMemberAdded] != 2 || types[gatehouse.EventMemberRemoved] != 1 || types[gatehouse.EventMemberUpdated] != 1 {
			t.Fatalf("trail: %v", types)
		}
		if strings.Count(f.log.String(), `"audit_event"`) != len(pg.Events) {
			t.Fatalf("log lines %d != events %d", strings.Count(f.log.String(), `"audit_event"`), len(pg.Events))
		}
		if _, err := al.Workspace(ctx, carol, w.ID, gatehouse.AuditFilter{}); code(err) != gatehouse.ENotFound {
			t.Fatalf("removed member reads trail: %v", err)
		}
		// Paging: pages of 2 cover all events once, newest first.
		seen, cursor := 0, ""
		for {
			pg, err := al.Workspace(ctx, alice, w.ID, gatehouse.AuditFilter{Limit: 2, Before: cursor})
			if err != nil {
				t.Fatal(err)
			}
			seen += len(pg.Events)
			if pg.NextCursor == "" {
				break
			}
			cursor = pg.NextCursor
		}
		if seen != 5 {
			t.Fatalf("paged %d events, want 5", seen)
		}
		if _, err := al.Workspace(ctx, alice, w.ID, gatehouse.AuditFilter{Before: "x' or 1=1"}); code(err) != gatehouse.EInvalidRequest {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestFailureEventCommits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := gatehouse.NewContextWithRequestInfo(context.Background(), gatehouse.RequestInfo{IP: "198.51.100.77", UserAgent: "ua\r\nx", RequestID: "req-1"})
		f := newFixture(s)
		admin := f.user(t, "root@example.com")
		wantErr := gatehouse.Errorf(gatehouse.EInvalidGrant, "invalid credentials")
		err := f.core.InTx(ctx, gatehouse.Scope{}, func(tx *auth.Tx) error {
			if err := tx.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure,
				Details: map[string]string{"password": "correct horse battery staple", "email": "victim@example.com"}}); err != nil {
				return err
			}
			return auth.CommitThen(wantErr)
		})
		if err != wantErr {
			t.Fatalf("InTx returned %v", err)
		}
		// Rolled back: an event recorded before a plain error is gone.
		_ = f.core.InTx(ctx, gatehouse.Scope{}, func(tx *auth.Tx) error {
			_ = tx.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventSignup})
			return wantErr
		})
		// Only an instance admin reads events outside any workspace.
		al := &auth.AuditLog{Core: f.core}
		if _, err := al.Instance(ctx, admin, gatehouse.AuditFilter{}); code(err) != gatehouse.EForbidden {
			t.Fatalf("non-admin reads instance trail: %v", err)
		}
		if err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.SetUserAdmin(ctx, admin.UserID, true, time.Now()) }); err != nil {
			t.Fatal(err)
		}
		pg, err := al.Instance(ctx, admin, gatehouse.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Events) != 1 || pg.Events[0].Type != gatehouse.EventLoginFailed {
			t.Fatalf("events: %+v", pg.Events)
		}
		ev := pg.Events[0]
		if ev.IP != "198.51.100.0" || ev.RequestID != "req-1" || strings.ContainsAny(ev.UserAgent, "\r\n") {
			t.Fatalf("request details: %+v", ev)
		}
		stored := ev.Details["password"] + ev.Details["email"] + f.log.String()
		for _, secret := range []string{"correct horse battery staple", "victim@example.com"} {
			if strings.Contains(stored, secret) {
				t.Fatalf("secret %q stored or logged", secret)
			}
		}
	})
}
