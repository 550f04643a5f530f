// Package storetest is the conformance suite that every gatehouse.Store
// passes (PostgreSQL and SQLite): one behaviour, written once.
//
// An area adds a file storetest/<area>.go with a func(t *testing.T, open
// Opener) and one line to the areas list below. Tests must respect
// scopes as the server does (PostgreSQL runs them as the server's role, under
// row-level security): a workspace's rows are written and read in a
// transaction scoped to that workspace.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Opener returns a fresh, migrated, empty store, closed when tb ends.
type Opener func(tb testing.TB) gatehouse.Store

var areas = []struct {
	name string
	run  func(t *testing.T, open Opener)
}{
	{"Tx", testTx},
	{"Read", testRead},
	{"Users", testUsers},
	{"Workspaces", testWorkspaces},
	{"Audit", testAudit},
	{"Sessions", testSessions},
	{"Keys", testKeys},
	{"PATs", testPATs},
	{"Clients", testClients},
	{"AuthCodes", testAuthCodes},
	{"Guards", testGuards},
	{"Federation", testFederation},
	{"Outbox", testOutbox},
	{"MFA", testMFA},
	{"MyGrants", testMyGrants},
}

// Run runs the whole suite against the stores that open returns. Areas run
// in parallel, each on its own store; an area's subtests share its store and
// run in order.
func Run(t *testing.T, open func(testing.TB) gatehouse.Store) {
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			a.run(t, open)
		})
	}
}

// Helpers shared by the area files.

var ctx = context.Background()

// base is a fixed time with microsecond precision, as stored.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// tx runs fn in one transaction with scope and fails the test on error.
func tx(t testing.TB, s gatehouse.Store, scope gatehouse.Scope, fn func(tx gatehouse.Tx) error) {
	t.Helper()
	if err := s.Tx(ctx, scope, fn); err != nil {
		t.Fatalf("tx: %v", err)
	}
}

// txErr runs fn in one transaction and returns its error.
func txErr(s gatehouse.Store, scope gatehouse.Scope, fn func(tx gatehouse.Tx) error) error {
	return s.Tx(ctx, scope, fn)
}

// wantIs fails the test unless errors.Is(err, target).
func wantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

var unscoped = gatehouse.Scope{}

func wsScope(id string) gatehouse.Scope { return gatehouse.Scope{WorkspaceID: id} }

// newUser creates an active user with the given email and returns it.
func newUser(t testing.TB, s gatehouse.Store, email string) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{
		ID: gatehouse.NewID(base), Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Status: gatehouse.StatusActive, CreatedAt: base, UpdatedAt: base,
	}
	tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateUser(ctx, u) })
	return u
}

// newWorkspace creates a workspace owned by owner and returns it.
func newWorkspace(t testing.TB, s gatehouse.Store, name string, owner *gatehouse.User) *gatehouse.Workspace {
	t.Helper()
	w := &gatehouse.Workspace{ID: gatehouse.NewID(base), Name: name, CreatedAt: base}
	tx(t, s, wsScope(w.ID), func(tx gatehouse.Tx) error {
		if err := tx.CreateWorkspace(ctx, w); err != nil {
			return err
		}
		if owner == nil {
			return nil
		}
		return tx.AddMember(ctx, &gatehouse.Member{WorkspaceID: w.ID, UserID: owner.ID, Role: gatehouse.RoleOwner, CreatedAt: base})
	})
	return w
}
