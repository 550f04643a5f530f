package gatehouse

import (
	"context"
	"time"
)

// The grant types an OAuth client can be registered for (RFC 6749). Only the
// client credentials grant is served today (docs/oauth.md).
const (
	GrantClientCredentials = "client_credentials"
)

// Client is an OAuth 2.0 client as stored: a confidential client bound to one
// workspace, under row-level security. Its secret is never stored, only the
// SHA-256 of it (SecretHash, hex), compared in constant time.
type Client struct {
	ID              string // row id (UUIDv7)
	WorkspaceID     string
	ClientID        string // the public client identifier: a random UUIDv4 (122 random bits)
	Name            string
	SecretHash      string // hex SHA-256 of the secret; empty for a public client
	Grants          []string
	Scopes          []string
	RedirectURIs    []string // kept for the authorization-code grant (not served yet)
	Public          bool     // PKCE-only, no secret (not served yet)
	CreatedBy       string   // user id, or "system" for the CLI
	CreatedAt       time.Time
	SecretRotatedAt time.Time // zero: never rotated
}

// HasGrant reports whether c is registered for grant type g.
func (c *Client) HasGrant(g string) bool {
	for _, x := range c.Grants {
		if x == g {
			return true
		}
	}
	return false
}

// ClientTx is the part of a transaction that reads and writes OAuth clients.
// Every method but ClientByClientID runs in a transaction scoped to the
// client's workspace.
type ClientTx interface {
	// CreateClient inserts c; ErrConflict when its client id is taken.
	CreateClient(ctx context.Context, c *Client) error
	// Clients lists workspaceID's clients, newest first.
	Clients(ctx context.Context, workspaceID string) ([]*Client, error)
	// Client returns workspaceID's client clientID; ErrNotFound otherwise.
	Client(ctx context.Context, workspaceID, clientID string) (*Client, error)
	// ClientByClientID finds a client by its client id before its workspace
	// is known (client authentication at the token endpoint), the way
	// PATByHash finds a PAT (postgres/migrations/0006_clients.sql).
	ClientByClientID(ctx context.Context, clientID string) (*Client, error)
	// SetClientSecret replaces the secret hash of workspaceID's client.
	SetClientSecret(ctx context.Context, workspaceID, clientID, secretHash string, at time.Time) error
	DeleteClient(ctx context.Context, workspaceID, clientID string) error
}
