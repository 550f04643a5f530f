-- 0013 signing in with another provider (docs/federation.md).
--
-- federation_providers: upstream OpenID Connect and GitHub providers the
-- operator registered; a workspace's provider names its workspace and serves
-- only that workspace's proven domains. The client secret is stored only
-- sealed under the key-encryption key (package kms). Row-level security is
-- enabled and forced: an instance-wide provider (no workspace) is visible
-- to every scope, a workspace's only to its workspace's scope. Two doors,
-- for reading only, as 0004 and 0006 open for PATs and clients: the row
-- whose id equals the transaction-local app.provider_id (the start and the
-- callback name a provider before its workspace is known), and every row
-- while app.provider_list is 'on' (the public list of providers and the
-- CLI; what it shows of a provider is public: its id and name).
--
-- identities: the pair (provider, subject) under an account; one account
-- at most per pair.
--
-- federation_states: sign-ins in flight, single use, kept as the SHA-256 of
-- the state and of the browser binding (the nonce and PKCE verifier are
-- derived, never stored). A state started at a workspace's provider carries
-- that workspace and is visible only in its scope: the callback consumes it
-- in the scope of the provider it arrives at, so a state of one tenant
-- cannot be finished at another's provider.
--
-- workspace_domains: email domains a workspace claims, proven by a DNS TXT
-- record; workspace-scoped with forced row-level security. One workspace at
-- most holds a domain proven.
--
-- sessions.method accepts any non-empty method: package auth names them
-- (federated sign-ins record 'federated').

alter table sessions drop constraint if exists sessions_method_check;
alter table sessions add constraint sessions_method_check check (method <> '');

create table federation_providers (
	id            uuid primary key,
	name          text not null unique check (name <> '' and length(name) <= 200),
	kind          text not null check (kind in ('oidc', 'github')),
	issuer        text not null check (issuer <> ''),
	client_id     text not null check (client_id <> ''),
	sealed_secret bytea not null,
	scopes        text not null default '',
	workspace_id  uuid references workspaces (id) on delete cascade,
	domains       text not null default '',
	auth_url      text not null default '',
	token_url     text not null default '',
	api_url       text not null default '',
	created_at    bigint not null,
	check ((workspace_id is null) = (domains = ''))
);

create table identities (
	id          uuid primary key,
	user_id     uuid not null references users (id) on delete cascade,
	provider_id uuid not null references federation_providers (id) on delete cascade,
	subject     text not null check (subject <> '' and length(subject) <= 255),
	email       text not null default '',
	created_at  bigint not null,
	unique (provider_id, subject)
);

create index identities_user on identities (user_id);

create table federation_states (
	hash         bytea primary key check (length(hash) = 32),
	browser_hash bytea not null,
	provider_id  uuid not null references federation_providers (id) on delete cascade,
	workspace_id uuid references workspaces (id) on delete cascade,
	link_user_id uuid references users (id) on delete cascade,
	return_to    text not null,
	created_at   bigint not null,
	expires_at   bigint not null,
	used_at      bigint
);

create index federation_states_expires on federation_states (expires_at);

alter table federation_providers enable row level security;
alter table federation_providers force row level security;

create policy federation_providers_select on federation_providers for select using (
	workspace_id is null
	or workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or id = nullif(current_setting('app.provider_id', true), '')::uuid
	or nullif(current_setting('app.provider_list', true), '') = 'on'
);
create policy federation_providers_write on federation_providers for insert with check (
	workspace_id is null and nullif(current_setting('app.workspace_id', true), '') is null
	or workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
);
create policy federation_providers_delete on federation_providers for delete using (
	workspace_id is null and nullif(current_setting('app.workspace_id', true), '') is null
	or workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
);

alter table federation_states enable row level security;
alter table federation_states force row level security;

create policy federation_states_all on federation_states for all
	using (workspace_id is null and nullif(current_setting('app.workspace_id', true), '') is null
		or workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid)
	with check (workspace_id is null and nullif(current_setting('app.workspace_id', true), '') is null
		or workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);

create table workspace_domains (
	id           uuid primary key,
	workspace_id uuid not null references workspaces (id) on delete cascade,
	domain       text not null check (domain <> '' and domain = lower(domain)),
	token        text not null check (token <> ''),
	created_at   bigint not null,
	verified_at  bigint,
	unique (workspace_id, domain)
);

create unique index workspace_domains_proven on workspace_domains (domain) where verified_at is not null;

alter table workspace_domains enable row level security;
alter table workspace_domains force row level security;

create policy workspace_domains_all on workspace_domains for all
	using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid)
	with check (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
