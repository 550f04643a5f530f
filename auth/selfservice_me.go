package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// errWrongPassword answers a wrong current password: a failed
// authentication, counted by the guard against the IP and the account.
var errWrongPassword = gatehouse.Errorf(gatehouse.EInvalidGrant, "the current password is wrong")

// ChangePassword replaces the caller's password (POST /v1/me/password): the
// current one must be right (a wrong one is a failed authentication, through
// the guard like a sign-in), the new one follows sign-up's rules, every
// other session of the account ends and a notice is mailed. An account
// without a password (magic link only) sets one with a recent sign-in
// instead (RequireRecentSignIn).
func (s *SelfService) ChangePassword(ctx context.Context, p *gatehouse.Principal, current, next string) (err error) {
	if err := requireSession(p, "a password is changed"); err != nil {
		return err
	}
	if err := password.CheckLength(current); err != nil {
		return err
	}
	if err := password.CheckLength(next); err != nil {
		return err
	}
	var u *gatehouse.User
	if err := s.Store.Read(ctx, gatehouse.Scope{}, func(t gatehouse.Tx) error {
		var err error
		u, err = t.UserByID(ctx, p.UserID)
		return err
	}); err != nil {
		if errors.Is(err, gatehouse.ErrNotFound) {
			return errEnded
		}
		return err
	}
	pass, err := enter(ctx, Attempt{Policy: ratelimit.TokenAccount, Identity: EmailKey(u.Email), Account: EmailAccount(u.Email)})
	if err != nil {
		return err
	}
	defer func() { pass.Done(ctx, err) }()
	if u.PasswordHash != "" {
		ok, _, err := s.cfg.Hasher.Verify(ctx, current, u.PasswordHash)
		if err != nil && !errors.Is(err, password.ErrMalformed) {
			return err
		}
		if !ok {
			return errWrongPassword
		}
	}
	if err := s.cfg.Policy.Check(next, u.Email); err != nil {
		return err
	}
	hash, err := s.cfg.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.WriteTx(ctx, p, gatehouse.Scope{}, func(t *Tx) error {
		cur, err := t.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(cur.PasswordHash), []byte(u.PasswordHash)) != 1 {
			return gatehouse.Errorf(gatehouse.EConflict, "the password changed meanwhile; try again")
		}
		if cur.PasswordHash == "" {
			if err := s.RequireRecentSignIn(ctx, t, p); err != nil {
				return err
			}
		}
		if err := t.UpdatePasswordHash(ctx, cur.ID, hash, now); err != nil {
			return err
		}
		n, err := t.RevokeOtherSessions(ctx, cur.ID, p.SessionID, now)
		if err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventPasswordChanged, Actor: cur.ID, Target: "user:" + cur.ID,
			Details: map[string]string{"via": "change", "sessions_revoked": strconv.FormatInt(n, 10)}})
	})
	if err != nil {
		return err
	}
	s.send(ctx, gatehouse.AccountMail{Kind: gatehouse.MailPasswordChanged, To: u.Email, Link: s.cfg.PublicURL + "/"})
	return nil
}

// RequestEmailChange asks to move the caller's account to a new address
// (POST /v1/me/email, a recent sign-in): the new address gets a
// confirmation link, the old one a notice; the address changes only when the
// link is used (ConfirmEmailChange). When the new address already has an
// account, the answer is the same and no link is sent (a decoy row is
// written), so the endpoint tells no one which addresses have accounts.
func (s *SelfService) RequestEmailChange(ctx context.Context, p *gatehouse.Principal, email string) error {
	if err := requireSession(p, "the address is changed"); err != nil {
		return err
	}
	if err := limit(ctx, ratelimit.AccountChangeUser, p.UserID); err != nil {
		return err
	}
	norm, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return err
	}
	now := s.now()
	var mails []gatehouse.AccountMail
	err = s.WriteTx(ctx, p, gatehouse.Scope{}, func(t *Tx) error {
		mails = nil
		if err := s.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		u, err := t.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		if u.Email == norm {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "that is already the account's address")
		}
		uid := u.ID
		if _, err := t.UserByEmail(ctx, norm); err == nil {
			uid = "" // taken: a decoy, nothing sent to it
		} else if !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		tok, at, err := newAccountToken(gatehouse.PurposeEmailChange, uid, now, EmailChangeTTL)
		if err != nil {
			return err
		}
		at.Email = norm
		if err := t.CreateAccountToken(ctx, at); err != nil {
			return err
		}
		if uid != "" {
			mails = append(mails, gatehouse.AccountMail{Kind: gatehouse.MailEmailChangeConfirm, To: norm, Link: s.link("confirm-email", tok), ExpiresIn: EmailChangeTTL})
		}
		mails = append(mails, gatehouse.AccountMail{Kind: gatehouse.MailEmailChangeNotice, To: u.Email, Link: s.cfg.PublicURL + "/", NewEmail: gatehouse.MaskEmail(norm)})
		return nil
	})
	if err != nil {
		return err
	}
	s.send(ctx, mails...)
	return nil
}

// ConfirmEmailChange consumes an email-change token (POST
// /v1/auth/confirm-email): the account's address becomes the new one, now
// verified (email.changed, with both addresses masked). When another account
// took the address meanwhile: 409 conflict, and nothing changes.
func (s *SelfService) ConfirmEmailChange(ctx context.Context, token string) (err error) {
	pass, err := enter(ctx, Attempt{})
	if err != nil {
		return err
	}
	defer func() { pass.Done(ctx, err) }()
	if !validSecretToken(token) {
		return errBadAccountToken
	}
	now := s.now()
	return s.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		at, u, err := consumeAccountToken(ctx, t, token, gatehouse.PurposeEmailChange, now)
		if err != nil {
			return err
		}
		if err := t.UpdateUserEmail(ctx, u.ID, at.Email, now); err != nil {
			if errors.Is(err, gatehouse.ErrConflict) {
				return gatehouse.Errorf(gatehouse.EConflict, "another account has that address now")
			}
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventEmailChanged, Actor: u.ID, Target: "user:" + u.ID,
			Details: map[string]string{"from": gatehouse.MaskEmail(u.Email), "to": gatehouse.MaskEmail(at.Email)}})
	})
}

// DeleteAccount deletes the caller's account (DELETE /v1/me, a recent
// sign-in). While the caller is the last owner of a workspace that has other
// members: 409 conflict, and nothing changes. Otherwise, workspace by
// workspace (each in its own transaction with that workspace's scope, as
// row-level security asks), the membership goes and the caller's OAuth
// grants there end; then the account goes, and with it (foreign keys) its
// sessions, PATs, magic links and account tokens. account.deleted keeps the
// account id, never the address (docs/privacy.md). A workspace the caller
// was the only member of stays, without members, for an instance admin.
func (s *SelfService) DeleteAccount(ctx context.Context, p *gatehouse.Principal) error {
	if err := requireSession(p, "an account is deleted"); err != nil {
		return err
	}
	if err := limit(ctx, ratelimit.AccountChangeUser, p.UserID); err != nil {
		return err
	}
	// One instant for every transaction below: the grants ended workspace
	// by workspace and the sessions ended last must carry the same time,
	// which is how the sessions' end finds the clients to tell by
	// back-channel logout (Tx.sessionsEnded).
	now := s.now()
	var wss []*gatehouse.Workspace
	err := s.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := s.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		var err error
		wss, err = t.WorkspacesForUser(ctx, p.UserID)
		return err
	})
	if err != nil {
		return err
	}
	for _, w := range wss { // check every workspace before leaving any
		if err := s.leaveWorkspace(ctx, p, w.ID, false, now); err != nil {
			return err
		}
	}
	for _, w := range wss {
		if err := s.leaveWorkspace(ctx, p, w.ID, true, now); err != nil {
			return err
		}
	}
	return s.WriteTx(ctx, p, gatehouse.Scope{UserID: p.UserID}, func(t *Tx) error {
		if err := s.RequireRecentSignIn(ctx, t, p); err != nil {
			return err
		}
		n, err := t.RevokeUserSessions(ctx, p.UserID, now)
		if err != nil {
			return err
		}
		if err := t.DeleteUser(ctx, p.UserID); err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventAccountDeleted, Actor: p.UserID, Target: "user:" + p.UserID,
			Details: map[string]string{"workspaces_left": strconv.Itoa(len(wss)), "sessions_revoked": strconv.FormatInt(n, 10)}})
	})
}

// errLastOwner refuses to delete the last owner of a workspace with others.
var errLastOwner = gatehouse.Errorf(gatehouse.EConflict, "you are the last owner of a workspace that has other members: make another member an owner, or remove them, first")

// leaveWorkspace checks (and, when leave, applies) the caller's leaving of
// workspace id, under that workspace's lock and scope.
func (s *SelfService) leaveWorkspace(ctx context.Context, p *gatehouse.Principal, id string, leave bool, now time.Time) error {
	return s.WriteTx(ctx, p, gatehouse.Scope{WorkspaceID: id, UserID: p.UserID}, func(t *Tx) error {
		if err := t.LockWorkspace(ctx, id); err != nil {
			return err
		}
		me, err := t.Member(ctx, id, p.UserID)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if me.Role == gatehouse.RoleOwner {
			owners, err := t.CountOwners(ctx, id)
			if err != nil {
				return err
			}
			others, err := t.MembersPage(ctx, id, "", 2)
			if err != nil {
				return err
			}
			if owners <= 1 && len(others) > 1 {
				return errLastOwner
			}
		}
		if !leave {
			return nil
		}
		if err := t.RemoveMember(ctx, id, p.UserID); err != nil {
			return err
		}
		grants, err := t.RevokeUserOAuthGrants(ctx, id, p.UserID, now)
		if err != nil {
			return err
		}
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventMemberRemoved, Actor: p.UserID, Target: "user:" + p.UserID, WorkspaceID: id,
			Details: map[string]string{"reason": "account_deleted", "oauth_grants_revoked": strconv.FormatInt(grants, 10)}})
	})
}
