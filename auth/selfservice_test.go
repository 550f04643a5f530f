package auth_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// mailsTo returns the messages written to addr, oldest first.
func (e *env) mailsTo(addr string) []string {
	e.t.Helper()
	ents, _ := os.ReadDir(e.mailDir)
	names := make([]string, 0, len(ents))
	for _, ent := range ents {
		names = append(names, ent.Name())
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(e.mailDir, n))
		if err != nil {
			e.t.Fatal(err)
		}
		if strings.Contains(string(b), "\r\nTo: <"+addr+">\r\n") || strings.Contains(string(b), "\r\nTo: "+addr+"\r\n") {
			out = append(out, string(b))
		}
	}
	return out
}

// lastToken returns the token of the last link to page mailed to addr.
func (e *env) lastToken(addr, page string) string {
	e.t.Helper()
	re := regexp.MustCompile(`https://auth\.example\.com/` + page + `\?token=([A-Za-z0-9_-]{43})`)
	ms := e.mailsTo(addr)
	for i := len(ms) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(ms[i]); m != nil {
			return m[1]
		}
	}
	e.t.Fatalf("no %s link mailed to %s", page, addr)
	return ""
}

func verifying(c *auth.SessionConfig) { c.EmailVerification = true }

// sessionPrincipal is the principal of a token response's session.
func sessionPrincipal(tr *auth.TokenResponse) *gatehouse.Principal {
	return &gatehouse.Principal{Kind: gatehouse.KindSession, UserID: tr.UserID, SessionID: tr.SessionID}
}

func TestSignupWithVerificationSameAnswerForEveryAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		// A verified account (made by the operator), then three sign-ups.
		if _, err := e.s.CreateAccount(ctx, "old@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		for _, addr := range []string{"new@example.com", "old@example.com", "new@example.com"} {
			if err := e.s.RequestSignup(ctx, addr, goodPassword+" two"); err != nil {
				t.Fatalf("RequestSignup(%s) = %v, want nil", addr, err)
			}
		}
		// The owner of the existing address is told, and nothing changed.
		ms := e.mailsTo("old@example.com")
		if len(ms) != 1 || !strings.Contains(ms[0], "Someone tried to sign up") || !strings.Contains(ms[0], "multipart/alternative") {
			t.Fatalf("mails to the existing address = %q", ms)
		}
		if got := len(e.events(gatehouse.EventSignupExistingAddress)); got != 1 {
			t.Fatalf("signup.existing_address events = %d, want 1", got)
		}
		if _, err := e.s.PasswordLogin(ctx, "old@example.com", goodPassword); err != nil {
			t.Fatalf("the existing account's password changed: %v", err)
		}
		// The unverified account: a right password gets email_unverified, a
		// wrong one invalid_grant.
		_, err := e.s.PasswordLogin(ctx, "new@example.com", goodPassword+" two")
		wantCode(t, err, gatehouse.EEmailUnverified)
		_, err = e.s.PasswordLogin(ctx, "new@example.com", goodPassword+" wrong")
		wantCode(t, err, gatehouse.EInvalidGrant)
		// Two links went to the new address; the first one works and signs in.
		if n := len(e.mailsTo("new@example.com")); n != 2 {
			t.Fatalf("mails to the new address = %d, want 2", n)
		}
		tok := e.lastToken("new@example.com", "verify-email")
		tr, err := e.s.VerifyEmail(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if s := e.session(tr.SessionID); strings.Join(s.AMR, " ") != "email" {
			t.Errorf("amr = %v, want [email]", s.AMR)
		}
		if len(e.events(gatehouse.EventEmailVerified)) != 1 {
			t.Error("no email.verified event")
		}
		// Single use.
		_, err = e.s.VerifyEmail(ctx, tok)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if _, err := e.s.PasswordLogin(ctx, "new@example.com", goodPassword+" two"); err != nil {
			t.Fatalf("sign-in after verification: %v", err)
		}
	})
}

func TestVerificationLinkExpires(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		if err := e.s.RequestSignup(ctx, "late@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		tok := e.lastToken("late@example.com", "verify-email")
		e.clock.Advance(auth.VerifyEmailTTL + time.Second)
		_, err := e.s.VerifyEmail(ctx, tok)
		wantCode(t, err, gatehouse.EInvalidGrant)
	})
}

func TestPasswordResetFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		if _, err := e.s.CreateAccount(ctx, "ada@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		tr := e.login("ada@example.com")
		// An address without an account: the same answer, nothing mailed.
		if err := e.s.RequestPasswordReset(ctx, "nobody@example.com"); err != nil {
			t.Fatal(err)
		}
		if len(e.mailsTo("nobody@example.com")) != 0 {
			t.Fatal("mail sent to an address without an account")
		}
		if err := e.s.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		evs := e.events(gatehouse.EventPasswordResetRequested)
		if len(evs) != 2 || evs[0].Details["sent"] == evs[1].Details["sent"] {
			t.Fatalf("password_reset.requested events = %+v", evs)
		}
		tok := e.lastToken("ada@example.com", "reset-password")
		// A password the policy refuses does not spend the token.
		err := e.s.ConfirmPasswordReset(ctx, tok, "short")
		wantCode(t, err, gatehouse.EInvalidRequest)
		if err := e.s.ConfirmPasswordReset(ctx, tok, "a brand new passphrase for ada"); err != nil {
			t.Fatal(err)
		}
		// Every session ended; the old password is gone; a notice went out.
		if s := e.session(tr.SessionID); s.RevokedAt.IsZero() {
			t.Error("the session survived the reset")
		}
		_, err = e.s.PasswordLogin(ctx, "ada@example.com", goodPassword)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if _, err := e.s.PasswordLogin(ctx, "ada@example.com", "a brand new passphrase for ada"); err != nil {
			t.Fatal(err)
		}
		ms := e.mailsTo("ada@example.com")
		if !strings.Contains(ms[len(ms)-1], "Your password was changed") {
			t.Errorf("no notice: %q", ms[len(ms)-1])
		}
		// Reuse.
		err = e.s.ConfirmPasswordReset(ctx, tok, "yet another passphrase for ada")
		wantCode(t, err, gatehouse.EInvalidGrant)
		// Expiry.
		if err := e.s.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		tok = e.lastToken("ada@example.com", "reset-password")
		e.clock.Advance(auth.PasswordResetTTL + time.Second)
		err = e.s.ConfirmPasswordReset(ctx, tok, "yet another passphrase for ada")
		wantCode(t, err, gatehouse.EInvalidGrant)
	})
}

// With verification off, the first mailbox proof of an account that never
// proved its address clears the password a pre-hijacker may have set and
// ends its sessions.
func TestFirstMailboxProofEndsPreHijacking(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, nil)
		e.signup("victim@example.com") // the attacker's sign-up, with the attacker's password
		attacker := e.login("victim@example.com")
		if err := e.s.RequestMagicLink(ctx, "victim@example.com"); err != nil {
			t.Fatal(err)
		}
		tr, err := e.s.VerifyMagicLink(ctx, e.lastToken("victim@example.com", "magic-link"))
		if err != nil {
			t.Fatal(err)
		}
		if s := e.session(attacker.SessionID); s.RevokedAt.IsZero() {
			t.Error("the attacker's session survived the owner's first magic link")
		}
		if s := e.session(tr.SessionID); !s.RevokedAt.IsZero() {
			t.Error("the owner's own session was revoked")
		}
		_, err = e.s.PasswordLogin(ctx, "victim@example.com", goodPassword)
		wantCode(t, err, gatehouse.EInvalidGrant)
		if u := e.user("victim@example.com"); u.EmailVerifiedAt.IsZero() {
			t.Error("the magic link did not verify the address")
		}
		// A second magic link changes nothing more.
		e2 := e.session(tr.SessionID)
		if err := e.s.RequestMagicLink(ctx, "victim@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.VerifyMagicLink(ctx, e.lastToken("victim@example.com", "magic-link")); err != nil {
			t.Fatal(err)
		}
		if s := e.session(e2.ID); !s.RevokedAt.IsZero() {
			t.Error("a later magic link ended a session")
		}
	})
}

func TestChangePasswordAndEmail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		if _, err := e.s.CreateAccount(ctx, "bo@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.CreateAccount(ctx, "taken@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		other := e.login("bo@example.com")
		me := e.login("bo@example.com")
		p := sessionPrincipal(me)
		err := e.s.ChangePassword(ctx, p, "not the password at all", "a new passphrase for bo")
		wantCode(t, err, gatehouse.EInvalidGrant)
		if err := e.s.ChangePassword(ctx, p, goodPassword, "a new passphrase for bo"); err != nil {
			t.Fatal(err)
		}
		if s := e.session(other.SessionID); s.RevokedAt.IsZero() {
			t.Error("the other session survived the change")
		}
		if s := e.session(me.SessionID); !s.RevokedAt.IsZero() {
			t.Error("the caller's own session ended")
		}
		if len(e.events(gatehouse.EventPasswordChanged)) != 1 {
			t.Error("no password.changed")
		}

		// Email change: a taken address gets the same answer and no link.
		if err := e.s.RequestEmailChange(ctx, p, "taken@example.com"); err != nil {
			t.Fatal(err)
		}
		for _, m := range e.mailsTo("taken@example.com") {
			if strings.Contains(m, "confirm-email") {
				t.Fatal("a confirmation link went to an address that has an account")
			}
		}
		if err := e.s.RequestEmailChange(ctx, p, "bo.new@example.com"); err != nil {
			t.Fatal(err)
		}
		tok := e.lastToken("bo.new@example.com", "confirm-email")
		ms := e.mailsTo("bo@example.com")
		if !strings.Contains(ms[len(ms)-1], "***@example.com") {
			t.Errorf("no notice to the old address: %q", ms[len(ms)-1])
		}
		if e.user("bo@example.com") == nil {
			t.Fatal("changed before confirmation")
		}
		if err := e.s.ConfirmEmailChange(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if u := e.user("bo.new@example.com"); u.ID != me.UserID {
			t.Fatal("the address did not change")
		}
		wantCode(t, e.s.ConfirmEmailChange(ctx, tok), gatehouse.EInvalidGrant)

		// Past GATEHOUSE_REAUTH_MAX_AGE: reauthentication_required.
		e.clock.Advance(auth.DefaultReauthMaxAge + time.Minute)
		wantCode(t, e.s.RequestEmailChange(ctx, p, "bo.third@example.com"), gatehouse.EReauthenticationRequired)
		wantCode(t, e.s.DeleteAccount(ctx, p), gatehouse.EReauthenticationRequired)
	})
}

func TestDeleteAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		ws := &auth.Workspaces{Core: e.core}
		for _, a := range []string{"owner@example.com", "mem@example.com"} {
			if _, err := e.s.CreateAccount(ctx, a, goodPassword); err != nil {
				t.Fatal(err)
			}
		}
		owner := e.login("owner@example.com")
		po := sessionPrincipal(owner)
		w, err := ws.Create(ctx, po, "Shared")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ws.AddMember(ctx, po, w.ID, "mem@example.com", gatehouse.RoleMember); err != nil {
			t.Fatal(err)
		}
		// The last owner of a workspace with another member: 409.
		wantCode(t, e.s.DeleteAccount(ctx, po), gatehouse.EConflict)
		if e.user("owner@example.com") == nil {
			t.Fatal("deleted anyway")
		}
		// The member may go.
		mem := e.login("mem@example.com")
		if err := e.s.DeleteAccount(ctx, sessionPrincipal(mem)); err != nil {
			t.Fatal(err)
		}
		err = e.store.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
			_, err := tx.UserByEmail(ctx, "mem@example.com")
			return err
		})
		if gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Fatalf("the account is still there: %v", err)
		}
		evs := e.events(gatehouse.EventAccountDeleted)
		if len(evs) != 1 || evs[0].Actor != mem.UserID {
			t.Fatalf("account.deleted = %+v", evs)
		}
		if strings.Contains(evs[0].Target+strings.Join(mapValues(evs[0].Details), " "), "mem@") {
			t.Error("the audit event holds the address")
		}
		// Now the owner is alone: deleting works.
		if err := e.s.DeleteAccount(ctx, po); err != nil {
			t.Fatal(err)
		}
	})
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestInvitations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		ws := &auth.Workspaces{Core: e.core}
		for _, a := range []string{"boss@example.com", "guest@example.com", "other@example.com"} {
			if _, err := e.s.CreateAccount(ctx, a, goodPassword); err != nil {
				t.Fatal(err)
			}
		}
		boss := sessionPrincipal(e.login("boss@example.com"))
		w, err := ws.Create(ctx, boss, "Team")
		if err != nil {
			t.Fatal(err)
		}
		inv, err := e.s.Invite(ctx, boss, w.ID, "guest@example.com", gatehouse.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		// An address without an account is invited the same way.
		if _, err := e.s.Invite(ctx, boss, w.ID, "nobody@example.com", gatehouse.RoleMember); err != nil {
			t.Fatal(err)
		}
		list, err := e.s.Invitations(ctx, boss, w.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("Invitations = %d, %v", len(list), err)
		}
		tok := e.lastToken("guest@example.com", "invitation")
		// The wrong address: refused, and the invitation stays.
		other := sessionPrincipal(e.login("other@example.com"))
		_, err = e.s.AcceptInvitation(ctx, other, tok)
		wantCode(t, err, gatehouse.EForbidden)
		guest := sessionPrincipal(e.login("guest@example.com"))
		m, err := e.s.AcceptInvitation(ctx, guest, tok)
		if err != nil {
			t.Fatal(err)
		}
		if m.Role != gatehouse.RoleAdmin || m.WorkspaceID != w.ID {
			t.Fatalf("member = %+v", m)
		}
		_, err = e.s.AcceptInvitation(ctx, guest, tok)
		wantCode(t, err, gatehouse.EInvalidGrant)
		// Revocation, and expiry.
		list, _ = e.s.Invitations(ctx, boss, w.ID)
		if len(list) != 1 {
			t.Fatalf("pending = %d, want 1", len(list))
		}
		if err := e.s.RevokeInvitation(ctx, boss, w.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.s.RevokeInvitation(ctx, boss, w.ID, inv.ID), gatehouse.ENotFound)
		if _, err := e.s.Invite(ctx, boss, w.ID, "other@example.com", gatehouse.RoleMember); err != nil {
			t.Fatal(err)
		}
		tok = e.lastToken("other@example.com", "invitation")
		e.clock.Advance(auth.InvitationTTL + time.Second)
		other = sessionPrincipal(e.login("other@example.com"))
		_, err = e.s.AcceptInvitation(ctx, other, tok)
		wantCode(t, err, gatehouse.EInvalidGrant)
		for _, typ := range []gatehouse.EventType{gatehouse.EventInvitationCreated, gatehouse.EventInvitationAccepted, gatehouse.EventInvitationRevoked} {
			if len(e.events(typ)) == 0 {
				t.Errorf("no %s event", typ)
			}
		}
	})
}

// TestOperatorOnBothStores: the operator's listings see every workspace and
// account (under PostgreSQL through the admin scope's policy).
func TestOperatorOnBothStores(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		ws := &auth.Workspaces{Core: e.core}
		if _, err := e.s.CreateAccount(ctx, "op@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RequestSignup(ctx, "unverified@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := ws.CreateAsSystem(ctx, "W", "unverified@example.com"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Fatalf("an unverified owner: %v", err)
		}
		w, err := ws.CreateAsSystem(ctx, "W", "op@example.com")
		if err != nil {
			t.Fatal(err)
		}
		all, err := ws.ListAll(ctx)
		if err != nil || len(all) != 1 || all[0].ID != w.ID {
			t.Fatalf("ListAll = %v, %v", all, err)
		}
		users, next, err := e.s.ListUsersAsSystem(ctx, gatehouse.UserPage{Query: "example.com", Limit: 1})
		if err != nil || len(users) != 1 || next == "" {
			t.Fatalf("page 1: %v %q %v", users, next, err)
		}
		users2, _, err := e.s.ListUsersAsSystem(ctx, gatehouse.UserPage{Query: "example.com", Cursor: next, Limit: 1})
		if err != nil || len(users2) != 1 || users2[0].ID == users[0].ID {
			t.Fatalf("page 2: %v %v", users2, err)
		}
		if us, _, err := e.s.ListUsersAsSystem(ctx, gatehouse.UserPage{Query: "%"}); err != nil || len(us) != 0 {
			t.Fatalf("a LIKE wildcard matched: %v %v", us, err)
		}
		if us, _, err := e.s.ListUsersAsSystem(ctx, gatehouse.UserPage{Query: users[0].ID}); err != nil || len(us) != 1 {
			t.Fatalf("by id: %v %v", us, err)
		}
	})
}

// TestAccountTokensKeepToTheirPurpose: a token works only for what it was
// mailed for, and only on its own account; a decoy never works.
func TestAccountTokensKeepToTheirPurpose(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		if _, err := e.s.CreateAccount(ctx, "a@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.CreateAccount(ctx, "b@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RequestPasswordReset(ctx, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		reset := e.lastToken("a@example.com", "reset-password")
		// A reset token is neither a verification nor an email-change token.
		_, err := e.s.VerifyEmail(ctx, reset)
		wantCode(t, err, gatehouse.EInvalidGrant)
		wantCode(t, e.s.ConfirmEmailChange(ctx, reset), gatehouse.EInvalidGrant)
		// A's reset token changes A's password, never B's.
		if err := e.s.ConfirmPasswordReset(ctx, reset, "the new passphrase of account a"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.PasswordLogin(ctx, "b@example.com", goodPassword); err != nil {
			t.Fatalf("B's password changed: %v", err)
		}
		// A made-up token of the right shape.
		wantCode(t, e.s.ConfirmPasswordReset(ctx, strings.Repeat("A", 43), "the new passphrase of account a"), gatehouse.EInvalidGrant)
		// A signup of a verified address writes a decoy no one can use: the
		// owner's mail holds no token at all.
		if err := e.s.RequestSignup(ctx, "b@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		ms := e.mailsTo("b@example.com")
		if strings.Contains(ms[len(ms)-1], "token=") {
			t.Fatal("the signup_existing mail holds a token")
		}
	})
}

// TestAddMemberNeverAttachesAnUnverifiedAccount: with verification required,
// an unverified account is as unknown to add-member, and an invitation to
// its address cannot be accepted by it until it is verified.
func TestAddMemberNeverAttachesAnUnverifiedAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, verifying)
		ws := &auth.Workspaces{Core: e.core}
		if _, err := e.s.CreateAccount(ctx, "lead@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		lead := sessionPrincipal(e.login("lead@example.com"))
		w, err := ws.Create(ctx, lead, "W")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.RequestSignup(ctx, "squatter@example.com", goodPassword); err != nil {
			t.Fatal(err)
		}
		_, err = ws.AddMember(ctx, lead, w.ID, "squatter@example.com", gatehouse.RoleMember)
		_, unknown := ws.AddMember(ctx, lead, w.ID, "nobody@example.com", gatehouse.RoleMember)
		if gatehouse.ErrorCode(err) != gatehouse.ENotFound || gatehouse.ErrorMessage(err) != gatehouse.ErrorMessage(unknown) {
			t.Fatalf("add an unverified account: %v (unknown address: %v)", err, unknown)
		}
	})
}
