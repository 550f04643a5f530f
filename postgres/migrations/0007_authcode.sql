-- 0007 the authorization-code grant (docs/reference.md §6, docs/oauth.md).
--
-- oauth_codes holds only the SHA-256 of each authorization code (RFC 6749
-- section 4.1.2: short-lived, single use), bound to the client, the redirect
-- URI, the PKCE S256 challenge (RFC 7636), the scope, the person and the
-- portal session they approved from. oauth_grants holds what a code starts:
-- one family of rotating refresh tokens for a person and a client (only the
-- SHA-256 of the current token, as sessions do).
--
-- Both are workspace-scoped: the token endpoint knows the client, and so its
-- workspace, before it looks a code or a grant up, so no door is needed:
-- row-level security is enabled and forced, and the policies read only
-- app.workspace_id.

create table oauth_codes (
	code_hash      bytea primary key check (length(code_hash) = 32),
	workspace_id   uuid not null references workspaces (id) on delete cascade,
	client_id      text not null,
	user_id        uuid not null references users (id) on delete cascade,
	session_id     uuid not null,
	redirect_uri   text not null,
	scope          text not null default '',
	code_challenge text not null check (length(code_challenge) = 43),
	created_at     bigint not null,
	expires_at     bigint not null,
	used_at        bigint,
	grant_id       uuid
);

create index oauth_codes_expires on oauth_codes (expires_at);

create table oauth_grants (
	id           uuid primary key,
	workspace_id uuid not null references workspaces (id) on delete cascade,
	client_id    text not null,
	user_id      uuid not null references users (id) on delete cascade,
	session_id   uuid not null,
	scope        text not null default '',
	created_at   bigint not null,
	last_used_at bigint not null,
	rotated_at   bigint not null default 0,
	expires_at   bigint not null,
	revoked_at   bigint,
	generation   bigint not null default 0,
	refresh_hash bytea not null check (length(refresh_hash) = 32)
);

create index oauth_grants_workspace on oauth_grants (workspace_id, client_id);

alter table oauth_codes enable row level security;
alter table oauth_codes force row level security;
create policy oauth_codes_all on oauth_codes for all
	using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid)
	with check (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);

alter table oauth_grants enable row level security;
alter table oauth_grants force row level security;
create policy oauth_grants_all on oauth_grants for all
	using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid)
	with check (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
