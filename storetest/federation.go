package storetest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// testFederation: providers, identities, sign-in states and workspace
// domains (docs/federation.md).
func testFederation(t *testing.T, open Opener) {
	s := open(t)
	owner := newUser(t, s, "fed-owner@example.com")
	wa := newWorkspace(t, s, "fed-a", owner)
	wb := newWorkspace(t, s, "fed-b", owner)
	inst := &gatehouse.Provider{ID: gatehouse.NewID(base), Name: "Inst", Kind: gatehouse.ProviderOIDC, Issuer: "https://id.example.com",
		ClientID: "c", SealedSecret: []byte("sealed"), Scopes: []string{"email"}, CreatedAt: base}
	wsp := &gatehouse.Provider{ID: gatehouse.NewID(base), Name: "A SSO", Kind: gatehouse.ProviderOIDC, Issuer: "https://sso.a.example",
		ClientID: "c", SealedSecret: []byte("sealed"), WorkspaceID: wa.ID, Domains: []string{"a.example", "a2.example"}, CreatedAt: base}

	t.Run("Providers", func(t *testing.T) {
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateProvider(ctx, inst) })
		tx(t, s, wsScope(wa.ID), func(tx gatehouse.Tx) error { return tx.CreateProvider(ctx, wsp) })
		dup := *inst
		dup.ID = gatehouse.NewID(base)
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateProvider(ctx, &dup) }), gatehouse.ErrConflict)
		// Looked up by id whatever its workspace, and listed.
		var got *gatehouse.Provider
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.ProviderByID(ctx, wsp.ID); return })
		if got.WorkspaceID != wa.ID || len(got.Domains) != 2 || !bytes.Equal(got.SealedSecret, wsp.SealedSecret) || !got.CreatedAt.Equal(base) {
			t.Fatalf("ProviderByID = %+v", got)
		}
		var all []*gatehouse.Provider
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { all, err = tx.Providers(ctx); return })
		if len(all) < 2 {
			t.Fatalf("Providers = %d", len(all))
		}
	})

	t.Run("Identities", func(t *testing.T) {
		u := newUser(t, s, "fed-idn@example.com")
		v := newUser(t, s, "fed-idn2@example.com")
		i := &gatehouse.Identity{ID: gatehouse.NewID(base), UserID: u.ID, ProviderID: inst.ID, Subject: "sub-1", Email: "x@example.org", CreatedAt: base}
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateIdentity(ctx, i) })
		j := &gatehouse.Identity{ID: gatehouse.NewID(base), UserID: v.ID, ProviderID: inst.ID, Subject: "sub-1", CreatedAt: base}
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.CreateIdentity(ctx, j) }), gatehouse.ErrConflict)
		var got *gatehouse.Identity
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { got, err = tx.IdentityBySubject(ctx, inst.ID, "sub-1"); return })
		if got.UserID != u.ID || got.Email != "x@example.org" {
			t.Fatalf("IdentityBySubject = %+v", got)
		}
		// Someone else's identity cannot be deleted.
		wantIs(t, txErr(s, unscoped, func(tx gatehouse.Tx) error { return tx.DeleteIdentity(ctx, v.ID, i.ID) }), gatehouse.ErrNotFound)
		tx(t, s, unscoped, func(tx gatehouse.Tx) error { return tx.DeleteIdentity(ctx, u.ID, i.ID) })
		var ids []*gatehouse.Identity
		tx(t, s, unscoped, func(tx gatehouse.Tx) (err error) { ids, err = tx.IdentitiesForUser(ctx, u.ID); return })
		if len(ids) != 0 {
			t.Fatalf("IdentitiesForUser after delete = %d", len(ids))
		}
	})

	t.Run("StatesAreSingleUse", func(t *testing.T) {
		st := &gatehouse.FederationState{Hash: hashOf("state-1"), BrowserHash: hashOf("b"), ProviderID: wsp.ID, WorkspaceID: wa.ID,
			ReturnTo: "https://x.example/", CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
		tx(t, s, wsScope(wa.ID), func(tx gatehouse.Tx) error { return tx.CreateFederationState(ctx, st) })
		// Never after its expiry.
		wantIs(t, txErr(s, wsScope(wa.ID), func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeFederationState(ctx, st.Hash, base.Add(time.Hour))
			return err
		}), gatehouse.ErrNotFound)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.Tx(ctx, wsScope(wa.ID), func(tx gatehouse.Tx) error {
					got, err := tx.ConsumeFederationState(ctx, st.Hash, base.Add(time.Minute))
					if err == nil && (got.ProviderID != wsp.ID || got.WorkspaceID != wa.ID || !bytes.Equal(got.BrowserHash, st.BrowserHash)) {
						t.Errorf("consumed %+v", got)
					}
					return err
				}) == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d consumptions of one state succeeded, want 1", wins.Load())
		}
	})

	t.Run("Domains", func(t *testing.T) {
		da := &gatehouse.WorkspaceDomain{ID: gatehouse.NewID(base), WorkspaceID: wa.ID, Domain: "shared.example", Token: "ta", CreatedAt: base}
		db := &gatehouse.WorkspaceDomain{ID: gatehouse.NewID(base), WorkspaceID: wb.ID, Domain: "shared.example", Token: "tb", CreatedAt: base}
		tx(t, s, wsScope(wa.ID), func(tx gatehouse.Tx) error { return tx.CreateDomain(ctx, da) })
		tx(t, s, wsScope(wb.ID), func(tx gatehouse.Tx) error { return tx.CreateDomain(ctx, db) })
		wantIs(t, txErr(s, wsScope(wa.ID), func(tx gatehouse.Tx) error {
			dup := *da
			dup.ID = gatehouse.NewID(base)
			return tx.CreateDomain(ctx, &dup)
		}), gatehouse.ErrConflict)
		tx(t, s, wsScope(wa.ID), func(tx gatehouse.Tx) error { return tx.MarkDomainVerified(ctx, wa.ID, da.ID, base) })
		// One workspace at most holds a domain proven.
		wantIs(t, txErr(s, wsScope(wb.ID), func(tx gatehouse.Tx) error { return tx.MarkDomainVerified(ctx, wb.ID, db.ID, base) }), gatehouse.ErrConflict)
		// B's scope cannot reach A's domain row.
		wantIs(t, txErr(s, wsScope(wb.ID), func(tx gatehouse.Tx) error { _, err := tx.DomainByID(ctx, wb.ID, da.ID); return err }), gatehouse.ErrNotFound)
		var okA, okB bool
		tx(t, s, wsScope(wa.ID), func(tx gatehouse.Tx) (err error) { okA, err = tx.DomainVerified(ctx, wa.ID, "shared.example"); return })
		tx(t, s, wsScope(wb.ID), func(tx gatehouse.Tx) (err error) { okB, err = tx.DomainVerified(ctx, wb.ID, "shared.example"); return })
		if !okA || okB {
			t.Fatalf("DomainVerified: A %v, B %v; want true, false", okA, okB)
		}
		var list []*gatehouse.WorkspaceDomain
		tx(t, s, wsScope(wa.ID), func(tx gatehouse.Tx) (err error) { list, err = tx.Domains(ctx, wa.ID); return })
		if len(list) != 1 || list[0].VerifiedAt.IsZero() {
			t.Fatalf("Domains = %+v", list)
		}
	})
}
