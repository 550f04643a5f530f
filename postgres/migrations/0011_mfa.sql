-- 0011 second factors and passkeys (docs/mfa.md).
--
-- mfa_factors: a person's TOTP secrets (sealed under the key-encryption
-- key, never in clear) and passkeys (public credentials). last_step and
-- sign_count move forward only, each in one UPDATE, so a TOTP code is
-- accepted once and a cloned authenticator's counter going backwards is
-- refused. recovery_codes: SHA-256 of each code. mfa_flows: single-use,
-- short-lived WebAuthn challenges and pending sign-ins (mfa_token, by its
-- SHA-256). session_factors: which factors signed a session in, so that
-- removing a factor ends those sessions. None of these is workspace-scoped:
-- every query filters by id or user_id, as for sessions.

create table mfa_factors (
	id            uuid primary key,
	user_id       uuid not null references users (id) on delete cascade,
	type          text not null check (type in ('totp', 'passkey')),
	name          text not null,
	status        text not null check (status in ('pending', 'active')),
	secret        bytea,
	last_step     bigint not null default 0,
	credential_id bytea unique,
	sign_count    bigint not null default 0,
	aaguid        bytea,
	credential    bytea,
	created_at    bigint not null,
	last_used_at  bigint
);
create index mfa_factors_user on mfa_factors (user_id, created_at);

create table recovery_codes (
	user_id    uuid not null references users (id) on delete cascade,
	hash       bytea not null check (length(hash) = 32),
	created_at bigint not null,
	used_at    bigint,
	primary key (user_id, hash)
);

create table mfa_flows (
	id         text primary key,
	kind       text not null,
	user_id    uuid references users (id) on delete cascade,
	data       bytea not null,
	expires_at bigint not null,
	used_at    bigint
);
create index mfa_flows_expires on mfa_flows (expires_at);

create table session_factors (
	session_id uuid not null references sessions (id) on delete cascade,
	factor_id  uuid not null,
	primary key (session_id, factor_id)
);
create index session_factors_factor on session_factors (factor_id);

-- A session may now start with a passkey alone.
alter table sessions drop constraint sessions_method_check;
alter table sessions add constraint sessions_method_check check (method in ('password', 'magic_link', 'passkey'));

-- A workspace may require two factors of people's tokens (require_mfa).
alter table workspaces add column require_mfa boolean not null default false;
