-- 0007 the authorization-code grant (docs/reference.md §6, docs/oauth.md): codes
-- (only their SHA-256, single use, 60 seconds) and the grants they start,
-- each a family of rotating refresh tokens. See the PostgreSQL migration of
-- the same number.

create table oauth_codes (
	code_hash      blob primary key check (length(code_hash) = 32),
	workspace_id   text not null references workspaces (id) on delete cascade,
	client_id      text not null,
	user_id        text not null references users (id) on delete cascade,
	session_id     text not null,
	redirect_uri   text not null,
	scope          text not null default '',
	code_challenge text not null check (length(code_challenge) = 43),
	created_at     integer not null,
	expires_at     integer not null,
	used_at        integer,
	grant_id       text
) strict;

create index oauth_codes_expires on oauth_codes (expires_at);

create table oauth_grants (
	id           text primary key,
	workspace_id text not null references workspaces (id) on delete cascade,
	client_id    text not null,
	user_id      text not null references users (id) on delete cascade,
	session_id   text not null,
	scope        text not null default '',
	created_at   integer not null,
	last_used_at integer not null,
	rotated_at   integer not null default 0,
	expires_at   integer not null,
	revoked_at   integer,
	generation   integer not null default 0,
	refresh_hash blob not null check (length(refresh_hash) = 32)
) strict;

create index oauth_grants_workspace on oauth_grants (workspace_id, client_id);
