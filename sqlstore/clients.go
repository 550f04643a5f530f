package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const clientColumns = `id, workspace_id, client_id, name, secret_hash, grants, scopes, redirect_uris, public, created_by, created_at, secret_rotated_at, id_token_alg, post_logout_redirect_uris, backchannel_logout_uri`

// CreateClient inserts c. Under PostgreSQL the transaction's scope must name
// the client's workspace.
func (t *Tx) CreateClient(ctx context.Context, c *gatehouse.Client) error {
	_, err := t.tx.ExecContext(ctx, `insert into oauth_clients (`+clientColumns+`)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.ID, c.WorkspaceID, c.ClientID, c.Name, c.SecretHash, strings.Join(c.Grants, " "), strings.Join(c.Scopes, " "),
		strings.Join(c.RedirectURIs, " "), c.Public, c.CreatedBy, Micros(c.CreatedAt), NullMicros(c.SecretRotatedAt),
		c.IDTokenAlg, strings.Join(c.PostLogoutRedirectURIs, " "), c.BackchannelLogoutURI)
	return t.err(err, "create client")
}

// Clients lists workspaceID's clients, newest first.
func (t *Tx) Clients(ctx context.Context, workspaceID string) ([]*gatehouse.Client, error) {
	return list(ctx, t, "list clients", t.scanClient,
		`select `+clientColumns+` from oauth_clients where workspace_id = $1 order by id desc`, workspaceID)
}

// Client returns workspaceID's client clientID.
func (t *Tx) Client(ctx context.Context, workspaceID, clientID string) (*gatehouse.Client, error) {
	return t.scanClient(t.tx.QueryRowContext(ctx, `select `+clientColumns+` from oauth_clients where workspace_id = $1 and client_id = $2`,
		workspaceID, clientID))
}

// ClientByClientID finds a client by its client id. Under PostgreSQL the
// lookup sets app.client_id, which the oauth_clients select policy reads, in
// the same statement (gatehouse_client_lookup, migration 0014): that one row
// becomes visible, and nothing else. It needs no transaction.
func (t *Tx) ClientByClientID(ctx context.Context, clientID string) (*gatehouse.Client, error) {
	return t.scanClient(t.tx.QueryRowContext(ctx, `select `+clientColumns+` from `+
		t.lookupFrom("gatehouse_client_lookup", "oauth_clients")+` where client_id = $1`, clientID))
}

// SetClientSecret replaces the secret hash of workspaceID's client clientID.
func (t *Tx) SetClientSecret(ctx context.Context, workspaceID, clientID, secretHash string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `update oauth_clients set secret_hash = $3, secret_rotated_at = $4 where workspace_id = $1 and client_id = $2`,
		workspaceID, clientID, secretHash, Micros(at))
	return t.affected(res, err, "rotate client secret")
}

// DeleteClient deletes workspaceID's client clientID.
func (t *Tx) DeleteClient(ctx context.Context, workspaceID, clientID string) error {
	res, err := t.tx.ExecContext(ctx, `delete from oauth_clients where workspace_id = $1 and client_id = $2`, workspaceID, clientID)
	return t.affected(res, err, "delete client")
}

func (t *Tx) scanClient(row interface{ Scan(...any) error }) (*gatehouse.Client, error) {
	var c gatehouse.Client
	var grants, scopes, uris, logoutURIs string
	var created int64
	var rotated sql.NullInt64
	if err := row.Scan(&c.ID, &c.WorkspaceID, &c.ClientID, &c.Name, &c.SecretHash, &grants, &scopes, &uris, &c.Public,
		&c.CreatedBy, &created, &rotated, &c.IDTokenAlg, &logoutURIs, &c.BackchannelLogoutURI); err != nil {
		return nil, t.err(err, "read client")
	}
	c.Grants, c.Scopes, c.RedirectURIs = strings.Fields(grants), strings.Fields(scopes), strings.Fields(uris)
	c.CreatedAt, c.SecretRotatedAt = FromMicros(created), FromNullMicros(rotated)
	c.PostLogoutRedirectURIs = strings.Fields(logoutURIs)
	return &c, nil
}
