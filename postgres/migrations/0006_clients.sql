-- 0006 OAuth clients (docs/reference.md §6, docs/oauth.md).
--
-- A client belongs to one workspace; row-level security is enabled and
-- forced like every workspace-scoped table. Only the SHA-256 of a client
-- secret is stored (secret_hash, hex; '' for a public client), and it is
-- compared in constant time in package auth, never in SQL.
--
-- Client authentication must find a client by its client_id before it knows
-- the workspace. As 0004 does for PATs, the select policy also admits the one
-- row whose client_id equals the transaction-local setting app.client_id.
-- A client id is 128 random bits: setting it requires knowing it. What the
-- door shows is the row with its secret hash, which is useless without the
-- secret (256 random bits). It opens reading only: never an insert, update
-- or delete.

create table oauth_clients (
	id                uuid primary key,
	workspace_id      uuid not null references workspaces (id) on delete cascade,
	client_id         text not null unique check (client_id <> '' and length(client_id) <= 64),
	name              text not null check (name <> ''),
	secret_hash       text not null default '' check (secret_hash = '' or length(secret_hash) = 64),
	grants            text not null default '',
	scopes            text not null default '',
	redirect_uris     text not null default '',
	public            boolean not null default false,
	created_by        text not null default '',
	created_at        bigint not null,
	secret_rotated_at bigint,
	check (public or secret_hash <> '')
);

create index oauth_clients_workspace on oauth_clients (workspace_id, id desc);

alter table oauth_clients enable row level security;
alter table oauth_clients force row level security;

create policy oauth_clients_select on oauth_clients for select using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or client_id = nullif(current_setting('app.client_id', true), '')
);
create policy oauth_clients_insert on oauth_clients for insert with check (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
);
create policy oauth_clients_update on oauth_clients for update
	using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid)
	with check (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
create policy oauth_clients_delete on oauth_clients for delete using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
);
