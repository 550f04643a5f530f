-- 0003 sessions: people's sessions (one per login, holding the SHA-256 of the
-- current refresh token of its family) and single-use magic links (SHA-256 of
-- the token). Sessions live outside any workspace: no row-level security;
-- every query filters by id or user_id.
--
-- A refresh is one UPDATE on sessions (sqlstore.Tx.RotateRefresh): the row is
-- locked by the first of any concurrent refreshes, and the others re-check
-- refresh_hash once it commits, so one token never has two live successors.

create table sessions (
	id           uuid primary key,
	user_id      uuid not null references users (id) on delete cascade,
	method       text not null check (method in ('password', 'magic_link')),
	created_at   bigint not null,
	last_used_at bigint not null,
	rotated_at   bigint not null default 0,
	expires_at   bigint not null,
	revoked_at   bigint,
	ip           text not null default '',
	user_agent   text not null default '',
	generation   bigint not null default 0 check (generation >= 0),
	refresh_hash bytea not null check (length(refresh_hash) = 32)
);

create index sessions_user_live on sessions (user_id, created_at desc) where revoked_at is null;
create index sessions_ended on sessions (expires_at);

create table magic_links (
	hash       bytea primary key check (length(hash) = 32),
	user_id    uuid not null references users (id) on delete cascade,
	created_at bigint not null,
	expires_at bigint not null,
	used_at    bigint
);

create index magic_links_expires on magic_links (expires_at);
