-- 0010 accounts: address verification, password reset and email change
-- (see the PostgreSQL migration of the same number).

alter table users add column email_verified_at integer;
update users set email_verified_at = created_at;

create table account_tokens (
	hash       blob primary key check (length(hash) = 32),
	purpose    text not null check (purpose in ('verify_email', 'password_reset', 'email_change')),
	user_id    text references users (id) on delete cascade,
	email      text not null default '',
	password   text not null default '',
	created_at integer not null,
	expires_at integer not null,
	used_at    integer,
	check (user_id is not null or used_at is not null)
) strict;

create index account_tokens_expires on account_tokens (expires_at);
create index account_tokens_user on account_tokens (user_id);

-- Invitations to a workspace (row-level security on PostgreSQL only).
create table invitations (
	id           text primary key,
	workspace_id text not null references workspaces (id) on delete cascade,
	email        text not null check (email <> '' and length(email) <= 254),
	role         text not null check (role in ('owner', 'admin', 'member')),
	token_hash   text not null unique check (length(token_hash) = 64),
	invited_by   text not null default '',
	created_at   integer not null,
	expires_at   integer not null,
	accepted_at  integer,
	revoked_at   integer
) strict;

create index invitations_workspace on invitations (workspace_id, id desc);
