package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Providers, identities, workspace domains and sign-in states
// (docs/federation.md).

const providerColumns = `id, name, kind, issuer, client_id, sealed_secret, scopes, workspace_id, domains, auth_url, token_url, api_url, created_at`

// CreateProvider inserts p; gatehouse.ErrConflict when the name is taken.
func (t *Tx) CreateProvider(ctx context.Context, p *gatehouse.Provider) error {
	_, err := t.tx.ExecContext(ctx, `insert into federation_providers (`+providerColumns+`)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		p.ID, p.Name, p.Kind, p.Issuer, p.ClientID, p.SealedSecret, strings.Join(p.Scopes, " "), NullString(p.WorkspaceID),
		strings.Join(p.Domains, " "), p.AuthURL, p.TokenURL, p.APIURL, Micros(p.CreatedAt))
	return t.err(err, "create provider")
}

// ProviderByID returns gatehouse.ErrNotFound when there is none.
// Under PostgreSQL it first sets app.provider_id, which the select policy
// reads (a door for reading this one row, whatever its workspace).
func (t *Tx) ProviderByID(ctx context.Context, id string) (*gatehouse.Provider, error) {
	if err := t.setLookup(ctx, "app.provider_id", id, "find provider"); err != nil {
		return nil, err
	}
	return t.scanProvider(t.tx.QueryRowContext(ctx, `select `+providerColumns+` from federation_providers where id = $1`, id))
}

// Providers lists every provider, oldest first.
// Under PostgreSQL it first sets app.provider_list, which the select policy
// reads (a door for reading every provider).
func (t *Tx) Providers(ctx context.Context) ([]*gatehouse.Provider, error) {
	if err := t.setLookup(ctx, "app.provider_list", "on", "list providers"); err != nil {
		return nil, err
	}
	return list(ctx, t, "list providers", t.scanProvider, `select `+providerColumns+` from federation_providers order by created_at, id`)
}

// DeleteProvider deletes a provider with its identities and states.
func (t *Tx) DeleteProvider(ctx context.Context, id string) error {
	res, err := t.tx.ExecContext(ctx, `delete from federation_providers where id = $1`, id)
	return t.affected(res, err, "delete provider")
}

func (t *Tx) scanProvider(row rowScanner) (*gatehouse.Provider, error) {
	var p gatehouse.Provider
	var scopes, domains string
	var ws sql.NullString
	var created int64
	if err := row.Scan(&p.ID, &p.Name, &p.Kind, &p.Issuer, &p.ClientID, &p.SealedSecret, &scopes, &ws, &domains,
		&p.AuthURL, &p.TokenURL, &p.APIURL, &created); err != nil {
		return nil, t.err(err, "read provider")
	}
	p.Scopes, p.Domains = strings.Fields(scopes), strings.Fields(domains)
	p.WorkspaceID, p.CreatedAt = ws.String, FromMicros(created)
	return &p, nil
}

const identityColumns = `id, user_id, provider_id, subject, email, created_at`

// CreateIdentity inserts i; gatehouse.ErrConflict when the pair is taken.
func (t *Tx) CreateIdentity(ctx context.Context, i *gatehouse.Identity) error {
	_, err := t.tx.ExecContext(ctx, `insert into identities (`+identityColumns+`) values ($1, $2, $3, $4, $5, $6)`,
		i.ID, i.UserID, i.ProviderID, i.Subject, i.Email, Micros(i.CreatedAt))
	return t.err(err, "create identity")
}

// IdentityBySubject returns gatehouse.ErrNotFound when the pair is unknown.
func (t *Tx) IdentityBySubject(ctx context.Context, providerID, subject string) (*gatehouse.Identity, error) {
	return t.scanIdentity(t.tx.QueryRowContext(ctx, `select `+identityColumns+` from identities
		where provider_id = $1 and subject = $2`, providerID, subject))
}

// IdentitiesForUser lists userID's identities, oldest first.
func (t *Tx) IdentitiesForUser(ctx context.Context, userID string) ([]*gatehouse.Identity, error) {
	return list(ctx, t, "list identities", t.scanIdentity, `select `+identityColumns+` from identities
		where user_id = $1 order by created_at, id`, userID)
}

// DeleteIdentity deletes userID's identity id.
func (t *Tx) DeleteIdentity(ctx context.Context, userID, id string) error {
	res, err := t.tx.ExecContext(ctx, `delete from identities where id = $1 and user_id = $2`, id, userID)
	return t.affected(res, err, "delete identity")
}

func (t *Tx) scanIdentity(row rowScanner) (*gatehouse.Identity, error) {
	var i gatehouse.Identity
	var created int64
	if err := row.Scan(&i.ID, &i.UserID, &i.ProviderID, &i.Subject, &i.Email, &created); err != nil {
		return nil, t.err(err, "read identity")
	}
	i.CreatedAt = FromMicros(created)
	return &i, nil
}

// CreateFederationState inserts s.
func (t *Tx) CreateFederationState(ctx context.Context, s *gatehouse.FederationState) error {
	_, err := t.tx.ExecContext(ctx, `insert into federation_states
		(hash, browser_hash, provider_id, workspace_id, link_user_id, return_to, created_at, expires_at, used_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.Hash, s.BrowserHash, s.ProviderID, NullString(s.WorkspaceID), NullString(s.LinkUserID), s.ReturnTo,
		Micros(s.CreatedAt), Micros(s.ExpiresAt), NullMicros(s.UsedAt))
	return t.err(err, "create federation state")
}

// ConsumeFederationState marks an unused, unexpired state used in one
// statement and returns it.
func (t *Tx) ConsumeFederationState(ctx context.Context, hash []byte, now time.Time) (*gatehouse.FederationState, error) {
	var s gatehouse.FederationState
	var link, ws sql.NullString
	var created, expires, used int64
	err := t.tx.QueryRowContext(ctx, `update federation_states set used_at = $2
		where hash = $1 and used_at is null and expires_at > $2
		returning hash, browser_hash, provider_id, workspace_id, link_user_id, return_to, created_at, expires_at, used_at`,
		hash, Micros(now)).Scan(&s.Hash, &s.BrowserHash, &s.ProviderID, &ws, &link, &s.ReturnTo, &created, &expires, &used)
	if err != nil {
		return nil, t.err(err, "consume federation state")
	}
	s.LinkUserID, s.WorkspaceID = link.String, ws.String
	s.CreatedAt, s.ExpiresAt, s.UsedAt = FromMicros(created), FromMicros(expires), FromMicros(used)
	return &s, nil
}

const domainColumns = `id, workspace_id, domain, token, created_at, verified_at`

// CreateDomain inserts d; gatehouse.ErrConflict when the workspace already
// claims the domain. Under PostgreSQL the scope must be d's workspace.
func (t *Tx) CreateDomain(ctx context.Context, d *gatehouse.WorkspaceDomain) error {
	_, err := t.tx.ExecContext(ctx, `insert into workspace_domains (`+domainColumns+`) values ($1, $2, $3, $4, $5, $6)`,
		d.ID, d.WorkspaceID, d.Domain, d.Token, Micros(d.CreatedAt), NullMicros(d.VerifiedAt))
	return t.err(err, "create domain")
}

// DomainByID returns gatehouse.ErrNotFound when workspaceID has no such domain.
func (t *Tx) DomainByID(ctx context.Context, workspaceID, id string) (*gatehouse.WorkspaceDomain, error) {
	return t.scanDomain(t.tx.QueryRowContext(ctx, `select `+domainColumns+` from workspace_domains
		where workspace_id = $1 and id = $2`, workspaceID, id))
}

// Domains lists workspaceID's domains, oldest first.
func (t *Tx) Domains(ctx context.Context, workspaceID string) ([]*gatehouse.WorkspaceDomain, error) {
	return list(ctx, t, "list domains", t.scanDomain, `select `+domainColumns+` from workspace_domains
		where workspace_id = $1 order by created_at, id`, workspaceID)
}

// MarkDomainVerified sets verified_at once; gatehouse.ErrConflict when
// another workspace has proven the same domain.
func (t *Tx) MarkDomainVerified(ctx context.Context, workspaceID, id string, now time.Time) error {
	res, err := t.tx.ExecContext(ctx, `update workspace_domains set verified_at = coalesce(verified_at, $3)
		where workspace_id = $1 and id = $2`, workspaceID, id, Micros(now))
	return t.affected(res, err, "verify domain")
}

// DomainVerified reports whether workspaceID has proven domain.
func (t *Tx) DomainVerified(ctx context.Context, workspaceID, domain string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `select count(*) from workspace_domains
		where workspace_id = $1 and domain = $2 and verified_at is not null`, workspaceID, domain).Scan(&n)
	return n > 0, t.err(err, "check domain")
}

func (t *Tx) scanDomain(row rowScanner) (*gatehouse.WorkspaceDomain, error) {
	var d gatehouse.WorkspaceDomain
	var created int64
	var verified sql.NullInt64
	if err := row.Scan(&d.ID, &d.WorkspaceID, &d.Domain, &d.Token, &created, &verified); err != nil {
		return nil, t.err(err, "read domain")
	}
	d.CreatedAt, d.VerifiedAt = FromMicros(created), FromNullMicros(verified)
	return &d, nil
}
