package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func testAudit(t *testing.T, open Opener) {
	s := open(t)
	owner := newUser(t, s, "auditor@example.com")
	a := newWorkspace(t, s, "A", owner)
	b := newWorkspace(t, s, "B", owner)

	// 30 events in A, alternating types and actors, one minute apart; 5 in B;
	// 3 outside any workspace.
	var inA []*gatehouse.AuditEvent
	for i := 0; i < 30; i++ {
		at := base.Add(time.Duration(i) * time.Minute)
		ev := &gatehouse.AuditEvent{
			ID: gatehouse.NewID(at), Time: at, Type: gatehouse.EventMemberAdded, Outcome: gatehouse.OutcomeSuccess,
			Actor: owner.ID, Target: fmt.Sprintf("user:%d", i), WorkspaceID: a.ID,
			IP: "198.51.100.0", UserAgent: "test/1", RequestID: fmt.Sprintf("req-%d", i),
			Details: map[string]string{"n": fmt.Sprint(i)},
		}
		if i%3 == 0 {
			ev.Type, ev.Actor, ev.Outcome = gatehouse.EventMemberRemoved, "system", gatehouse.OutcomeFailure
		}
		inA = append(inA, ev)
	}
	tx(t, s, wsScope(a.ID), func(tx gatehouse.Tx) error {
		for _, ev := range inA {
			if err := tx.AppendAuditEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	tx(t, s, wsScope(b.ID), func(tx gatehouse.Tx) error {
		for i := 0; i < 5; i++ {
			at := base.Add(time.Duration(i) * time.Minute)
			if err := tx.AppendAuditEvent(ctx, &gatehouse.AuditEvent{ID: gatehouse.NewID(at), Time: at,
				Type: gatehouse.EventMemberAdded, Outcome: gatehouse.OutcomeSuccess, WorkspaceID: b.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	tx(t, s, unscoped, func(tx gatehouse.Tx) error {
		for i := 0; i < 3; i++ {
			at := base.Add(time.Duration(i) * time.Second)
			if err := tx.AppendAuditEvent(ctx, &gatehouse.AuditEvent{ID: gatehouse.NewID(at), Time: at,
				Type: gatehouse.EventLoginFailed, Outcome: gatehouse.OutcomeFailure, IP: "203.0.113.0"}); err != nil {
				return err
			}
		}
		return nil
	})

	list := func(t *testing.T, scope gatehouse.Scope, f gatehouse.AuditFilter) []*gatehouse.AuditEvent {
		t.Helper()
		var got []*gatehouse.AuditEvent
		tx(t, s, scope, func(tx gatehouse.Tx) (err error) { got, err = tx.AuditEvents(ctx, f); return })
		return got
	}
	// want returns the events of A that keep holds for, newest first.
	want := func(keep func(i int, ev *gatehouse.AuditEvent) bool) []string {
		ids := []string{}
		for i := len(inA) - 1; i >= 0; i-- {
			if keep(i, inA[i]) {
				ids = append(ids, inA[i].ID)
			}
		}
		return ids
	}

	t.Run("RoundTrip", func(t *testing.T) {
		got := list(t, wsScope(a.ID), gatehouse.AuditFilter{WorkspaceID: a.ID, Limit: 1})
		if len(got) != 1 || !reflect.DeepEqual(got[0], inA[29]) {
			t.Errorf("newest event = %+v, want %+v", got[0], inA[29])
		}
	})

	for _, tc := range []struct {
		name string
		f    gatehouse.AuditFilter
		keep func(i int, ev *gatehouse.AuditEvent) bool
	}{
		{"All", gatehouse.AuditFilter{}, func(int, *gatehouse.AuditEvent) bool { return true }},
		{"Type", gatehouse.AuditFilter{Type: gatehouse.EventMemberRemoved}, func(i int, _ *gatehouse.AuditEvent) bool { return i%3 == 0 }},
		{"Actor", gatehouse.AuditFilter{Actor: owner.ID}, func(i int, _ *gatehouse.AuditEvent) bool { return i%3 != 0 }},
		{"Since", gatehouse.AuditFilter{Since: base.Add(20 * time.Minute)}, func(i int, _ *gatehouse.AuditEvent) bool { return i >= 20 }},
		{"Until", gatehouse.AuditFilter{Until: base.Add(5 * time.Minute)}, func(i int, _ *gatehouse.AuditEvent) bool { return i < 5 }},
		{"SinceUntilType", gatehouse.AuditFilter{Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute), Type: gatehouse.EventMemberAdded},
			func(i int, _ *gatehouse.AuditEvent) bool { return i >= 10 && i < 20 && i%3 != 0 }},
		{"Before", gatehouse.AuditFilter{Before: inA[7].ID}, func(i int, _ *gatehouse.AuditEvent) bool { return i < 7 }},
		{"Nothing", gatehouse.AuditFilter{Actor: "nobody"}, func(int, *gatehouse.AuditEvent) bool { return false }},
	} {
		t.Run("Filter"+tc.name, func(t *testing.T) {
			f := tc.f
			f.WorkspaceID = a.ID
			got := ids(list(t, wsScope(a.ID), f))
			if w := want(tc.keep); !reflect.DeepEqual(got, w) {
				t.Errorf("got %d events %v\nwant %d %v", len(got), got, len(w), w)
			}
		})
	}

	t.Run("Paging", func(t *testing.T) {
		var all []string
		f := gatehouse.AuditFilter{WorkspaceID: a.ID, Limit: 7}
		for page := 0; ; page++ {
			got := list(t, wsScope(a.ID), f)
			if len(got) > 7 {
				t.Fatalf("page of %d events, limit 7", len(got))
			}
			if len(got) == 0 {
				break
			}
			all = append(all, ids(got)...)
			f.Before = got[len(got)-1].ID
			if page > 10 {
				t.Fatal("paging does not end")
			}
		}
		if w := want(func(int, *gatehouse.AuditEvent) bool { return true }); !reflect.DeepEqual(all, w) {
			t.Errorf("pages = %v, want %v", all, w)
		}
	})

	t.Run("LimitCap", func(t *testing.T) {
		more := make([]*gatehouse.AuditEvent, gatehouse.MaxAuditPage+5)
		tx(t, s, wsScope(b.ID), func(tx gatehouse.Tx) error {
			for i := range more {
				at := base.Add(time.Hour + time.Duration(i)*time.Millisecond)
				more[i] = &gatehouse.AuditEvent{Time: at, Type: gatehouse.EventTokenIssued, Outcome: gatehouse.OutcomeSuccess, WorkspaceID: b.ID}
				if err := tx.AppendAuditEvent(ctx, more[i]); err != nil {
					return err
				}
				if more[i].ID == "" {
					t.Error("AppendAuditEvent left ID empty")
				}
			}
			return nil
		})
		for _, limit := range []int{0, -1, gatehouse.MaxAuditPage + 1, 1 << 30} {
			got := list(t, wsScope(b.ID), gatehouse.AuditFilter{WorkspaceID: b.ID, Limit: limit})
			if len(got) != gatehouse.MaxAuditPage {
				t.Errorf("limit %d: %d events, want %d", limit, len(got), gatehouse.MaxAuditPage)
			}
		}
	})

	t.Run("WorkspaceFilter", func(t *testing.T) {
		got := list(t, gatehouse.Scope{AllAudit: true}, gatehouse.AuditFilter{WorkspaceID: b.ID, Type: gatehouse.EventMemberAdded})
		if len(got) != 5 {
			t.Errorf("B's member.added events = %d, want 5", len(got))
		}
		for _, ev := range got {
			if ev.WorkspaceID != b.ID {
				t.Errorf("event of %q in B's listing", ev.WorkspaceID)
			}
		}
	})

	t.Run("InstanceWide", func(t *testing.T) {
		got := list(t, gatehouse.Scope{AllAudit: true}, gatehouse.AuditFilter{Type: gatehouse.EventLoginFailed})
		if len(got) != 3 {
			t.Fatalf("login.failed events = %d, want 3", len(got))
		}
		for _, ev := range got {
			if ev.WorkspaceID != "" || ev.IP != "203.0.113.0" || ev.Details != nil {
				t.Errorf("event outside workspaces = %+v", ev)
			}
		}
	})

	t.Run("BadCursor", func(t *testing.T) {
		err := txErr(s, wsScope(a.ID), func(tx gatehouse.Tx) error {
			_, err := tx.AuditEvents(ctx, gatehouse.AuditFilter{WorkspaceID: a.ID, Before: "x' or 1=1 --"})
			return err
		})
		if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
			t.Errorf("bad cursor: %v, want invalid_request", err)
		}
	})
}

func ids(evs []*gatehouse.AuditEvent) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}
