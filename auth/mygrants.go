package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// Connected apps (docs/oidc.md, "In the portal"): a person's own OAuth
// grants, listed and revoked from the portal. Grants are workspace-scoped
// under row-level security, so the list reads them one membership at a
// time, each in a read scoped to that workspace: a person sees only their
// own grants, in workspaces they belong to (leaving a workspace revokes
// their grants there, so no live grant is elsewhere).

// ConnectedApp is one of a person's live OAuth grants, with the names the
// portal shows.
type ConnectedApp struct {
	Grant         *gatehouse.OAuthGrant
	ClientName    string
	WorkspaceName string
}

var errNoGrant = gatehouse.Errorf(gatehouse.ENotFound, "no such connected app")

// ConnectedApps lists the caller's live grants across their workspaces,
// newest first within each workspace. Only a person's own signed-in session
// may (not a PAT, not an application's token).
func (o *OAuth) ConnectedApps(ctx context.Context, p *gatehouse.Principal) ([]ConnectedApp, error) {
	if err := requireSession(p, "connected apps are managed"); err != nil {
		return nil, err
	}
	if o.Sessions == nil {
		return []ConnectedApp{}, nil // no authorization-code grant: no grants
	}
	ws, err := o.myWorkspaces(ctx, p)
	if err != nil {
		return nil, err
	}
	now := o.now()
	idleSince := o.Sessions.Families.idleSince(now)
	out := []ConnectedApp{}
	for _, w := range ws {
		err := o.Store.Read(ctx, gatehouse.Scope{WorkspaceID: w.ID, UserID: p.UserID}, func(tx gatehouse.Tx) error {
			gs, err := tx.UserOAuthGrants(ctx, w.ID, p.UserID, now, idleSince)
			if err != nil {
				return err
			}
			names := map[string]string{}
			for _, g := range gs {
				name, ok := names[g.ClientID]
				if !ok {
					c, err := tx.Client(ctx, w.ID, g.ClientID)
					if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
						return err
					}
					if c != nil {
						name = c.Name
					}
					names[g.ClientID] = name
				}
				out = append(out, ConnectedApp{Grant: g, ClientName: name, WorkspaceName: w.Name})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// myWorkspaces returns the caller's workspaces (at most
// gatehouse.MaxWorkspacesListed).
func (o *OAuth) myWorkspaces(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.Workspace, error) {
	var ws []*gatehouse.Workspace
	err := o.Store.Read(ctx, gatehouse.Scope{UserID: p.UserID}, func(tx gatehouse.Tx) error {
		var err error
		ws, err = tx.WorkspacesForUser(ctx, p.UserID)
		return err
	})
	return ws, err
}

// RevokeConnectedApp ends the caller's grant id: its refresh tokens get
// invalid_grant from then on, oauth_grant.revoked is recorded (reason
// user_revoked), and, when the client registered a back-channel logout URI,
// a logout notice for the session the grant was approved from is written
// to the outbox in the same transaction (backchannel.go), so the
// application ends its own session of the person too. Another person's
// grant, or an unknown one, is not_found, and nothing changes.
func (o *OAuth) RevokeConnectedApp(ctx context.Context, p *gatehouse.Principal, id string) error {
	if err := requireSession(p, "connected apps are managed"); err != nil {
		return err
	}
	if !gatehouse.ValidID(id) || o.Sessions == nil {
		return errNoGrant
	}
	ws, err := o.myWorkspaces(ctx, p)
	if err != nil {
		return err
	}
	// Which of the caller's workspaces holds it: one scoped read each.
	where := ""
	for _, w := range ws {
		err := o.Store.Read(ctx, gatehouse.Scope{WorkspaceID: w.ID, UserID: p.UserID}, func(tx gatehouse.Tx) error {
			g, err := tx.OAuthGrantByID(ctx, w.ID, id)
			if err == nil && g.UserID == p.UserID {
				where = w.ID
			}
			if errors.Is(err, gatehouse.ErrNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return err
		}
		if where != "" {
			break
		}
	}
	if where == "" {
		return errNoGrant
	}
	now := o.now()
	return o.WriteTx(ctx, p, gatehouse.Scope{WorkspaceID: where, UserID: p.UserID}, func(t *Tx) error {
		// Read again in the writing transaction: still theirs, still live.
		g, err := t.OAuthGrantByID(ctx, where, id)
		if errors.Is(err, gatehouse.ErrNotFound) || err == nil && (g.UserID != p.UserID || !g.RevokedAt.IsZero()) {
			return errNoGrant
		}
		if err != nil {
			return err
		}
		if err := t.RevokeOAuthGrant(ctx, where, id, now); errors.Is(err, gatehouse.ErrNotFound) {
			return errNoGrant // revoked concurrently
		} else if err != nil {
			return err
		}
		c, err := t.Client(ctx, where, g.ClientID)
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return err
		}
		if err := t.grantEnded(ctx, c, g); err != nil {
			return err
		}
		fam := grantFamily(g)
		return t.Audit(&gatehouse.AuditEvent{Type: gatehouse.EventOAuthGrantRevoked, Actor: p.UserID, Target: fam.target(),
			WorkspaceID: where, Details: fam.details("reason", "user_revoked", "user_id", p.UserID)})
	})
}

// grantEnded writes the back-channel logout notice of a grant the person
// ended (OpenID Connect Back-Channel Logout 1.0 section 2.7): the client
// (nil when deleted: nothing to tell) is told that the session the grant
// was approved from has ended for it, in this transaction, as
// sessionsEnded does for sessions.
func (t *Tx) grantEnded(ctx context.Context, c *gatehouse.Client, g *gatehouse.OAuthGrant) error {
	if c == nil || strings.TrimSpace(c.BackchannelLogoutURI) == "" || !gatehouse.ValidID(g.SessionID) {
		return nil
	}
	now := t.core.now()
	payload, err := json.Marshal(BackchannelNotice{WorkspaceID: g.WorkspaceID, ClientID: g.ClientID, Subject: g.UserID,
		SessionID: g.SessionID, URI: c.BackchannelLogoutURI})
	if err != nil {
		return err
	}
	return t.Tx.EnqueueOutbox(ctx, &gatehouse.OutboxItem{ID: gatehouse.NewID(now), Kind: OutboxBackchannel, Payload: payload,
		NextAt: now, CreatedAt: now})
}
