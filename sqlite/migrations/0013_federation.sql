-- 0013 signing in with another provider (docs/federation.md). See the
-- PostgreSQL migration of the same number. The sessions table already
-- accepts any non-empty method (0011 rebuilt it), so federated sign-ins
-- record 'federated' without rebuilding it again (a rebuild would cascade
-- into session_factors).

create table federation_providers (
	id            text primary key,
	name          text not null unique check (name <> '' and length(name) <= 200),
	kind          text not null check (kind in ('oidc', 'github')),
	issuer        text not null check (issuer <> ''),
	client_id     text not null check (client_id <> ''),
	sealed_secret blob not null,
	scopes        text not null default '',
	workspace_id  text references workspaces (id) on delete cascade,
	domains       text not null default '',
	auth_url      text not null default '',
	token_url     text not null default '',
	api_url       text not null default '',
	created_at    integer not null,
	check ((workspace_id is null) = (domains = ''))
) strict;

create table identities (
	id          text primary key,
	user_id     text not null references users (id) on delete cascade,
	provider_id text not null references federation_providers (id) on delete cascade,
	subject     text not null check (subject <> '' and length(subject) <= 255),
	email       text not null default '',
	created_at  integer not null,
	unique (provider_id, subject)
) strict;

create index identities_user on identities (user_id);

create table federation_states (
	hash         blob primary key check (length(hash) = 32),
	browser_hash blob not null,
	provider_id  text not null references federation_providers (id) on delete cascade,
	workspace_id text references workspaces (id) on delete cascade,
	link_user_id text references users (id) on delete cascade,
	return_to    text not null,
	created_at   integer not null,
	expires_at   integer not null,
	used_at      integer
) strict;

create index federation_states_expires on federation_states (expires_at);

create table workspace_domains (
	id           text primary key,
	workspace_id text not null references workspaces (id) on delete cascade,
	domain       text not null check (domain <> '' and domain = lower(domain)),
	token        text not null check (token <> ''),
	created_at   integer not null,
	verified_at  integer,
	unique (workspace_id, domain)
) strict;

create unique index workspace_domains_proven on workspace_domains (domain) where verified_at is not null;
