-- 0011 second factors and passkeys (docs/mfa.md). See the PostgreSQL
-- migration of the same number. SQLite cannot change a CHECK constraint, so
-- sessions is rebuilt to admit any non-empty method ('passkey' here, 'federated' in 0013).

create table mfa_factors (
	id            text primary key,
	user_id       text not null references users (id) on delete cascade,
	type          text not null check (type in ('totp', 'passkey')),
	name          text not null,
	status        text not null check (status in ('pending', 'active')),
	secret        blob,
	last_step     integer not null default 0,
	credential_id blob unique,
	sign_count    integer not null default 0,
	aaguid        blob,
	credential    blob,
	created_at    integer not null,
	last_used_at  integer
) strict;
create index mfa_factors_user on mfa_factors (user_id, created_at);

create table recovery_codes (
	user_id    text not null references users (id) on delete cascade,
	hash       blob not null check (length(hash) = 32),
	created_at integer not null,
	used_at    integer,
	primary key (user_id, hash)
) strict;

create table mfa_flows (
	id         text primary key,
	kind       text not null,
	user_id    text references users (id) on delete cascade,
	data       blob not null,
	expires_at integer not null,
	used_at    integer
) strict;
create index mfa_flows_expires on mfa_flows (expires_at);

create table sessions_new (
	id           text primary key,
	user_id      text not null references users (id) on delete cascade,
	method       text not null check (method <> ''), -- password, magic_link, passkey, federated, …
	created_at   integer not null,
	last_used_at integer not null,
	rotated_at   integer not null default 0,
	expires_at   integer not null,
	revoked_at   integer,
	ip           text not null default '',
	user_agent   text not null default '',
	generation   integer not null default 0 check (generation >= 0),
	refresh_hash blob not null check (length(refresh_hash) = 32),
	amr          text not null default '',
	auth_time    integer not null default 0
) strict;
insert into sessions_new (id, user_id, method, created_at, last_used_at, rotated_at, expires_at, revoked_at, ip, user_agent, generation, refresh_hash, amr, auth_time)
	select id, user_id, method, created_at, last_used_at, rotated_at, expires_at, revoked_at, ip, user_agent, generation, refresh_hash, amr, auth_time from sessions;
drop table sessions;
alter table sessions_new rename to sessions;
create index sessions_user_live on sessions (user_id, created_at desc) where revoked_at is null;
create index sessions_ended on sessions (expires_at);

create table session_factors (
	session_id text not null references sessions (id) on delete cascade,
	factor_id  text not null,
	primary key (session_id, factor_id)
) strict;
create index session_factors_factor on session_factors (factor_id);

-- A workspace may require two factors of people's tokens (require_mfa).
alter table workspaces add column require_mfa integer not null default 0 check (require_mfa in (0, 1));
