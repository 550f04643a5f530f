package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// TestFederationRowLevelSecurity: a workspace's provider, its sign-in states
// and its domains are reachable only in its own scope (the provider also by
// its id, and in the list); another workspace's scope can neither write nor
// consume them (docs/federation.md, "Workspace single sign-on").
func TestFederationRowLevelSecurity(t *testing.T) {
	w := seed(t)
	db := w.pg.DB
	now := time.Now().UTC().Truncate(time.Microsecond)
	pa := &gatehouse.Provider{ID: gatehouse.NewID(now), Name: "A SSO", Kind: gatehouse.ProviderOIDC, Issuer: "https://sso.a.example",
		ClientID: "c", SealedSecret: []byte("x"), WorkspaceID: w.a, Domains: []string{"a.example"}, CreatedAt: now}
	scopeA, scopeB := gatehouse.Scope{WorkspaceID: w.a}, gatehouse.Scope{WorkspaceID: w.b}
	if err := db.Tx(ctx, scopeB, func(tx gatehouse.Tx) error { return tx.CreateProvider(ctx, pa) }); err == nil {
		t.Fatal("B's scope wrote a provider of A")
	}
	if err := db.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error { return tx.CreateProvider(ctx, pa) }); err == nil {
		t.Fatal("an unscoped transaction wrote a provider of A")
	}
	must(t, db.Tx(ctx, scopeA, func(tx gatehouse.Tx) error { return tx.CreateProvider(ctx, pa) }))
	// Without a door, B's scope does not see it.
	if c := count(t, db.SQL(), `select count(*) from federation_providers where id = '`+pa.ID+`'`); c != 0 {
		t.Fatalf("an unscoped read sees A's provider (%d rows)", c)
	}
	var got *gatehouse.Provider
	must(t, db.Tx(ctx, scopeB, func(tx gatehouse.Tx) (err error) { got, err = tx.ProviderByID(ctx, pa.ID); return }))
	if got.WorkspaceID != w.a {
		t.Fatalf("ProviderByID through the door = %+v", got)
	}

	st := &gatehouse.FederationState{Hash: make([]byte, 32), BrowserHash: make([]byte, 32), ProviderID: pa.ID, WorkspaceID: w.a,
		ReturnTo: "https://x.example/", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := db.Tx(ctx, scopeB, func(tx gatehouse.Tx) error { return tx.CreateFederationState(ctx, st) }); err == nil {
		t.Fatal("B's scope wrote a state of A's provider")
	}
	must(t, db.Tx(ctx, scopeA, func(tx gatehouse.Tx) error { return tx.CreateFederationState(ctx, st) }))
	for _, sc := range []gatehouse.Scope{scopeB, {}} {
		err := db.Tx(ctx, sc, func(tx gatehouse.Tx) error { _, err := tx.ConsumeFederationState(ctx, st.Hash, now); return err })
		if !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("scope %+v consumed A's state: %v", sc, err)
		}
	}
	must(t, db.Tx(ctx, scopeA, func(tx gatehouse.Tx) error { _, err := tx.ConsumeFederationState(ctx, st.Hash, now); return err }))

	d := &gatehouse.WorkspaceDomain{ID: gatehouse.NewID(now), WorkspaceID: w.a, Domain: "a.example", Token: "t", CreatedAt: now}
	if err := db.Tx(ctx, scopeB, func(tx gatehouse.Tx) error { return tx.CreateDomain(ctx, d) }); err == nil {
		t.Fatal("B's scope claimed a domain for A")
	}
	must(t, db.Tx(ctx, scopeA, func(tx gatehouse.Tx) error { return tx.CreateDomain(ctx, d) }))
	must(t, db.Tx(ctx, scopeA, func(tx gatehouse.Tx) error { return tx.MarkDomainVerified(ctx, w.a, d.ID, now) }))
	var ok bool
	must(t, db.Tx(ctx, scopeB, func(tx gatehouse.Tx) (err error) { ok, err = tx.DomainVerified(ctx, w.a, "a.example"); return }))
	if ok {
		t.Fatal("B's scope sees A's proven domain")
	}
	if err := db.Tx(ctx, scopeB, func(tx gatehouse.Tx) error { return tx.MarkDomainVerified(ctx, w.a, d.ID, now) }); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("B's scope touched A's domain: %v", err)
	}
}
