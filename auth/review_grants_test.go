package auth_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// An authorization code issued to a member and exchanged after they were
// removed from the workspace starts no grant: removing a member ends their
// OAuth grants at once, and a code still in flight must not make a new one.
func TestCodeOfRemovedMemberStartsNoGrant(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		owner := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: g.person.UserID, SessionID: g.person.SessionID}
		ws := &auth.Workspaces{Core: g.core}
		bob := g.signup("bob@example.com")
		btr := g.login("bob@example.com")
		if _, err := ws.AddMember(ctx, owner, g.ws.ID, "bob@example.com", gatehouse.RoleMember); err != nil {
			t.Fatal(err)
		}
		code, err := g.o.IssueCode(ctx, g.c, bob.ID, btr.SessionID, g.req, "profile:read")
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.RemoveMember(ctx, owner, g.ws.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		ig, err := g.o.ExchangeCode(ctx, g.c, code, g.req.RedirectURI, g.verifier)
		if gatehouse.ErrorCode(err) != gatehouse.EInvalidGrant {
			t.Fatalf("exchange after removal: %v, %v; want invalid_grant", ig, err)
		}
	})
}

// Introspection answers inactive for the refresh token of a grant whose
// client was deleted, as it does for that client's access tokens: no one can
// use the token any more.
func TestIntrospectRefreshOfDeletedClient(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		ig := g.grant()
		other, err := (&auth.Clients{Core: g.core}).CreateAsSystem(ctx, g.ws.ID, auth.ClientSpec{Name: "backend",
			Grants: []string{"client_credentials"}, Scopes: []string{"profile:read"}})
		if err != nil {
			t.Fatal(err)
		}
		if in, err := g.o.Introspect(ctx, other.Client, ig.RefreshToken); err != nil || !in.Active {
			t.Fatalf("before deletion: %+v, %v", in, err)
		}
		owner := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: g.person.UserID, SessionID: g.person.SessionID}
		if err := (&auth.Clients{Core: g.core}).Delete(ctx, owner, g.ws.ID, g.c.ClientID); err != nil {
			t.Fatal(err)
		}
		if in, err := g.o.Introspect(ctx, other.Client, ig.RefreshToken); err != nil || in.Active {
			t.Fatalf("after the client was deleted: %+v, %v; want inactive", in, err)
		}
	})
}

// A token a client obtained for a person (the authorization-code grant)
// lists the client's workspace only while the client exists, as every other
// read with it does (membership): deleting a client cuts its tokens off.
func TestDeletedClientsPersonTokenListsNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		ws := &auth.Workspaces{Core: g.core}
		p := &gatehouse.Principal{Kind: gatehouse.KindClient, ClientID: g.c.ClientID, WorkspaceID: g.ws.ID, UserID: g.person.UserID,
			Scopes: []string{gatehouse.ScopeWorkspacesRead}}
		if list, err := ws.List(ctx, p); err != nil || len(list) != 1 || list[0].ID != g.ws.ID {
			t.Fatalf("before deletion: %v, %v", list, err)
		}
		owner := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: g.person.UserID, SessionID: g.person.SessionID}
		if err := (&auth.Clients{Core: g.core}).Delete(ctx, owner, g.ws.ID, g.c.ClientID); err != nil {
			t.Fatal(err)
		}
		if _, err := ws.Get(ctx, p, g.ws.ID); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Fatalf("Get after deletion: %v, want not_found", err)
		}
		if list, err := ws.List(ctx, p); err != nil || len(list) != 0 {
			t.Fatalf("List after deletion: %v, %v; want none", list, err)
		}
	})
}

// GET /v1/me with a token a client obtained for a person answers only while
// the client exists and the person is still a member of its workspace:
// introspection already calls such a token inactive, and removing a member
// (or deleting the client) cuts the grant's reads at once.
func TestClientPersonTokenMeEndsWithMembership(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGrantEnv(t, db, nil)
		prof := &auth.Profile{Core: g.core}
		owner := &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: g.person.UserID, SessionID: g.person.SessionID}
		bob := g.signup("bob@example.com")
		if _, err := (&auth.Workspaces{Core: g.core}).AddMember(ctx, owner, g.ws.ID, "bob@example.com", gatehouse.RoleMember); err != nil {
			t.Fatal(err)
		}
		p := &gatehouse.Principal{Kind: gatehouse.KindClient, ClientID: g.c.ClientID, WorkspaceID: g.ws.ID, UserID: bob.ID,
			Scopes: []string{gatehouse.ScopeProfileRead}}
		if u, err := prof.Me(ctx, p); err != nil || u.ID != bob.ID {
			t.Fatalf("a member: %v, %v", u, err)
		}
		if err := (&auth.Workspaces{Core: g.core}).RemoveMember(ctx, owner, g.ws.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if u, err := prof.Me(ctx, p); gatehouse.ErrorCode(err) != gatehouse.EUnauthorized {
			t.Fatalf("after removal: %v, %v; want unauthorized", u, err)
		}
		ada := &gatehouse.Principal{Kind: gatehouse.KindClient, ClientID: g.c.ClientID, WorkspaceID: g.ws.ID, UserID: g.person.UserID,
			Scopes: []string{gatehouse.ScopeProfileRead}}
		if _, err := prof.Me(ctx, ada); err != nil {
			t.Fatal(err)
		}
		if err := (&auth.Clients{Core: g.core}).Delete(ctx, owner, g.ws.ID, g.c.ClientID); err != nil {
			t.Fatal(err)
		}
		if u, err := prof.Me(ctx, ada); gatehouse.ErrorCode(err) != gatehouse.EUnauthorized {
			t.Fatalf("after the client was deleted: %v, %v; want unauthorized", u, err)
		}
	})
}
