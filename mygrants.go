package gatehouse

import (
	"context"
	"time"
)

// MaxGrantsListed bounds UserOAuthGrants: the live grants of one person in
// one workspace that the portal's "Connected apps" lists.
const MaxGrantsListed = 100

// MyGrantsTx is the part of a transaction that lists a person's own OAuth
// grants (the portal's connected apps, docs/oidc.md). Grants are
// workspace-scoped: the transaction's scope names the workspace, and a
// person's grants across workspaces are read one membership at a time.
type MyGrantsTx interface {
	// UserOAuthGrants returns userID's grants in workspaceID that are live
	// at now (not revoked, not expired, last used after idleSince), newest
	// first, at most MaxGrantsListed.
	UserOAuthGrants(ctx context.Context, workspaceID, userID string, now, idleSince time.Time) ([]*OAuthGrant, error)
}
