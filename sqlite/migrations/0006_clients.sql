-- 0006 OAuth clients (docs/reference.md §6). Only the SHA-256 of a client secret is
-- stored. See the PostgreSQL migration of the same number.

create table oauth_clients (
	id                text primary key,
	workspace_id      text not null references workspaces (id) on delete cascade,
	client_id         text not null unique check (client_id <> '' and length(client_id) <= 64),
	name              text not null check (name <> ''),
	secret_hash       text not null default '' check (secret_hash = '' or length(secret_hash) = 64),
	grants            text not null default '',
	scopes            text not null default '',
	redirect_uris     text not null default '',
	public            integer not null default 0 check (public in (0, 1)),
	created_by        text not null default '',
	created_at        integer not null,
	secret_rotated_at integer,
	check (public or secret_hash <> '')
) strict;

create index oauth_clients_workspace on oauth_clients (workspace_id, id desc);
