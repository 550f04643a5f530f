package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// UserOAuthGrants lists userID's live grants in workspaceID (the portal's
// connected apps); the transaction's scope must name the workspace, as for
// every grant (postgres/migrations/0007_authcode.sql).
func (t *Tx) UserOAuthGrants(ctx context.Context, workspaceID, userID string, now, idleSince time.Time) ([]*gatehouse.OAuthGrant, error) {
	if !gatehouse.ValidID(workspaceID) || !gatehouse.ValidID(userID) {
		return nil, nil
	}
	rows, err := t.tx.QueryContext(ctx, `select `+grantColumns+` from oauth_grants
		where workspace_id = $1 and user_id = $2 and revoked_at is null and expires_at > $3 and last_used_at > $4
		order by created_at desc, id desc limit $5`,
		workspaceID, userID, Micros(now), Micros(idleSince), gatehouse.MaxGrantsListed)
	if err != nil {
		return nil, t.err(err, "list OAuth grants")
	}
	defer rows.Close()
	var out []*gatehouse.OAuthGrant
	for rows.Next() {
		g, err := t.scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, t.err(rows.Err(), "list OAuth grants")
}
