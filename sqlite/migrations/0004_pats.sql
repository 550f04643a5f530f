-- 0004 PATs: personal access tokens (docs/reference.md §5). Only the SHA-256 of a
-- token is stored. See the PostgreSQL migration of the same number.

create table pats (
	id           text primary key,
	workspace_id text not null,
	user_id      text not null references users (id) on delete cascade,
	name         text not null check (name <> ''),
	prefix       text not null,
	token_hash   text not null unique check (length(token_hash) = 64),
	scopes       text not null default '',
	created_at   integer not null,
	expires_at   integer not null,
	last_used_at integer,
	foreign key (workspace_id, user_id) references memberships (workspace_id, user_id) on delete cascade
) strict;

create index pats_user on pats (user_id, id desc);
create index pats_workspace on pats (workspace_id);
