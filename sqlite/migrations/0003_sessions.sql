-- 0003 sessions: people's sessions (one per login, holding the SHA-256 of the
-- current refresh token of its family) and single-use magic links (SHA-256 of
-- the token). See the PostgreSQL migration of the same number.

create table sessions (
	id           text primary key,
	user_id      text not null references users (id) on delete cascade,
	method       text not null check (method in ('password', 'magic_link')),
	created_at   integer not null,
	last_used_at integer not null,
	rotated_at   integer not null default 0,
	expires_at   integer not null,
	revoked_at   integer,
	ip           text not null default '',
	user_agent   text not null default '',
	generation   integer not null default 0 check (generation >= 0),
	refresh_hash blob not null check (length(refresh_hash) = 32)
) strict;

create index sessions_user_live on sessions (user_id, created_at desc) where revoked_at is null;
create index sessions_ended on sessions (expires_at);

create table magic_links (
	hash       blob primary key check (length(hash) = 32),
	user_id    text not null references users (id) on delete cascade,
	created_at integer not null,
	expires_at integer not null,
	used_at    integer
) strict;

create index magic_links_expires on magic_links (expires_at);
