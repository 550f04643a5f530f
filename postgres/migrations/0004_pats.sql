-- 0004 PATs: personal access tokens (docs/reference.md §5, docs/scopes.md).
--
-- Only the SHA-256 of a token is stored (token_hash, hex). A PAT belongs to a
-- user and is bound to a workspace; row-level security is enabled and forced
-- like every workspace-scoped table.
--
-- Authentication must find a token by its hash before it knows the token's
-- workspace. Instead of a SECURITY DEFINER function (which would run as the
-- owner role, itself subject to the forced policies, since it is neither
-- superuser nor BYPASSRLS), the policies also admit the one row whose hash
-- equals the transaction-local setting app.pat_hash. Setting it requires
-- knowing the hash of a live token, i.e. holding the token: the capability
-- the lookup is meant to exercise. Nothing else becomes visible through it.

create table pats (
	id           uuid primary key,
	workspace_id uuid not null,
	user_id      uuid not null references users (id) on delete cascade,
	name         text not null check (name <> ''),
	prefix       text not null,
	token_hash   text not null unique check (length(token_hash) = 64),
	scopes       text not null default '',
	created_at   bigint not null,
	expires_at   bigint not null,
	last_used_at bigint,
	foreign key (workspace_id, user_id) references memberships (workspace_id, user_id) on delete cascade
);

create index pats_user on pats (user_id, id desc);
create index pats_workspace on pats (workspace_id);

alter table pats enable row level security;
alter table pats force row level security;

create policy pats_select on pats for select using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or user_id = nullif(current_setting('app.user_id', true), '')::uuid
	or token_hash = nullif(current_setting('app.pat_hash', true), '')
);
create policy pats_insert on pats for insert with check (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	and user_id = nullif(current_setting('app.user_id', true), '')::uuid
);
create policy pats_update on pats for update
	using (
		workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
		or user_id = nullif(current_setting('app.user_id', true), '')::uuid
		or token_hash = nullif(current_setting('app.pat_hash', true), '')
	)
	with check (
		workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
		or user_id = nullif(current_setting('app.user_id', true), '')::uuid
		or token_hash = nullif(current_setting('app.pat_hash', true), '')
	);
create policy pats_delete on pats for delete using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or user_id = nullif(current_setting('app.user_id', true), '')::uuid
);
